"""Exact Xilinx ``ap_fixed`` / ``ap_ufixed`` arithmetic on numpy int64 raw mantissas.

This is the one arithmetic core of the project: HLS precision choice, the RTL encoder and the bit-exact
golden models all go through it, so a number means the same in Python, HLS C++ and Verilog. A value of
a :class:`FixedType` is held as its raw integer mantissa ``raw`` (value = raw * 2**-frac) in int64;
every operation is vectorised and exact, and ``tests/test_fixed.py`` checks it bit for bit against the
real ``ap_fixed.h`` shipped with hls4ml, for every quantization x overflow mode.

apytypes was measured and is not used: its roundings x WRAP/SAT match ap_fixed bit for bit, but for
doubles only through a very wide intermediate (slow; narrower ones miss; docs/architecture.md has the
figures), and it has no AP_SAT_ZERO, no AP_SAT_SYM and no unsigned types. So this is plain int64 numpy.

Semantics, as read from ``ap_fixed_base.h`` and confirmed by the test:

* double -> fixed uses the double's exact binary value; rounding happens first, on the exact value,
  and may carry into overflow; then overflow applies to the rounded value. AP_WRAP keeps the low W
  bits (two's complement for signed), for any magnitude.
* AP_SAT_ZERO gives 0 on overflow; AP_SAT_SYM saturates negatives to -max and also maps an exact
  ``min`` to -max (except for 1-bit signed types, where the header's -max pattern is min itself).
* +-inf behaves as +-2**1024 (the header decodes it as a huge power of two: wraps to 0, saturates).
  NaN raises :class:`FixedError` (the header only prints a warning, then treats it like +-inf).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import ArrayLike

from codesign.errors import CodesignError

ROUNDING_MODES = (
    "AP_TRN",
    "AP_TRN_ZERO",
    "AP_RND",
    "AP_RND_ZERO",
    "AP_RND_MIN_INF",
    "AP_RND_INF",
    "AP_RND_CONV",
)
OVERFLOW_MODES = ("AP_WRAP", "AP_SAT", "AP_SAT_ZERO", "AP_SAT_SYM")
# Keeps lsb, min and max finite normal doubles; real designs are nowhere near it.
MAX_ABS_INTEGER = 512

_U64 = np.uint64
_ALL_ONES = ~_U64(0)


class FixedError(CodesignError, ValueError):
    """An invalid fixed-point type or value; the message names the field and the value."""


def _norm_mode(field: str, value: object, allowed: tuple[str, ...]) -> str:
    if not isinstance(value, str):
        raise FixedError(f"{field} mode {value!r} is not a string")
    key = value.strip().upper()
    if not key.startswith("AP_"):
        key = "AP_" + key  # hls4ml writes modes without the prefix
    if key not in allowed:
        raise FixedError(f"{field} mode {value!r} is not one of {', '.join(allowed)}")
    return key


@dataclass(frozen=True)
class FixedType:
    """``ap_fixed<width, integer, rounding, overflow>`` (or ``ap_ufixed`` when not signed).

    ``integer`` counts the sign bit and may be negative or larger than ``width``, as in ap_fixed.
    Raw mantissas live in int64, so a signed type has at most 64 bits and an unsigned one 63.
    Rounding/overflow names are accepted with or without the ``AP_`` prefix and stored with it.
    """

    width: int
    integer: int
    signed: bool = True
    rounding: str = "AP_TRN"
    overflow: str = "AP_WRAP"

    def __post_init__(self) -> None:
        for name in ("width", "integer"):
            value = getattr(self, name)
            if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
                raise FixedError(f"{name} bits {value!r} is not an int")
            object.__setattr__(self, name, int(value))
        if not isinstance(self.signed, (bool, np.bool_)):
            raise FixedError(f"signed {self.signed!r} is not a bool")
        object.__setattr__(self, "signed", bool(self.signed))
        limit = 64 if self.signed else 63
        if self.width < 1:
            raise FixedError(f"width {self.width} < 1")
        if self.width > limit:
            kind = "signed" if self.signed else "unsigned"
            raise FixedError(f"{kind} width {self.width} > {limit}: the raw mantissa would not fit int64")
        if abs(self.integer) > MAX_ABS_INTEGER:
            raise FixedError(f"integer bits {self.integer} outside [-{MAX_ABS_INTEGER}, {MAX_ABS_INTEGER}]")
        object.__setattr__(self, "rounding", _norm_mode("rounding", self.rounding, ROUNDING_MODES))
        object.__setattr__(self, "overflow", _norm_mode("overflow", self.overflow, OVERFLOW_MODES))

    # -- derived numbers -------------------------------------------------------------------------------

    @property
    def frac(self) -> int:
        return self.width - self.integer

    @property
    def lsb(self) -> float:
        return float(2.0**-self.frac)

    @property
    def raw_min(self) -> int:
        return -(1 << (self.width - 1)) if self.signed else 0

    @property
    def raw_max(self) -> int:
        return (1 << (self.width - self.signed)) - 1

    @property
    def min_value(self) -> float:
        return float(np.ldexp(float(self.raw_min), -self.frac))

    @property
    def max_value(self) -> float:
        return float(np.ldexp(float(self.raw_max), -self.frac))

    def with_modes(self, rounding: str | None = None, overflow: str | None = None) -> FixedType:
        """Same width/integer/sign with other modes (None keeps the current one)."""
        return replace(self, rounding=rounding or self.rounding, overflow=overflow or self.overflow)

    # -- text ------------------------------------------------------------------------------------------

    def cpp(self) -> str:
        """The C++ type, omitting default modes: ``ap_fixed<16,6,AP_RND,AP_SAT>``, ``ap_ufixed<8,0>``."""
        args = [str(self.width), str(self.integer)]
        if self.overflow != "AP_WRAP":
            args += [self.rounding, self.overflow]
        elif self.rounding != "AP_TRN":
            args.append(self.rounding)
        return f"{'ap_fixed' if self.signed else 'ap_ufixed'}<{','.join(args)}>"

    def __str__(self) -> str:
        return self.cpp()

    _PARSE_RE = re.compile(r"^\s*(?:ap_)?(u?)(fixed|int)\s*<([^<>]*)>\s*$", re.IGNORECASE)

    @classmethod
    def parse(cls, text: str) -> FixedType:
        """Inverse of :meth:`cpp`; also takes hls4ml's ``fixed<16,6,RND,SAT,0>``, ``ufixed<8,0>``,
        ``ap_int<8>``/``int<8>`` and spaces anywhere. A 5th (saturation bits) argument must be 0."""
        if not isinstance(text, str):
            raise FixedError(f"type text {text!r} is not a string")
        match = cls._PARSE_RE.match(text)
        if not match:
            raise FixedError(f"cannot parse fixed-point type {text!r}")
        unsigned, kind, body = match.group(1), match.group(2).lower(), match.group(3)
        args = [a.strip() for a in body.split(",")]
        n_max = 1 if kind == "int" else 5
        if not 1 <= len(args) <= n_max or (kind == "fixed" and len(args) < 2):
            raise FixedError(f"wrong number of template arguments in {text!r}")
        try:
            width = int(args[0])
            integer = width if kind == "int" else int(args[1])
        except ValueError:
            raise FixedError(f"non-integer width/integer bits in {text!r}") from None
        rounding = args[2] if len(args) > 2 else "AP_TRN"
        overflow = args[3] if len(args) > 3 else "AP_WRAP"
        if len(args) > 4 and args[4] != "0":
            raise FixedError(f"saturation bits {args[4]!r} in {text!r}: only 0 is supported")
        return cls(width, integer, not unsigned, rounding, overflow)

    # -- conversions -----------------------------------------------------------------------------------

    def quantize(self, x: ArrayLike) -> np.ndarray:
        """Float -> raw int64, exactly like constructing this ap_fixed from a double."""
        x = np.asarray(x, dtype=np.float64)
        if np.isnan(x).any():
            raise FixedError(f"cannot quantize NaN to {self.cpp()}")
        mant, exp = np.frexp(x)  # x = mant * 2**exp, |mant| in [0.5, 1): mant * 2**53 is an exact int
        inf = np.isinf(x)
        if inf.any():
            # The header reads inf as mantissa 1.0 at exponent 1024, i.e. +-2**1024.
            mant = np.where(inf, np.copysign(0.5, x), mant)
            exp = np.where(inf, 1025, exp)
        man = (mant * 2.0**53).astype(np.int64)
        shift = exp.astype(np.int64) + (self.frac - 53)
        return self._requantize(man, shift)

    def to_float(self, raw: ArrayLike) -> np.ndarray:
        """Raw -> float64; exact when the raw has at most 53 significant bits, else rounded to nearest."""
        return np.ldexp(_check_raw(raw, self).astype(np.float64), -self.frac)

    def represent(self, x: ArrayLike) -> np.ndarray:
        """The float value x takes once stored in this type."""
        return self.to_float(self.quantize(x))

    def cast_raw(self, raw: ArrayLike, src: FixedType) -> np.ndarray:
        """Raw of ``src`` -> raw of this type, like ap_fixed assignment (this type's modes apply)."""
        return self._requantize(_check_raw(raw, src), np.int64(self.frac - src.frac))

    def check_raw(self, raw: ArrayLike) -> np.ndarray:
        """``raw`` as int64, or FixedError if it is not an integer array within this type's range."""
        return _check_raw(raw, self)

    # -- the core --------------------------------------------------------------------------------------

    def _requantize(self, v: np.ndarray, shift: np.ndarray) -> np.ndarray:
        """Round and overflow the exact value ``v * 2**shift`` (in units of this type's LSB)."""
        v = np.ascontiguousarray(v, dtype=np.int64)
        shift = np.broadcast_to(np.asarray(shift, dtype=np.int64), v.shape)
        u = v.view(_U64)

        # shift >= 0: exact scaling up; only the low 64 bits are kept, loss is detected by shifting back.
        up_amt = np.clip(shift, 0, 63)
        up_bits = u << up_amt.astype(_U64)
        lost = ((up_bits.view(np.int64) >> up_amt) != v) | ((shift > 63) & (v != 0))
        up_bits[shift > 63] = 0

        # shift < 0: floor, then the mode's increment from the half bit (qb) and the bits below it (r).
        down = shift < 0
        trunc = v >> np.clip(-shift, 0, 63)  # an arithmetic shift by >= 63 leaves the sign, = floor
        half_pos = np.clip(-shift - 1, 0, 63)
        neg = v < 0
        q = self.rounding
        if q == "AP_TRN":
            rounded = trunc
        else:
            qb = ((v >> half_pos) & 1).astype(bool)
            below = np.where(-shift - 1 > 63, _ALL_ONES, (_U64(1) << half_pos.astype(_U64)) - _U64(1))
            r = (u & below) != 0
            if q == "AP_TRN_ZERO":
                inc = neg & (qb | r)
            elif q == "AP_RND":
                inc = qb
            elif q == "AP_RND_ZERO":
                inc = qb & (neg | r)
            elif q == "AP_RND_MIN_INF":
                inc = qb & r
            elif q == "AP_RND_INF":
                inc = qb & (~neg | r)
            else:  # AP_RND_CONV: ties to even
                inc = qb & (((trunc & 1) != 0) | r)
            rounded = trunc + (inc & down)

        value = np.where(down, rounded, up_bits.view(np.int64))
        lost &= ~down
        wrapped = self._wrap(value.view(_U64))
        if self.overflow == "AP_WRAP":
            return wrapped

        # Overflow direction follows the source sign; rounding can only move a negative value up to 0.
        over = np.where(lost, ~neg, value > self.raw_max)
        sym = self.overflow == "AP_SAT_SYM" and self.signed
        # AP_SAT_SYM also replaces an exact min by -max (the header tests the low W-1 bits for zero).
        under = np.where(lost, neg, (value <= self.raw_min) if sym else (value < self.raw_min))
        if self.overflow == "AP_SAT_ZERO":
            hi = lo = 0
        else:
            hi = self.raw_max
            # For W == 1 the header's "-max" pattern (min | 1) is min itself.
            lo = self.raw_min + 1 if sym and self.width > 1 else self.raw_min
        return np.where(over, np.int64(hi), np.where(under, np.int64(lo), wrapped))

    def _wrap(self, bits: np.ndarray) -> np.ndarray:
        """Low ``width`` bits of a uint64 pattern, sign-extended for signed types, as int64."""
        w = self.width
        if w == 64:
            return bits.view(np.int64).copy()
        low = (bits & _U64((1 << w) - 1)).view(np.int64)
        if not self.signed:
            return low
        sign = np.int64(1 << (w - 1))
        return (low ^ sign) - sign


def _check_raw(raw: ArrayLike, t: FixedType) -> np.ndarray:
    arr = np.asarray(raw)
    if arr.dtype.kind not in "iu":
        raise FixedError(f"raw values for {t.cpp()} must be integers, got dtype {arr.dtype}")
    if arr.dtype == np.uint64 and arr.size and arr.max() > np.iinfo(np.int64).max:
        raise FixedError(f"raw value {int(arr.max())} outside {t.cpp()} range [{t.raw_min}, {t.raw_max}]")
    arr = arr.astype(np.int64, copy=False)
    if arr.size:
        lo, hi = int(arr.min()), int(arr.max())
        if lo < t.raw_min or hi > t.raw_max:
            bad = lo if lo < t.raw_min else hi
            raise FixedError(f"raw value {bad} outside {t.cpp()} range [{t.raw_min}, {t.raw_max}]")
    return arr


def _shl(v: np.ndarray, d: int) -> np.ndarray:
    # Through uint64 so negative values shift as two's complement; callers guarantee no loss.
    return (v.view(_U64) << _U64(d)).view(np.int64) if d else v


def _result_type(op: str, a: FixedType, b: FixedType, width: int, integer: int, signed: bool) -> FixedType:
    try:
        return FixedType(width, integer, signed)
    except FixedError as e:
        raise FixedError(f"{a.cpp()} {op} {b.cpp()} has no int64 result type: {e}") from None


def _plus_bits(a: FixedType, b: FixedType) -> tuple[int, int]:
    # RType::plus: an unsigned operand needs one more integer bit next to a signed one.
    i = max(a.integer + (b.signed and not a.signed), b.integer + (a.signed and not b.signed)) + 1
    return i + max(a.frac, b.frac), i


def add_type(a: FixedType, b: FixedType) -> FixedType:
    """Exact result type of ``a + b`` (ap_fixed's RType::plus; modes are the defaults)."""
    w, i = _plus_bits(a, b)
    return _result_type("+", a, b, w, i, a.signed or b.signed)


def sub_type(a: FixedType, b: FixedType) -> FixedType:
    """Exact result type of ``a - b`` (RType::minus: as plus, but always signed)."""
    w, i = _plus_bits(a, b)
    return _result_type("-", a, b, w, i, True)


def mul_type(a: FixedType, b: FixedType) -> FixedType:
    """Exact result type of ``a * b`` (RType::mult)."""
    return _result_type("*", a, b, a.width + b.width, a.integer + b.integer, a.signed or b.signed)


def add_raw(a_raw: ArrayLike, a: FixedType, b_raw: ArrayLike, b: FixedType) -> tuple[np.ndarray, FixedType]:
    """Exact ``a + b`` as raw of :func:`add_type`."""
    t = add_type(a, b)
    return _shl(_check_raw(a_raw, a), t.frac - a.frac) + _shl(_check_raw(b_raw, b), t.frac - b.frac), t


def sub_raw(a_raw: ArrayLike, a: FixedType, b_raw: ArrayLike, b: FixedType) -> tuple[np.ndarray, FixedType]:
    """Exact ``a - b`` as raw of :func:`sub_type`."""
    t = sub_type(a, b)
    return _shl(_check_raw(a_raw, a), t.frac - a.frac) - _shl(_check_raw(b_raw, b), t.frac - b.frac), t


def mul_raw(a_raw: ArrayLike, a: FixedType, b_raw: ArrayLike, b: FixedType) -> tuple[np.ndarray, FixedType]:
    """Exact ``a * b`` as raw of :func:`mul_type` (fits int64 whenever the type does)."""
    t = mul_type(a, b)
    return _check_raw(a_raw, a) * _check_raw(b_raw, b), t


@dataclass(frozen=True, eq=False)
class Fixed:
    """A raw int64 array tagged with its type; ``+ - *`` are exact, :meth:`cast` rounds/overflows."""

    raw: np.ndarray
    type: FixedType

    def __post_init__(self) -> None:
        object.__setattr__(self, "raw", _check_raw(self.raw, self.type))

    @classmethod
    def from_float(cls, x: ArrayLike, t: FixedType) -> Fixed:
        return cls(t.quantize(x), t)

    def to_float(self) -> np.ndarray:
        return self.type.to_float(self.raw)

    def cast(self, t: FixedType) -> Fixed:
        return Fixed(t.cast_raw(self.raw, self.type), t)

    def __add__(self, other: Fixed) -> Fixed:
        return Fixed(*add_raw(self.raw, self.type, other.raw, other.type))

    def __sub__(self, other: Fixed) -> Fixed:
        return Fixed(*sub_raw(self.raw, self.type, other.raw, other.type))

    def __mul__(self, other: Fixed) -> Fixed:
        return Fixed(*mul_raw(self.raw, self.type, other.raw, other.type))

    def __repr__(self) -> str:
        return f"Fixed({self.to_float()!r}, {self.type.cpp()})"
