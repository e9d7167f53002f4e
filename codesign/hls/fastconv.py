"""Exact fast products with b x b circulant blocks: a bilinear algorithm y = C((A x) * (B v)) / b.

A circulant block W[r, c] = v[(r - c) mod b] times x is the cyclic convolution y = v x mod (s^b - 1). The
FFT diagonalises it with complex twiddles; in fixed point those are rounded, so the result would no longer
be the quantized model's. This module keeps the FFT's structure over the rationals instead (b a power of 2):

- split: s^n - 1 = (s^m - 1)(s^m + 1), m = n/2. The residues of x are lo + hi and lo - hi (the radix-2
  butterfly with twiddles +-1, additions only); recurse on the cyclic half, and
- the negacyclic half, a product mod s^m + 1 (the FFT's irrational twiddles live here), is a linear
  convolution by Karatsuba (3 half-size products) folded with s^m = -1.
- recombine: y_lo = (y_cyc + y_neg) / 2, y_hi = (y_cyc - y_neg) / 2. The halves are deferred: C is integer
  and C(...) equals b y exactly, so one final shift by log2(b) drops only zero bits.

Multiplications per block (the rank R): 1, 2, 5, 14, 41 for b = 1, 2, 4, 8, 16 instead of b^2, all other
operations are additions of small integer multiples. Winograd's theorem puts the minimum over the rationals at
2b - d(b) (d = number of divisors: 5, 12, 27), so an exact circulant product cannot fall below ~2b multiplies
per block; Karatsuba inside the negacyclic factors reaches the minimum at b <= 4 and is within 2 at b = 8.

The transforms amortise: A x_j is computed once per input block and shared by every row block; the products
accumulate in the transform domain over the column blocks (and over both matrices of an LSTM step), and C
is applied once per row block. So a (rows/b) x (cols/b) block-circulant matrix costs R multiplies per block.

The algorithm is written once, as straight-line programs of additions (`LinearProgram`: the recursive
butterflies, not the dense matrices, so A costs 20 and C 50 additions at b = 8 instead of 50 and 78); the
C++ kernel runs the emitted programs, and A, B, C are read off them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

import numpy as np


@dataclass
class LinearProgram:
    """out = M @ in by additions: value k < n_in is input k, value n_in + i is step i's result.

    A step is (op, a, b): "+" a + b, "-" a - b, "<<" a shifted left by b bits (the value's type holds the
    result, so the shift is exact).
    `forms[k]` is value k as a linear form of the inputs, so M = forms[outputs] and every intermediate's
    range follows from the inputs' (codesign.hls.circulant_kernel sizes the C++ types by them).
    """

    n_in: int
    steps: list[tuple[str, int, int]] = field(default_factory=list)
    outputs: list[int] = field(default_factory=list)
    forms: list[np.ndarray] = field(default_factory=list)

    def __post_init__(self):
        self.forms = list(np.eye(self.n_in, dtype=np.int64))

    def _emit(self, op: str, a: int, b: int, form: np.ndarray) -> int:
        self.steps.append((op, a, b))
        self.forms.append(form)
        return len(self.forms) - 1

    def add(self, a: int, b: int) -> int:
        return self._emit("+", a, b, self.forms[a] + self.forms[b])

    def sub(self, a: int, b: int) -> int:
        return self._emit("-", a, b, self.forms[a] - self.forms[b])

    def scale(self, a: int, k: int) -> int:
        """a times k, a power of 2: a shift, no multiplier."""
        if k < 1 or k & (k - 1):
            raise ValueError(f"scale: {k} is not a power of 2")
        return a if k == 1 else self._emit("<<", a, k.bit_length() - 1, self.forms[a] * k)

    @property
    def matrix(self) -> np.ndarray:
        return np.array([self.forms[k] for k in self.outputs], np.int64)

    @property
    def additions(self) -> int:
        return sum(1 for op, _, _ in self.steps if op in ("+", "-"))

    def cpp(self, in_name: str, out_name: str, type_name: str) -> str:
        """The program as C++ statements on arrays `in_name` -> `out_name`, temporaries of `type_name`."""

        def ref(k: int) -> str:
            return f"{in_name}[{k}]" if k < self.n_in else f"t{k}"

        lines = []
        for i, (op, a, b) in enumerate(self.steps):
            rhs = f"{ref(a)} << {b}" if op == "<<" else f"{ref(a)} {op} {ref(b)}"
            lines.append(f"{type_name} t{self.n_in + i} = {rhs};")
        lines += [f"{out_name}[{q}] = {ref(k)};" for q, k in enumerate(self.outputs)]
        return "\n".join(lines)


def _karatsuba_rank(m: int) -> int:
    return 1 if m == 1 else 3 * _karatsuba_rank(m // 2)


def _cyclic_rank(n: int) -> int:
    return 1 if n == 1 else _cyclic_rank(n // 2) + _karatsuba_rank(n // 2)


def _forward_cyclic(p: LinearProgram, x: list[int]) -> list[int]:
    """Residues of x mod s^n - 1 down to the products: x mod (s^m - 1) = lo + hi, mod (s^m + 1) = lo - hi."""
    n = len(x)
    if n == 1:
        return x
    m = n // 2
    total = [p.add(x[k], x[k + m]) for k in range(m)]
    diff = [p.sub(x[k], x[k + m]) for k in range(m)]
    return _forward_cyclic(p, total) + _forward_karatsuba(p, diff)


def _forward_karatsuba(p: LinearProgram, a: list[int]) -> list[int]:
    """Karatsuba's operands: lo, hi and lo + hi, recursively."""
    m = len(a)
    if m == 1:
        return a
    h = m // 2
    mid = [p.add(a[k], a[k + h]) for k in range(h)]
    return _forward_karatsuba(p, a[:h]) + _forward_karatsuba(p, a[h:]) + _forward_karatsuba(p, mid)


