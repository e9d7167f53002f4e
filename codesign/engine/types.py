"""The engine's fixed-point types (docs/engine.md "Types") and the widths derived from them.

Every type is a `codesign.fixed.FixedType`; the RTL gets width and fraction of each through
`engine_params.svh`. The accumulator is derived from the worst case it can see (every product at its
largest magnitude, plus the bias), never guessed, so it cannot overflow.
"""

from __future__ import annotations

from dataclasses import dataclass

from codesign.errors import CodesignError
from codesign.fixed import FixedType

# Rounding modes the RTL implements for its casts: AP_TRN (drop bits) and AP_RND (add half an LSB, then
# drop). Keeping the set small keeps one cast unit in hardware.
ENGINE_ROUNDINGS = ("AP_TRN", "AP_RND")
ENGINE_OVERFLOWS = ("AP_SAT",)

DEFAULT_ACT = FixedType(16, 6, True, "AP_RND", "AP_SAT")
# Table input: 4096 entries over [-8, 8) with AP_RND. Why: QKeras' quantized_tanh(8) steps by 1/128 at slope
# up to 1, so the table input needs a finer step than 1/128 to land on the right output step; frac 8 is
# one bit finer. Measured (docs/engine.md): ap_fixed<10,4> flipped 2 of 370 JapaneseVowels predictions of
# the balanced 90%-sparse model against QKeras, <12,4> none. AP_RND, not AP_TRN: truncation biases every
# lookup by half an input LSB (mean |h - h_reference| 0.0115 vs 0.0028 at <10,4>).
DEFAULT_TABLE_IN = FixedType(12, 4, True, "AP_RND", "AP_SAT")
DEFAULT_GATE = FixedType(16, 2, True, "AP_RND", "AP_SAT")  # for real (unquantized) sigmoid / tanh
DEFAULT_CELL = FixedType(16, 5, True, "AP_RND", "AP_SAT")

WEIGHT_WIDTHS = (4, 16)
MAX_INDEX_WIDTH = 8
NUM_PE_RANGE = (1, 64)


@dataclass(frozen=True)
class EngineTypes:
    """All types of docs/engine.md. `weight` and `bias` are storage types (no rounding happens in
    them: the encoder refuses values that do not fit); the others are cast targets."""

    act: FixedType  # the broadcast vector [x_t; h_{t-1}]
    weight: FixedType  # every stored weight (gate matrices and head)
    bias: FixedType  # every stored bias word; aligned (shifted left) to acc's fraction when added
    acc: FixedType  # exact sum of products and bias
    table_in: FixedType  # sigmoid/tanh table address
    gate: FixedType  # table outputs
    cell: FixedType  # c_t

    @property
    def bias_shift(self) -> int:
        """Left shift that aligns a bias raw to the accumulator's fraction."""
        return self.acc.frac - self.bias.frac

    def as_dict(self) -> dict[str, str]:
        return {name: getattr(self, name).cpp() for name in self.__dataclass_fields__}


def weight_type(weight_width: int, frac: int) -> FixedType:
    """ap_fixed<WeightWidth, WeightWidth - frac>: the weight word at the chosen fraction."""
    if not WEIGHT_WIDTHS[0] <= weight_width <= WEIGHT_WIDTHS[1]:
        lo, hi = WEIGHT_WIDTHS
        raise CodesignError(f"--weight-width {weight_width} is outside {lo}..{hi}")
    return FixedType(weight_width, weight_width - frac, True, "AP_TRN", "AP_SAT")


def accumulator_type(act: FixedType, weight: FixedType, bias: FixedType, max_terms: int) -> FixedType:
    """Smallest signed type holding act*weight products summed over `max_terms` terms plus one bias.

    Fraction = act.frac + weight.frac (products are exact). The bound B = max_terms * |act.min| *
    |weight.min| + |bias.min| (in acc LSBs) is the largest magnitude; a signed W-bit word holds [-B, B]
    when 2^(W-1) - 1 >= B.
    """
    if max_terms < 0:
        raise CodesignError(f"max row non-zeros {max_terms} < 0")
    frac = act.frac + weight.frac
    if bias.frac > frac:
        raise CodesignError(
            f"bias fraction {bias.frac} is finer than the accumulator's {frac} (act {act.cpp()} x weight "
            f"{weight.cpp()}): the bias cannot be added exactly"
        )
    product_max = (1 << (act.width - 1)) * (1 << (weight.width - 1))
    bound = max_terms * product_max + ((1 << (bias.width - 1)) << (frac - bias.frac))
    width = bound.bit_length() + 1  # bit_length(B) bits hold B unsigned; one more for the sign
    return FixedType(width, width - frac, True, "AP_TRN", "AP_WRAP")


def check_engine_type(name: str, t: FixedType) -> None:
    """The RTL implements AP_TRN/AP_RND rounding and AP_SAT overflow on cast targets only."""
    if t.rounding not in ENGINE_ROUNDINGS or t.overflow not in ENGINE_OVERFLOWS:
        raise CodesignError(
            f"engine type {name} = {t.cpp()}: the engine implements rounding {'/'.join(ENGINE_ROUNDINGS)} "
            f"and overflow {'/'.join(ENGINE_OVERFLOWS)} only"
        )


def gate_type(activation, recurrent_activation, table_in: FixedType) -> FixedType:
    """Table output type: just wide enough to hold every table entry exactly when the activations are
    QKeras-quantized or hard (their outputs sit on a grid); DEFAULT_GATE for real sigmoid / tanh.

    quantized_sigmoid(b) is on 2^-b, quantized_tanh(b) on 2^-(b-1); hard_sigmoid(u) = u/2 + 1/2 on
    2^-(table_in.frac + 1), hard_tanh(u) on 2^-table_in.frac. Values lie in [-1, 1]: 2 integer bits.
    """
    fracs = []
    for a, kind in ((recurrent_activation, "gate"), (activation, "state")):
        if a.bits is not None:
            fracs.append(a.bits if kind == "gate" else a.bits - 1)
        elif a.function.startswith("hard_"):
            fracs.append(table_in.frac + 1 if kind == "gate" else table_in.frac)
        else:
            return DEFAULT_GATE
    frac = max(fracs)
    return FixedType(frac + 2, 2, True, DEFAULT_GATE.rounding, DEFAULT_GATE.overflow)
