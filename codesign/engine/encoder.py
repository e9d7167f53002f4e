"""Trained model -> the engine's memory images (docs/engine.md "Rows to PEs, and the CSC memory image").

`model_from_trained` reads the QKeras model's QUANTIZED weights (the spec's quantizers, applied with
`codesign.fixed`); `encode` deals the rows of every matrix to the PEs (`row_placement`: the four gate
rows of an LSTM unit u on PE u mod NumPe; head row r on PE r mod NumPe) and
stores each PE's non-zeros column by column as {weight, relative row index} words, inserting a padding
word where a gap exceeds the index field; it derives every type and the exact activation tables
(`derive_types`, `activation_tables`). `write_image` writes the `$readmemh` files, `params.json` and
`engine_params.svh`; `load_image` reads a folder back, so the golden model runs from the same files
the RTL loads.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from codesign.engine.activation import staircase, table_entries, table_in_type
from codesign.engine.types import (
    DEFAULT_INPUT,
    DEFAULT_STATE,
    MAX_INDEX_WIDTH,
    NUM_PE_RANGE,
    EngineTypes,
    accumulator_type,
    act_type,
    check_engine_type,
    gate_type,
    level_frac,
    state_type,
    weight_type,
)
from codesign.errors import CodesignError
from codesign.fixed import FixedType
from codesign.spec import Activation, Precision, Spec

GATES = 4  # accumulator rows per unit: LSTM i, f, g (c), o (Keras order); GRU z, r, n_x, n_h
CELLS = ("lstm", "gru")
LOAD_DATA_BITS = 64  # data field of a weight-load beat (load_stream): a table entry must fit
MAX_LAYERS = 2
# 2: exact activations, input/state types; 3: rows by unit, bias banked per PE; 4: pe<k>_colptr_next.memh;
# 5: pe<k>_colflags.memh in its place
FORMAT_VERSION = 5


# --- what the engine runs ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LayerWeights:
    """One recurrent layer in Keras layout, values already on their quantization grids (floats): LSTM
    kernel (X, 4H), recurrent kernel (H, 4H), bias (4H,); GRU (reset_after) (X, 3H), (H, 3H), (2, 3H)."""

    kernel: np.ndarray
    recurrent_kernel: np.ndarray
    bias: np.ndarray

    @property
    def units(self) -> int:
        return int(self.recurrent_kernel.shape[0])

    @property
    def inputs(self) -> int:
        return int(self.kernel.shape[0])


@dataclass(frozen=True)
class EngineModel:
    """An LSTM classifier as the engine sees it: quantized weights, activations, storage fractions."""

    name: str
    layers: tuple[LayerWeights, ...]
    dense_kernel: np.ndarray  # (H_last, classes)
    dense_bias: np.ndarray  # (classes,)
    activation: Activation  # state activation (tanh-like), as in the spec
    recurrent_activation: Activation  # gate activation (sigmoid-like)
    weight_frac: int  # fraction of the weight word: the finest of the weight precisions
    bias_type: FixedType  # storage type of every bias
    cell_type: FixedType = DEFAULT_STATE.fixed_type()  # the spec's state quantizer (AP_RND_CONV, AP_SAT)
    input_type: FixedType = DEFAULT_INPUT.fixed_type()  # the spec's input quantizer
    cell: str = "lstm"  # lstm | gru (reset_after)
    delta: tuple[int, int] | None = None  # delta network: (x, h) thresholds in LSBs of input / cell types

    @property
    def inputs(self) -> int:
        return self.layers[0].inputs

    @property
    def units(self) -> tuple[int, ...]:
        return tuple(layer.units for layer in self.layers)

    @property
    def classes(self) -> int:
        return int(self.dense_kernel.shape[1])


def _storage_type(precisions: list[Precision]) -> FixedType:
    """A type holding every value of every precision exactly: finest fraction, widest integer part."""
    types = [p.fixed_type() for p in precisions]
    frac = max(t.frac for t in types)
    integer = max(t.integer for t in types)
    return FixedType(integer + frac, integer, True, "AP_TRN", "AP_SAT")


def check_spec(spec: Spec) -> None:
    """The engine runs 1 or 2 stacked LSTM or GRU (reset_after) layers and a dense head, with quantized
    activations and a state quantizer (what it can compute exactly); anything else is refused."""
    if spec.model.cell not in CELLS:
        raise CodesignError(
            f"{spec.path or spec.name}: model.cell: {spec.model.cell!r}: the engine runs LSTM and GRU layers"
        )
    if spec.model.cell == "gru" and not spec.model.reset_after:
        raise CodesignError(
            f"{spec.path or spec.name}: model.reset_after: false: the engine runs GRUs with reset_after "
            "true (then r multiplies W_hn h + b_hn, which has accumulator rows of its own)"
        )
    if not 1 <= len(spec.model.units) <= MAX_LAYERS:
        raise CodesignError(
            f"{spec.path or spec.name}: model.units: {list(spec.model.units)}: "
            f"the engine runs 1 to {MAX_LAYERS} recurrent layers"
        )
    try:
        gate_type(spec.model.activation, spec.model.recurrent_activation)
        state_type(spec.precision.state)
    except CodesignError as e:
        raise CodesignError(f"{spec.path or spec.name}: {e}") from None


def check_rtl_spec(spec: Spec) -> None:
    """What the engine's RTL runs (check_spec: LSTM or GRU layers, delta networks too): the stages that
    build or simulate RTL call it before they announce anything."""
    check_spec(spec)


def engine_model_from_weights(
    spec: Spec, layers: list[tuple[np.ndarray, np.ndarray, np.ndarray]], dense: tuple[np.ndarray, np.ndarray]
) -> EngineModel:
    """An EngineModel from LATENT Keras weights: each tensor goes through its spec quantizer
    (`Precision.fixed_type()`, equal to QKeras' quantized_bits: round half to even, saturate)."""
    check_spec(spec)
    p = spec.precision

    def q(w: np.ndarray, precision: Precision) -> np.ndarray:
        # QKeras quantizes the float32 latent weight; fixed_type() rounds it exactly like quantized_bits.
        t = precision.fixed_type()
        return t.to_float(t.quantize(np.asarray(w, np.float32).astype(np.float64)))

    weights = tuple(
        LayerWeights(q(k, p.kernel), q(r, p.recurrent_kernel), q(b, p.bias)) for k, r, b in layers
    )
    weight_frac = max(w.fixed_type().frac for w in (p.kernel, p.recurrent_kernel, p.dense_kernel))
    bias_type = _storage_type([p.bias, p.dense_bias])
    if spec.model.cell == "gru":  # z and r rows store b_i + b_r: one more integer bit holds the sum
        bias_type = dataclasses.replace(bias_type, width=bias_type.width + 1, integer=bias_type.integer + 1)
    return EngineModel(
        name=spec.name,
        layers=weights,
        dense_kernel=q(dense[0], p.dense_kernel),
        dense_bias=q(dense[1], p.dense_bias),
        activation=spec.model.activation,
        recurrent_activation=spec.model.recurrent_activation,
        weight_frac=weight_frac,
        bias_type=bias_type,
        cell_type=state_type(p.state),
        input_type=p.input.fixed_type(),
        cell=spec.model.cell,
        delta=None if spec.delta is None else (spec.delta.threshold_x, spec.delta.threshold_h),
    )


def model_from_trained(spec: Spec, keras_model) -> EngineModel:
    """The engine model of a QKeras model built by `codesign.models.builders` (layers rnn1.., head)."""
    check_spec(spec)
    layers = [tuple(keras_model.get_layer(f"rnn{i + 1}").get_weights()) for i in range(len(spec.model.units))]
    dense = tuple(keras_model.get_layer("head").get_weights())
    return engine_model_from_weights(spec, layers, dense)


# --- configuration and images -----------------------------------------------------------------------


INDEX_OVERFLOW = ("pad", "error")


class IndexOverflow(Exception):
    """A zero run within one PE's column that the relative index cannot skip (padding refused)."""

    def __init__(self, column: int, row: int, gap: int):
        super().__init__(f"column {column}: local row {row} is {gap} rows after the previous entry")
        self.column, self.row, self.gap = column, row, gap


@dataclass(frozen=True)
class EngineConfig:
    """The RTL's build parameters; the encoder refuses a model that does not fit them."""

    num_pe: int
    weight_width: int = 12
    index_width: int = 4
    max_depth: int | None = None  # words per PE weight memory; None: as deep as the model needs
    # a zero run longer than the relative index can skip: "pad" stores padding words (ESE), "error" refuses
    index_overflow: str = "pad"

    def validate(self) -> None:
        lo, hi = NUM_PE_RANGE
        if isinstance(self.num_pe, bool) or not isinstance(self.num_pe, int) or not lo <= self.num_pe <= hi:
            raise CodesignError(f"--pes {self.num_pe!r} is outside {lo}..{hi}")
        if not 1 <= self.index_width <= MAX_INDEX_WIDTH:
            raise CodesignError(f"--index-width {self.index_width} is outside 1..{MAX_INDEX_WIDTH}")
        if self.index_overflow not in INDEX_OVERFLOW:
            choices = ", ".join(INDEX_OVERFLOW)
            raise CodesignError(f"--index-overflow {self.index_overflow!r} is not one of {choices}")
        if self.max_depth is not None and self.max_depth < 1:
            raise CodesignError(f"--max-depth {self.max_depth} < 1")

    @property
    def max_rel(self) -> int:
        return (1 << self.index_width) - 1


@dataclass(frozen=True)
class MatrixImage:
    """One matrix (a layer's [W_x W_h], or the head) as stored across the PEs."""

    name: str  # "layer0", "layer1", "head"
    rows: int
    cols: int
    colptr: np.ndarray  # (num_pe, cols + 1): absolute word addresses in each PE's weight memory
    colptr_base: int  # first entry of this matrix's pointer table in every PE's colptr memory
    bias: np.ndarray  # (rows,) bias raw (types.bias)
    bias_base: int  # first entry in bias.memh
    nnz_per_pe: np.ndarray  # (num_pe,) stored non-zero weights
    words_per_pe: np.ndarray  # (num_pe,) stored words incl. padding
    units: int = 0  # an LSTM layer's units (rows = 4 x units, dealt by unit); 0 for the head

    @property
    def local_rows(self) -> int:
        """Rows per PE (colptr has one line per PE): see `local_row_count`."""
        return local_row_count(self.rows, self.colptr.shape[0], self.units)

    def placement(self) -> tuple[np.ndarray, np.ndarray]:
        """(PE, local row) of every row: `row_placement`."""
        return row_placement(self.rows, self.colptr.shape[0], self.units)


@dataclass(frozen=True)
class EngineImage:
    """Everything the RTL loads: per-PE weight words and pointers, biases, tables, and the types."""

    name: str
    config: EngineConfig
    types: EngineTypes
    inputs: int
    units: tuple[int, ...]
    classes: int
    matrices: tuple[MatrixImage, ...]  # layers in order, then the head
    pe_weight: tuple[np.ndarray, ...]  # per PE: weight raw of every word (0 for padding)
    pe_rel: tuple[np.ndarray, ...]  # per PE: rel field of every word
    # (2^table_in.width,) entries {offset, base level}; address = table_in raw bits (two's complement)
    sigmoid_table: np.ndarray
    tanh_table: np.ndarray
    sigmoid_step: int  # gate raw between two consecutive sigmoid levels
    tanh_step: int
    activation: str = "tanh"
    recurrent_activation: str = "sigmoid"
    cell: str = "lstm"  # lstm | gru: the element-wise arithmetic (docs/engine.md "One GRU step")
    # delta mode (docs/engine.md "Delta mode"): (layer 0's input threshold, every h's threshold) in act raw
    delta: tuple[int, int] | None = None

    @property
    def num_pe(self) -> int:
        return self.config.num_pe

    @property
    def depth(self) -> int:
        """Weight memory depth: the most words any PE stores (at least 1)."""
        return max(1, max((len(w) for w in self.pe_weight), default=0))

    @property
    def layers(self) -> tuple[MatrixImage, ...]:
        return self.matrices[:-1]

    @property
    def head(self) -> MatrixImage:
        return self.matrices[-1]

    @property
    def bias_depth(self) -> int:
        """Lines of every PE's bias memory: the matrices' local rows back to back."""
        return sum(m.local_rows for m in self.matrices)

    def pe_bias(self, k: int) -> np.ndarray:
        """PE k's bias memory (bias raw): each matrix's biases of this PE's rows at bias_base + local row
        (0 where the PE has no row)."""
        out = np.zeros(self.bias_depth, np.int64)
        for m in self.matrices:
            pes, local = m.placement()
            out[m.bias_base + local[pes == k]] = m.bias[pes == k]
        return out

    def pe_words(self, k: int) -> np.ndarray:
        """PE k's memory words {weight, rel} as unsigned ints (uint64)."""
        ww, iw = self.config.weight_width, self.config.index_width
        w = self.pe_weight[k].astype(np.int64) & ((1 << ww) - 1)
        return ((w << iw) | self.pe_rel[k]).astype(np.uint64)


def local_row_count(rows: int, num_pe: int, units: int = 0) -> int:
    """Local rows per PE: an LSTM layer (units > 0) gates x ceil(units / NumPe), the head
    ceil(rows / NumPe)."""
    if units:
        return (rows // units) * -(-units // num_pe)
    return -(-rows // num_pe)


def row_placement(rows: int, num_pe: int, units: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(PE, local row) of every row of a matrix (docs/engine.md "Rows to PEs"). An LSTM layer's row
    r = gate * H + u (units H > 0) goes to PE u mod NumPe at local row gate * ceil(H / NumPe) + u div NumPe,
    so a PE holds the four gate rows of its units (its element-wise unit finishes them); the head's row r
    to PE r mod NumPe at local row r div NumPe. Both are (r mod NumPe, r div NumPe) when NumPe divides H."""
    r = np.arange(rows)
    if not units:
        return r % num_pe, r // num_pe
    gate, u = r // units, r % units
    return u % num_pe, gate * -(-units // num_pe) + u // num_pe


def table_index(raw: np.ndarray, table_in: FixedType) -> np.ndarray:
    """Table address of a table_in raw value: its two's-complement bits read as unsigned."""
    return np.asarray(raw, np.int64) & ((1 << table_in.width) - 1)


def activation_tables(
    activation: Activation, recurrent_activation: Activation, types: EngineTypes
) -> tuple[np.ndarray, np.ndarray, int, int]:
    """(sigmoid entries, tanh entries, sigmoid step, tanh step) for types from `derive_types`
    (docs/engine.md "Activations")."""
    stairs = _staircases(activation, recurrent_activation, types.gate, types.bound_frac)
    sig = table_entries(recurrent_activation, "gate", stairs[0], types.gate, types.table_in, types.bound_frac)
    tanh = table_entries(activation, "state", stairs[1], types.gate, types.table_in, types.bound_frac)
    return sig, tanh, stairs[0].step, stairs[1].step


def _staircases(activation: Activation, recurrent_activation: Activation, gate: FixedType, bound_frac: int):
    return [
        staircase(
            recurrent_activation,
            "gate",
            level_frac(recurrent_activation, "gate", "model.recurrent_activation"),
            gate,
            bound_frac,
        ),
        staircase(activation, "state", level_frac(activation, "state", "model.activation"), gate, bound_frac),
    ]


def derive_types(
    model_activation: Activation,
    recurrent_activation: Activation,
    input_type: FixedType,
    cell: FixedType,
    weight: FixedType,
    bias: FixedType,
    max_terms: int,
    cell_kind: str = "lstm",
) -> EngineTypes:
    """Every engine type from the spec's quantizers (docs/engine.md "Types")."""
    gate = gate_type(model_activation, recurrent_activation)
    act = act_type(input_type, cell, model_activation, recurrent_activation, cell_kind)
    # The accumulator's fraction is act.frac + weight.frac; a finer bias would not add exactly, so act
    # takes the missing fraction bits (zeros in every broadcast value: exact, only wider).
    short = bias.frac - (act.frac + weight.frac)
    if short > 0:
        act = dataclasses.replace(act, width=act.width + short)
    acc = accumulator_type(act, weight, bias, max_terms)
    no_table = FixedType(1, 1, True, "AP_TRN", "AP_SAT")  # bound_frac does not depend on table_in
    partial = EngineTypes(act, weight, bias, acc, no_table, gate, cell, input_type, cell_kind)
    stairs = _staircases(model_activation, recurrent_activation, gate, partial.bound_frac)
    table_in = table_in_type(stairs, partial.bound_frac)
    types = EngineTypes(act, weight, bias, acc, table_in, gate, cell, input_type, cell_kind)
    if types.table_width > LOAD_DATA_BITS:
        raise CodesignError(
            f"activation table entries of {types.table_width} bits (gate {gate.cpp()}, boundary grid "
            f"2^-{types.bound_frac}) exceed the load stream's {LOAD_DATA_BITS}-bit data; use narrower "
            "weights or activations"
        )
    return types


def _exact_raw(values: np.ndarray, t: FixedType, what: str, option: str) -> np.ndarray:
    """Raw of t for values that must be exactly representable in t; otherwise a CodesignError."""
    values = np.asarray(values, np.float64)
    raw = t.quantize(values)
    back = t.to_float(raw)
    bad = np.flatnonzero(back.ravel() != values.ravel())
    if bad.size:
        v = float(values.ravel()[bad[0]])
        reason = "is outside" if not t.min_value <= v <= t.max_value else "is not on the grid of"
        raise CodesignError(
            f"{what}: value {v!r} {reason} {t.cpp()} (range [{t.min_value}, {t.max_value}], "
            f"LSB {t.lsb}); {option}"
        )
    return raw


def local_matrix(w_raw: np.ndarray, pe: int, num_pe: int, units: int = 0) -> np.ndarray:
    """PE `pe`'s rows of a raw matrix at their local rows (`row_placement`; absent rows are zero)."""
    rows = w_raw.shape[0]
    pes, local = row_placement(rows, num_pe, units)
    out = np.zeros((local_row_count(rows, num_pe, units), w_raw.shape[1]), dtype=w_raw.dtype)
    out[local[pes == pe]] = w_raw[pes == pe]
    return out


def csc_for_pe(
    w_raw: np.ndarray, pe: int, num_pe: int, max_rel: int, pad: bool = True, units: int = 0
) -> tuple[list[int], list[int], list[int]]:
    """One PE's CSC of a raw matrix (rows x cols): (weights, rels, colptr relative to the start).

    The PE holds its rows at their local rows (`row_placement`); rel counts this PE's local rows skipped
    since the previous stored entry of the column (from local row 0 for the first); a gap > max_rel stores
    a padding word (weight 0, rel max_rel) that occupies the row slot it lands on, or raises IndexOverflow
    if not `pad`.
    """
    local = local_matrix(w_raw, pe, num_pe, units)
    weights: list[int] = []
    rels: list[int] = []
    colptr = [0]
    for j in range(local.shape[1]):
        next_row = 0
        for row in np.flatnonzero(local[:, j]):
            row = int(row)
            if row - next_row > max_rel and not pad:
                raise IndexOverflow(j, row, row - next_row)
            while row - next_row > max_rel:
                weights.append(0)
                rels.append(max_rel)
                next_row += max_rel + 1
            weights.append(int(local[row, j]))
            rels.append(row - next_row)
            next_row = row + 1
        colptr.append(len(weights))
    return weights, rels, colptr


def gate_matrix(layer: LayerWeights, cell: str = "lstm") -> np.ndarray:
    """W = [W_x W_h]: 4H rows x (X + H) columns. LSTM: Keras gate order i, f, g, o. GRU: z, r, then the
    candidate split in n_x (W_xn, zeros under h) and n_h (zeros under x, U_hn) (docs/engine.md)."""
    w = np.concatenate([layer.kernel, layer.recurrent_kernel], axis=0).T
    if cell == "lstm":
        return w
    h, x = layer.recurrent_kernel.shape[0], layer.kernel.shape[0]
    n_x, n_h = w[2 * h :].copy(), w[2 * h :].copy()
    n_x[:, x:] = 0
    n_h[:, :x] = 0
    return np.concatenate([w[: 2 * h], n_x, n_h], axis=0)


def layer_bias(layer: LayerWeights, cell: str = "lstm") -> np.ndarray:
    """The 4H row biases: LSTM's own; GRU z, r: b_i + b_r (exact), n_x: b_in, n_h: b_hn."""
    if cell == "lstm":
        return layer.bias
    h = layer.recurrent_kernel.shape[0]
    b_in, b_rec = layer.bias
    return np.concatenate([b_in[: 2 * h] + b_rec[: 2 * h], b_in[2 * h :], b_rec[2 * h :]])


def _check_shapes(model: EngineModel) -> None:
    if not 1 <= len(model.layers) <= MAX_LAYERS:
        raise CodesignError(
            f"model.units: {list(model.units)}: the engine runs 1 to {MAX_LAYERS} LSTM layers"
        )
    inputs = model.inputs
    keras_gates = GATES if model.cell == "lstm" else 3
    for i, layer in enumerate(model.layers):
        h = layer.units
        expect = {
            "kernel": (inputs, keras_gates * h),
            "recurrent_kernel": (h, keras_gates * h),
            "bias": (GATES * h,) if model.cell == "lstm" else (2, 3 * h),
        }
        for name, shape in expect.items():
            got = tuple(getattr(layer, name).shape)
            if got != shape:
                raise CodesignError(f"layer {i} {name}: shape {got}, expected {shape}")
        inputs = h
    if tuple(model.dense_kernel.shape[:1]) != (inputs,) or model.dense_kernel.ndim != 2:
        raise CodesignError(
            f"dense_kernel: shape {tuple(model.dense_kernel.shape)}, expected ({inputs}, classes)"
        )
    if tuple(model.dense_bias.shape) != (model.classes,):
        raise CodesignError(f"dense_bias: shape {tuple(model.dense_bias.shape)}, expected ({model.classes},)")


def encode(model: EngineModel, config: EngineConfig) -> EngineImage:
    """Deal every matrix to the PEs as CSC words; derive the accumulator; build the tables."""
    config.validate()
    _check_shapes(model)
    check_engine_type("cell", model.cell_type)
    check_engine_type("input", model.input_type)
    wt = weight_type(config.weight_width, model.weight_frac)
    option = f"--weight-width {config.weight_width} at fraction {model.weight_frac}"
    raw_mats, raw_bias, names, mat_units = [], [], [], []
    for i, layer in enumerate(model.layers):
        raw_mats.append(
            _exact_raw(gate_matrix(layer, model.cell), wt, f"layer {i} weights", option + " cannot hold it")
        )
        raw_bias.append(
            _exact_raw(
                layer_bias(layer, model.cell), model.bias_type, f"layer {i} bias", "bias type cannot hold it"
            )
        )
        names.append(f"layer{i}")
        mat_units.append(layer.units)
    raw_mats.append(_exact_raw(model.dense_kernel.T, wt, "dense_kernel", option + " cannot hold it"))
    raw_bias.append(_exact_raw(model.dense_bias, model.bias_type, "dense_bias", "bias type cannot hold it"))
    names.append("head")
    mat_units.append(0)

    max_terms = max(int(np.count_nonzero(m, axis=1).max(initial=0)) for m in raw_mats)
    types = derive_types(
        model.activation, model.recurrent_activation, model.input_type, model.cell_type, wt, model.bias_type,
        max_terms, model.cell,
    )  # fmt: skip

    n = config.num_pe
    pe_weight: list[list[int]] = [[] for _ in range(n)]
    pe_rel: list[list[int]] = [[] for _ in range(n)]
    matrices = []
    colptr_base = bias_base = 0
    for name, w_raw, b_raw, units in zip(names, raw_mats, raw_bias, mat_units, strict=True):
        rows, cols = w_raw.shape
        pes, _ = row_placement(rows, n, units)
        colptr = np.zeros((n, cols + 1), np.int64)
        nnz = np.zeros(n, np.int64)
        words = np.zeros(n, np.int64)
        for k in range(n):
            try:
                weights, rels, ptr = csc_for_pe(
                    w_raw, k, n, config.max_rel, config.index_overflow == "pad", units
                )
            except IndexOverflow as e:
                raise CodesignError(
                    f"--index-overflow error: {name}, PE {k}, {e}: more than --index-width "
                    f"{config.index_width} can skip ({config.max_rel}); use a wider index or padding"
                ) from None
            colptr[k] = np.asarray(ptr, np.int64) + len(pe_weight[k])
            pe_weight[k].extend(weights)
            pe_rel[k].extend(rels)
            nnz[k] = int(np.count_nonzero(w_raw[pes == k]))
            words[k] = len(weights)
        matrices.append(
            MatrixImage(name, rows, cols, colptr, colptr_base, b_raw, bias_base, nnz, words, units)
        )
        colptr_base += cols + 1
        bias_base += local_row_count(rows, n, units)

    depth = max((len(w) for w in pe_weight), default=0)
    if config.max_depth is not None and depth > config.max_depth:
        worst = int(np.argmax([len(w) for w in pe_weight]))
        raise CodesignError(
            f"--max-depth {config.max_depth}: PE {worst} needs {depth} weight words "
            f"({model.name}, {n} PEs); use more PEs, a sparser model or a deeper memory"
        )
    sig, tanh, sig_step, tanh_step = activation_tables(model.activation, model.recurrent_activation, types)
    return EngineImage(
        name=model.name,
        config=config,
        types=types,
        inputs=model.inputs,
        units=model.units,
        classes=model.classes,
        matrices=tuple(matrices),
        pe_weight=tuple(np.asarray(w, np.int64) for w in pe_weight),
        pe_rel=tuple(np.asarray(r, np.int64) for r in pe_rel),
        sigmoid_table=sig,
        tanh_table=tanh,
        sigmoid_step=sig_step,
        tanh_step=tanh_step,
        activation=model.activation.function,
        recurrent_activation=model.recurrent_activation.function,
        cell=model.cell,
        delta=None if model.delta is None else delta_thresholds(model.delta, types),
    )


def delta_thresholds(lsbs: tuple[int, int], types: EngineTypes) -> tuple[int, int]:
    """A delta model's thresholds (LSBs of the input and of the cell type) in act raw: exact, since act
    is at least as fine as both."""
    return lsbs[0] << (types.act.frac - types.input.frac), lsbs[1] << (types.act.frac - types.cell.frac)


# --- decoding (what the PEs do with the words) ------------------------------------------------------


def decode_matrix(image: EngineImage, index: int) -> np.ndarray:
    """Walk every PE's CSC words of matrix `index` and rebuild the raw dense matrix (rows x cols)."""
    m = image.matrices[index]
    n = image.num_pe
    out = np.zeros((m.rows, m.cols), np.int64)
    pes, local_of = m.placement()
    row_of = {(int(p), int(lr)): r for r, (p, lr) in enumerate(zip(pes, local_of, strict=True))}
    for k in range(n):
        weights, rels = image.pe_weight[k], image.pe_rel[k]
        for j in range(m.cols):
            next_row = 0
            for a in range(int(m.colptr[k, j]), int(m.colptr[k, j + 1])):
                local = next_row + int(rels[a])
                if weights[a] != 0:
                    if (k, local) not in row_of:
                        raise ValueError(f"{m.name}: PE {k} word {a} addresses local row {local}, no row")
                    out[row_of[(k, local)], j] = weights[a]
                next_row = local + 1
    return out


# --- files ------------------------------------------------------------------------------------------


def column_flags(ptrs: np.ndarray) -> np.ndarray:
    """The PEs' column flags at each pointer address a, {two, single, nonempty} of the column
    [ptr[a], ptr[a + 1]) (3 bits; 0 at the last address, which begins no column): the PE reads them with the
    pointer at a column's begin address, so its P stage has no compare after the read."""
    p = np.asarray(ptrs, np.int64).ravel()
    words = np.append(np.diff(p), 0)
    nonempty, single, two = (words != 0), (words == 1), (words == 2)
    return nonempty.astype(np.int64) | (single.astype(np.int64) << 1) | (two.astype(np.int64) << 2)


def _hex_lines(values: np.ndarray, width: int) -> str:
    digits = max(1, -(-width // 4))
    mask = (1 << width) - 1
    return "".join(f"{int(v) & mask:0{digits}x}\n" for v in np.asarray(values).ravel())


def _type_dict(t: FixedType) -> dict:
    return {"cpp": t.cpp(), "width": t.width, "frac": t.frac, "rounding": t.rounding, "overflow": t.overflow}


def image_params(image: EngineImage) -> dict:
    """params.json: every width, size and base address the RTL and the golden model need."""
    c, t = image.config, image.types
    depth = image.depth
    return {
        "format": FORMAT_VERSION,
        "name": image.name,
        "cell": image.cell,
        "delta": None
        if image.delta is None
        else {"threshold_x": image.delta[0], "threshold_h": image.delta[1]},
        "num_pe": c.num_pe,
        "weight_width": c.weight_width,
        "index_width": c.index_width,
        "word_width": c.weight_width + c.index_width,
        "weight_depth": depth,
        "ptr_width": max(1, depth.bit_length()),
        "colptr_depth": sum(m.cols + 1 for m in image.matrices),
        "bias_depth": image.bias_depth,
        "bias_shift": t.bias_shift,
        "table_depth": 1 << t.table_in.width,
        "table_width": t.table_width,
        "bound_frac": t.bound_frac,
        "sigmoid_step": image.sigmoid_step,
        "tanh_step": image.tanh_step,
        "max_depth": c.max_depth,
        "inputs": image.inputs,
        "units": list(image.units),
        "classes": image.classes,
        "activation": image.activation,
        "recurrent_activation": image.recurrent_activation,
        "types": {name: _type_dict(ft) for name, ft in t.fixed_types().items()},
        "matrices": [
            {
                "name": m.name,
                "rows": m.rows,
                "cols": m.cols,
                "local_rows": m.local_rows,
                "units": m.units,
                "colptr_base": m.colptr_base,
                "bias_base": m.bias_base,
                "nnz_per_pe": m.nnz_per_pe.tolist(),
                "words_per_pe": m.words_per_pe.tolist(),
            }
            for m in image.matrices
        ],
        "files": {
            "weights": [f"pe{k}_weights.memh" for k in range(c.num_pe)],
            "colptr": [f"pe{k}_colptr.memh" for k in range(c.num_pe)],
            "colflags": [f"pe{k}_colflags.memh" for k in range(c.num_pe)],
            "bias": [f"pe{k}_bias.memh" for k in range(c.num_pe)],
            "sigmoid": "sigmoid.memh",
            "tanh": "tanh.memh",
        },
    }


ROUND_CODE = {"AP_TRN": 0, "AP_RND": 1, "AP_RND_CONV": 2}
CAST_TARGETS = ("table_in", "cell", "input")  # the types the RTL (or the host) rounds and saturates into


def svh_text(params: dict) -> str:
    """engine_params.svh: the same numbers as SystemVerilog localparams (include inside a module)."""
    lines = [
        f"// Generated by codesign.engine for {params['name']}: do not edit.",
        "// Include inside a module or package. *_ROUND: 0 = AP_TRN, 1 = AP_RND, 2 = AP_RND_CONV;",
        "// all casts saturate.",
    ]

    def lp(name: str, value: int) -> None:
        lines.append(f"localparam int {name} = {int(value)};")

    for key in (
        "num_pe",
        "weight_width",
        "index_width",
        "word_width",
        "weight_depth",
        "ptr_width",
        "colptr_depth",
        "bias_depth",
        "bias_shift",
        "table_depth",
        "table_width",
        "bound_frac",
        "sigmoid_step",
        "tanh_step",
        "inputs",
        "classes",
    ):
        lp(key.upper(), params[key])
    lp("NUM_LAYERS", len(params["units"]))
    for i, u in enumerate(params["units"]):
        lp(f"UNITS_{i}", u)
    lp("MAX_UNITS", max(params["units"]))
    for name, t in params["types"].items():
        if name != "weight":  # WEIGHT_WIDTH is the build parameter above
            lp(f"{name.upper()}_WIDTH", t["width"])
        lp(f"{name.upper()}_FRAC", t["frac"])
        if name in CAST_TARGETS:
            lp(f"{name.upper()}_ROUND", ROUND_CODE[t["rounding"]])
    for m in params["matrices"]:
        p = m["name"].upper()
        for key in ("rows", "cols", "local_rows", "colptr_base", "bias_base"):
            lp(f"{p}_{key.upper()}", m[key])
    return "\n".join(lines) + "\n"


def write_image(image: EngineImage, folder: Path) -> dict:
    """Write the memory images, params.json and engine_params.svh into `folder`; return the params."""
    folder = Path(folder)
    params = image_params(image)
    c, t = image.config, image.types
    depth = params["weight_depth"]
    for k in range(c.num_pe):
        words = np.zeros(depth, np.uint64)
        words[: len(image.pe_weight[k])] = image.pe_words(k)  # tail filled with zero words, never read
        (folder / f"pe{k}_weights.memh").write_text(_hex_lines(words, params["word_width"]))
        ptrs = np.concatenate([m.colptr[k] for m in image.matrices])
        (folder / f"pe{k}_colptr.memh").write_text(_hex_lines(ptrs, params["ptr_width"]))
        (folder / f"pe{k}_colflags.memh").write_text(_hex_lines(column_flags(ptrs), 3))
    for k in range(c.num_pe):
        (folder / f"pe{k}_bias.memh").write_text(_hex_lines(image.pe_bias(k), t.bias.width))
    (folder / "sigmoid.memh").write_text(_hex_lines(image.sigmoid_table, t.table_width))
    (folder / "tanh.memh").write_text(_hex_lines(image.tanh_table, t.table_width))
    (folder / "params.json").write_text(json.dumps(params, indent=2) + "\n")
    (folder / "engine_params.svh").write_text(svh_text(params))
    return params


def _read_hex(path: Path, width: int, signed: bool) -> np.ndarray:
    values = np.array([int(line, 16) for line in path.read_text().split()], dtype=np.int64)
    if signed:
        sign = 1 << (width - 1)
        values = (values ^ sign) - sign
    return values


def _parse_type(d: dict) -> FixedType:
    return FixedType.parse(d["cpp"])


def load_image(folder: Path) -> EngineImage:
    """Read an image folder written by `write_image` (only the files the RTL loads, plus params)."""
    folder = Path(folder)
    path = folder / "params.json"
    if not path.is_file():
        raise CodesignError(f"{path}: no engine image here (run codesign rtl)")
    params = json.loads(path.read_text())
    cell = params.get("cell", "lstm")
    types = EngineTypes(**{name: _parse_type(d) for name, d in params["types"].items()}, cell_kind=cell)
    config = EngineConfig(
        num_pe=params["num_pe"],
        weight_width=params["weight_width"],
        index_width=params["index_width"],
        max_depth=params["max_depth"],
    )
    ww, iw = params["weight_width"], params["index_width"]
    n = params["num_pe"]
    colptrs = [_read_hex(folder / f"pe{k}_colptr.memh", params["ptr_width"], False) for k in range(n)]
    ends = [max((int(c.max()) if c.size else 0), 0) for c in colptrs]
    pe_weight, pe_rel = [], []
    for k in range(n):
        words = _read_hex(folder / f"pe{k}_weights.memh", ww + iw, False)[: ends[k]]
        pe_rel.append(words & ((1 << iw) - 1))
        w = words >> iw
        sign = 1 << (ww - 1)
        pe_weight.append((w ^ sign) - sign)
    pe_bias = [_read_hex(folder / f"pe{k}_bias.memh", types.bias.width, True) for k in range(n)]
    matrices = []
    for m in params["matrices"]:
        base = m["colptr_base"]
        colptr = np.stack([c[base : base + m["cols"] + 1] for c in colptrs])
        pes, local = row_placement(m["rows"], n, m["units"])
        bias = np.array([pe_bias[int(p)][m["bias_base"] + int(lr)] for p, lr in zip(pes, local, strict=True)])
        matrices.append(
            MatrixImage(
                m["name"],
                m["rows"],
                m["cols"],
                colptr,
                base,
                bias.astype(np.int64),
                m["bias_base"],
                np.asarray(m["nnz_per_pe"], np.int64),
                np.asarray(m["words_per_pe"], np.int64),
                m["units"],
            )
        )
    return EngineImage(
        name=params["name"],
        config=config,
        types=types,
        inputs=params["inputs"],
        units=tuple(params["units"]),
        classes=params["classes"],
        matrices=tuple(matrices),
        pe_weight=tuple(pe_weight),
        pe_rel=tuple(pe_rel),
        sigmoid_table=_read_hex(folder / "sigmoid.memh", types.table_width, False),
        tanh_table=_read_hex(folder / "tanh.memh", types.table_width, False),
        sigmoid_step=params["sigmoid_step"],
        tanh_step=params["tanh_step"],
        activation=params["activation"],
        recurrent_activation=params["recurrent_activation"],
        cell=cell,
        delta=None
        if params.get("delta") is None
        else (params["delta"]["threshold_x"], params["delta"]["threshold_h"]),
    )