def _inverse_cyclic(p: LinearProgram, prods: list[int], n: int) -> list[int]:
    """n times the cyclic product from its transform-domain products: y_lo, y_hi = y_cyc +- y_neg (the
    halves deferred: the cyclic half comes back times m, so the negacyclic half is scaled by m too)."""
    if n == 1:
        return prods
    m = n // 2
    r = _cyclic_rank(m)
    cyc = _inverse_cyclic(p, prods[:r], m)
    neg = [p.scale(v, m) for v in _inverse_negacyclic(p, prods[r:], m)]
    return [p.add(cyc[k], neg[k]) for k in range(m)] + [p.sub(cyc[k], neg[k]) for k in range(m)]


def _inverse_negacyclic(p: LinearProgram, prods: list[int], m: int) -> list[int]:
    """The product mod s^m + 1: Karatsuba's linear convolution folded with s^(m + k) = -s^k."""
    z = _inverse_karatsuba(p, prods, m)
    return [p.sub(z[k], z[k + m]) for k in range(m - 1)] + [z[m - 1]]


def _inverse_karatsuba(p: LinearProgram, prods: list[int], m: int) -> list[int]:
    """The 2m - 1 coefficients of a linear convolution: z0 + s^h (z_mid - z0 - z2) + s^m z2."""
    if m == 1:
        return prods
    h = m // 2
    r = _karatsuba_rank(h)
    z0 = _inverse_karatsuba(p, prods[:r], h)
    z2 = _inverse_karatsuba(p, prods[r : 2 * r], h)
    zm = _inverse_karatsuba(p, prods[2 * r :], h)
    z1 = [p.sub(p.sub(zm[k], z0[k]), z2[k]) for k in range(2 * h - 1)]
    out: list[int | None] = [None] * (2 * m - 1)
    for shift, part in ((0, z0), (h, z1), (m, z2)):
        for k, v in enumerate(part):
            out[shift + k] = v if out[shift + k] is None else p.add(out[shift + k], v)
    return out


@dataclass(frozen=True)
class FastCirculant:
    """y = C((A x) * (B v)) >> log2(b) for y_r = sum_c v[(r - c) mod b] x_c, all integer matrices.

    A = B (`forward`, the same program for inputs and defining vectors) and C (`inverse`)."""

    block: int
    forward: LinearProgram  # b values -> R
    inverse: LinearProgram  # R products -> b times the block product

    @property
    def rank(self) -> int:
        return len(self.forward.outputs)

    @property
    def log2_block(self) -> int:
        return self.block.bit_length() - 1

    @property
    def x_coef(self) -> np.ndarray:  # A (R, b): entries in {-1, 0, 1}
        return self.forward.matrix

    @property
    def v_coef(self) -> np.ndarray:  # B (R, b)
        return self.forward.matrix

    @property
    def y_coef(self) -> np.ndarray:  # C (b, R)
        return self.inverse.matrix

    def product(self, v: np.ndarray, x: np.ndarray) -> np.ndarray:
        """The block product by the fast algorithm, in exact integer arithmetic (object arrays)."""
        v, x = np.asarray(v, object), np.asarray(x, object)
        u = self.y_coef.astype(object) @ ((self.x_coef.astype(object) @ x) * (self.v_coef.astype(object) @ v))
        assert all(value % self.block == 0 for value in u.ravel()), "u must be b times the product"
        return u // self.block


@cache
def fast_circulant(b: int) -> FastCirculant:
    """The exact fast algorithm for one b x b circulant block product, b a power of 2."""
    if b < 1 or b & (b - 1):
        raise ValueError(f"block: {b} is not a power of 2")
    forward = LinearProgram(b)
    forward.outputs = _forward_cyclic(forward, list(range(b)))
    inverse = LinearProgram(len(forward.outputs))
    inverse.outputs = _inverse_cyclic(inverse, list(range(inverse.n_in)), b)
    return FastCirculant(b, forward, inverse)


def winograd_minimum(b: int) -> int:
    """The fewest multiplications of any exact (rational) cyclic convolution of length b: 2b - d(b)."""
    return 2 * b - sum(1 for d in range(1, b + 1) if b % d == 0)
