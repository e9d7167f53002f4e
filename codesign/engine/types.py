"""The engine's fixed-point types (docs/engine.md "Types") and the widths derived from them.

Every type is a `codesign.fixed.FixedType`; the RTL gets width and fraction of each through
`engine_params.svh`. Nothing is guessed: each type is the smallest one holding exactly every value it
carries (the input precision, the state precision, the quantized activations' level grids), so the
golden model computes QKeras' arithmetic (`codesign.reference`) exactly, and the accumulator is derived
from the worst case it can see (every product at its largest magnitude, plus the bias).
"""

from __future__ import annotations

from dataclasses import dataclass

from codesign.errors import CodesignError
from codesign.fixed import FixedType, add_type, mul_type
from codesign.spec import Activation, Precision

# Rounding modes the RTL implements for its casts: AP_TRN (drop bits), AP_RND (add half an LSB, then
# drop) and AP_RND_CONV (QKeras' round half to even). Keeping the set small keeps one cast unit.
ENGINE_ROUNDINGS = ("AP_TRN", "AP_RND", "AP_RND_CONV")
ENGINE_OVERFLOWS = ("AP_SAT",)

DEFAULT_INPUT = Precision(16, 5)  # spec.DEFAULT_INPUT: ap_fixed<16,6,AP_RND_CONV,AP_SAT>
DEFAULT_STATE = Precision(16, 4)  # synthetic models' state quantizer: ap_fixed<16,5,AP_RND_CONV,AP_SAT>

WEIGHT_WIDTHS = (4, 16)
MAX_INDEX_WIDTH = 8
NUM_PE_RANGE = (1, 64)


@dataclass(frozen=True)
class EngineTypes:
    """All types of docs/engine.md. `weight` and `bias` are storage types (no rounding happens in
    them: the encoder refuses values that do not fit); `input` and `cell` are the spec's input and
    state quantizers (AP_RND_CONV, AP_SAT); `act` holds every broadcast value exactly."""

    act: FixedType  # the broadcast vector: x_t, q_state(h_{t-1}), the exact h_t of the layer below / h_T
    weight: FixedType  # every stored weight (gate matrices and head)
    bias: FixedType  # every stored bias word; aligned (shifted left) to acc's fraction when added
    acc: FixedType  # exact sum of products and bias
    table_in: FixedType  # table address: floor (AP_TRN) of a pre-activation onto the table's cells, saturated
    gate: FixedType  # activation levels (sigmoid and tanh outputs)
    cell: FixedType  # c_t as stored: q_state(c_t) (a GRU: its state q_state(h_t))
    input: FixedType  # x_t as the host quantizes it (spec precision.input)
    cell_kind: str = "lstm"  # lstm | gru: which element-wise arithmetic the tables serve

    @property
    def bias_shift(self) -> int:
        """Left shift that aligns a bias raw to the accumulator's fraction."""
        return self.acc.frac - self.bias.frac

    @property
    def cell_sum(self) -> FixedType:
        """Exact type of f * c_{t-1} + i * g (the unrounded c_t that tanh sees)."""
        return add_type(mul_type(self.gate, self.cell), mul_type(self.gate, self.gate))

    @property
    def cand_sum(self) -> FixedType:
        """A GRU's exact z_nx + r * z_nh (what the candidate's tanh sees)."""
        return add_type(self.acc, mul_type(self.gate, self.acc))

    @property
    def bound_frac(self) -> int:
        """Fraction of the tables' boundary offsets: the finer of the two grids an activation sees
        (accumulator z, and the exact c_t of an LSTM or the candidate's sum of a GRU)."""
        return max(self.acc.frac, (self.cell_sum if self.cell_kind == "lstm" else self.cand_sum).frac)

    @property
    def offset_width(self) -> int:
        """Unsigned bits of a boundary offset inside a table cell: 0 .. 2^(bound_frac - table_in.frac),
        the largest value meaning "no boundary in this cell"."""
        return self.bound_frac - self.table_in.frac + 1

    @property
    def table_width(self) -> int:
        """A table entry: {offset, base level (gate raw)}."""
        return self.offset_width + self.gate.width

    def fixed_types(self) -> dict[str, FixedType]:
        """Every type by name (the fields that are types: not `cell_kind`)."""
        return {
            name: v for name in self.__dataclass_fields__ if isinstance(v := getattr(self, name), FixedType)
        }

    def as_dict(self) -> dict[str, str]:
        return {name: t.cpp() for name, t in self.fixed_types().items()}


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
    """The RTL implements AP_TRN/AP_RND/AP_RND_CONV rounding and AP_SAT overflow on cast targets only."""
    if t.rounding not in ENGINE_ROUNDINGS or t.overflow not in ENGINE_OVERFLOWS:
        raise CodesignError(
            f"engine type {name} = {t.cpp()}: the engine implements rounding {'/'.join(ENGINE_ROUNDINGS)} "
            f"and overflow {'/'.join(ENGINE_OVERFLOWS)} only"
        )


def level_frac(a: Activation, kind: str, field: str) -> int:
    """Fraction of a quantized activation's output grid: quantized_sigmoid(b) on 2^-b, quantized_tanh(b)
    on 2^-(b-1) (hard or real alike). Unquantized activations have no finite level set, so the engine
    cannot compute them exactly: refused, naming the spec field."""
    if a.bits is None:
        raise CodesignError(
            f"{field}.bits: {a.function} without bits is not quantized; the engine computes only quantized "
            "activations exactly (give bits)"
        )
    return a.bits if kind == "gate" else a.bits - 1


def gate_type(activation: Activation, recurrent_activation: Activation) -> FixedType:
    """Activation levels: sigmoid in [0, 1), tanh in [-1, 1): one integer (sign) bit and the finer of
    the two level grids, so every level is exact."""
    frac = max(
        level_frac(recurrent_activation, "gate", "model.recurrent_activation"),
        level_frac(activation, "state", "model.activation"),
    )
    return FixedType(frac + 1, 1, True, "AP_TRN", "AP_SAT")


def hidden_type(
    activation: Activation,
    recurrent_activation: Activation,
    cell_kind: str = "lstm",
    state: FixedType | None = None,
) -> FixedType:
    """The exact h_t. LSTM: o * tanh_q(c_t), on the grid of the product of the two level grids, |h| < 1.
    GRU: hh + z (hs_{t-1} - hh), on 2^-(sigmoid grid + the finer of state and tanh grids), |h| at most
    max(1, the state's range) (a convex combination of hs_{t-1} and hh)."""
    sig = level_frac(recurrent_activation, "gate", "model.recurrent_activation")
    tanh = level_frac(activation, "state", "model.activation")
    if cell_kind == "lstm":
        return FixedType(sig + tanh + 1, 1, True, "AP_TRN", "AP_SAT")
    frac = sig + max(state.frac, tanh)
    integer = max(1, state.integer)
    return FixedType(integer + frac, integer, True, "AP_TRN", "AP_SAT")


def union_type(types: list[FixedType]) -> FixedType:
    """The smallest signed type holding every value of every type: finest fraction, widest integer."""
    frac = max(t.frac for t in types)
    integer = max(t.integer for t in types)
    return FixedType(integer + frac, integer, True, "AP_TRN", "AP_SAT")


def act_type(
    input_type: FixedType,
    state: FixedType,
    activation: Activation,
    recurrent_activation: Activation,
    cell_kind: str = "lstm",
) -> FixedType:
    """The broadcast type: x_t (input precision), q_state(h_{t-1}) (state precision) and the exact h_t
    the next layer and the head take. Every broadcast value is exact in it (no cast into it rounds)."""
    return union_type([input_type, state, hidden_type(activation, recurrent_activation, cell_kind, state)])


def state_type(state: Precision | None) -> FixedType:
    """The cell storage (and q_state(h)): the spec's state quantizer. Without one QKeras keeps h and c
    in float, which no finite type holds: refused."""
    if state is None:
        raise CodesignError(
            "precision.state: missing; the engine stores h and c in the state quantizer's type "
            "(give precision.state, e.g. {bits: 16, integer: 4})"
        )
    return state.fixed_type()
