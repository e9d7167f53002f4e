"""The typed model spec, read once from `models/<name>/spec.yml` and shared by every stage.

Every validation error names the file, the dotted field and the offending value, and is raised as a
`CodesignError` so the CLI prints it as one line.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from codesign.errors import CodesignError
from codesign.fields import FieldReader

CELLS = ("lstm", "gru", "simple_rnn")
STATE_ACTIVATIONS = ("tanh", "hard_tanh")
GATE_ACTIVATIONS = ("sigmoid", "hard_sigmoid")
OPTIMIZERS = ("adam", "sgd")
COMPRESSION_METHODS = ("magnitude", "balanced", "block", "circulant")


@dataclass(frozen=True)
class Precision:
    """A QKeras `quantized_bits(bits, integer, alpha=1)`: `integer` excludes the sign bit.

    In hardware terms that is ap_fixed<bits, integer + 1, AP_RND_CONV, AP_SAT>: QKeras rounds with
    tf.round (half to even) and clips to the representable range.
    """

    bits: int
    integer: int

    def qkeras(self) -> str:
        return f"quantized_bits({self.bits},{self.integer},alpha=1)"

    def fixed_type(self):
        from codesign.fixed import FixedType

        return FixedType(self.bits, self.integer + 1, True, "AP_RND_CONV", "AP_SAT")

    @property
    def max_value(self) -> float:
        return 2.0**self.integer - 2.0 ** (self.integer - self.bits + 1)

    @property
    def min_value(self) -> float:
        return -(2.0**self.integer)

    @property
    def lsb(self) -> float:
        return 2.0 ** (self.integer - self.bits + 1)


DEFAULT_INPUT = Precision(16, 5)


@dataclass(frozen=True)
class Activation:
    """A state (tanh-like) or gate (sigmoid-like) activation, optionally quantized to `bits`.

    `hard_sigmoid` is QKeras' clip(0.5 x + 0.5, 0, 1) (a shift and a clamp in hardware) and
    `hard_tanh` is 2 hard_sigmoid(x) - 1 = clip(x, -1, 1); Keras' own slope-0.2 hard_sigmoid is not used.
    """

    function: str
    bits: int | None = None


@dataclass(frozen=True)
class ModelSpec:
    cell: str
    units: tuple[int, ...]
    activation: Activation = Activation("tanh")
    recurrent_activation: Activation = Activation("hard_sigmoid")
    reset_after: bool = True  # GRU only; Keras' default (and cuDNN's) gate placement


@dataclass(frozen=True)
class PrecisionSpec:
    kernel: Precision
    recurrent_kernel: Precision
    bias: Precision
    dense_kernel: Precision
    dense_bias: Precision
    state: Precision | None = None  # QKeras state_quantizer on h and c; None keeps them float
    # The input frames x_t: a QKeras quantized_bits input quantizer, so x_t is one number in QKeras,
    # HLS and the engine. The default is ap_fixed<16,6>, the input type HLS and the engine used before.
    input: Precision = DEFAULT_INPUT


@dataclass(frozen=True)
class TrainingSpec:
    optimizer: str = "adam"
    learning_rate: float = 0.005
    batch_size: int = 32
    epochs: int = 120  # float pre-training, an upper bound: early stopping ends it
    qat_epochs: int = 60  # quantization-aware fine-tuning from the float weights, also early-stopped
    qat_learning_rate: float = 0.002  # fine-tuning starts from a trained model: smaller steps
    patience: int = 15
    clipnorm: float = 1.0
    validation_fraction: float = 0.15
    seed: int = 1


@dataclass(frozen=True)
class CompressionSpec:
    """How a model was derived from its base model; written by `codesign compress`."""

    method: str  # magnitude (unstructured) | balanced (ESE: equal non-zeros per PE) | block | circulant
    sparsity: float = 0.0  # fraction of zero weights in the recurrent layers' kernels
    num_pe: int | None = None  # balanced: rows are dealt to PEs as the engine does (row r -> PE r mod num_pe)
    block: tuple[int, int] | None = None  # block: (rows, cols) of a pruning block; circulant: (b, b)
    base: str | None = None  # the model folder it was compressed from


@dataclass(frozen=True)
class DeltaSpec:
    """Delta network (Neil et al. 2017): an entry of a layer's input or of h is broadcast only when it
    changed by more than its threshold since it was last broadcast; the pre-activations are kept in a
    memory, so a skipped entry costs nothing. Thresholds count LSBs, so they are exact in every
    implementation: `threshold_x` of precision.input (layer 0's x_t), `threshold_h` of precision.state
    (every h a layer reads: q_state(h_{t-1}) and the layer below's h_t). 0 and 0 compute the plain network.
    """

    threshold_x: int
    threshold_h: int
    base: str | None = None  # the model folder it was fine-tuned from


@dataclass(frozen=True)
class Spec:
    name: str
    dataset: str
    model: ModelSpec
    precision: PrecisionSpec
    training: TrainingSpec = field(default_factory=TrainingSpec)
    compression: CompressionSpec | None = None
    delta: DeltaSpec | None = None
    path: Path | None = None  # the spec.yml it came from

    @property
    def folder(self) -> Path:
        """The model folder: weights and metrics live beside spec.yml."""
        if self.path is None:
            raise CodesignError(f"spec {self.name!r} has no file, so it has no model folder")
        return self.path.parent


def _precision(r: FieldReader, value: Any, where: str) -> Precision:
    m = r.mapping(value, where, {"bits", "integer"}, {"bits", "integer"})
    bits = r.integer(m["bits"], f"{where}.bits", 2, 32)
    integer = m["integer"]
    if isinstance(integer, int) and not isinstance(integer, bool) and integer > bits - 1:
        raise r.fail(
            f"{where}.integer", f"{integer} integer bits do not fit in {bits} bits (one is the sign)"
        )
    integer = r.integer(integer, f"{where}.integer", 0, bits - 1)
    return Precision(bits, integer)


def _activation(r: FieldReader, value: Any, where: str, functions: tuple[str, ...]) -> Activation:
    if isinstance(value, str):
        value = {"function": value}
    m = r.mapping(value, where, {"function", "bits"}, {"function"})
    function = r.choice(m["function"], f"{where}.function", functions)
    bits = m.get("bits")
    if bits is not None:
        bits = r.integer(bits, f"{where}.bits", 2, 16)
    return Activation(function, bits)


def parse_spec(data: Any, source: str = "<spec>", path: Path | None = None) -> Spec:
    """Validate a mapping (as loaded from YAML) into a Spec; errors name `source` and the field."""
    from codesign.data import DATASETS

    r = FieldReader(source)
    top = r.mapping(
        data,
        "",
        {"name", "dataset", "model", "precision", "training", "compression", "delta"},
        {"dataset", "model", "precision"},
    )
    default_name = path.parent.name if path is not None else "model"
    name = top.get("name", default_name)
    if not isinstance(name, str) or not name.replace("-", "_").isidentifier():
        raise r.fail("name", f"{name!r} is not a usable model name (letters, digits, _ and -)")
    dataset = r.choice(top["dataset"], "dataset", tuple(DATASETS))

    m = r.mapping(
        top["model"],
        "model",
        {"cell", "units", "activation", "recurrent_activation", "reset_after"},
        {"cell", "units"},
    )
    cell = r.choice(m["cell"], "model.cell", CELLS)
    units = m["units"]
    if isinstance(units, int) and not isinstance(units, bool):
        units = [units]
    if not isinstance(units, list) or not 1 <= len(units) <= 3:
        raise r.fail("model.units", f"expected 1 to 3 layer sizes, got {units!r}")
    units = tuple(r.integer(u, f"model.units[{i}]", 1, 1024) for i, u in enumerate(units))
    model = ModelSpec(
        cell=cell,
        units=units,
        activation=_activation(r, m.get("activation", "tanh"), "model.activation", STATE_ACTIVATIONS),
        recurrent_activation=_activation(
            r, m.get("recurrent_activation", "hard_sigmoid"), "model.recurrent_activation", GATE_ACTIVATIONS
        ),
        reset_after=r.boolean(m.get("reset_after", True), "model.reset_after"),
    )
    if cell == "simple_rnn" and "recurrent_activation" in m:
        raise r.fail("model.recurrent_activation", "a simple_rnn cell has no gates")

    names = [f.name for f in dataclasses.fields(PrecisionSpec)]
    required = {n for n in names if n not in ("state", "input")}
    p = r.mapping(top["precision"], "precision", set(names), required)
    state = p.get("state")
    precision = PrecisionSpec(
        **{n: _precision(r, p[n], f"precision.{n}") for n in sorted(required)},
        state=None if state is None else _precision(r, state, "precision.state"),
        input=_precision(r, p["input"], "precision.input") if "input" in p else DEFAULT_INPUT,
    )

    t = r.mapping(
        top.get("training", {}), "training", {f.name for f in dataclasses.fields(TrainingSpec)}, set()
    )
    d = TrainingSpec()
    training = TrainingSpec(
        optimizer=r.choice(t.get("optimizer", d.optimizer), "training.optimizer", OPTIMIZERS),
        learning_rate=r.number(t.get("learning_rate", d.learning_rate), "training.learning_rate", 1e-6, 1.0),
        batch_size=r.integer(t.get("batch_size", d.batch_size), "training.batch_size", 1, 4096),
        epochs=r.integer(t.get("epochs", d.epochs), "training.epochs", 1, 10000),
        qat_epochs=r.integer(t.get("qat_epochs", d.qat_epochs), "training.qat_epochs", 0, 10000),
        qat_learning_rate=r.number(
            t.get("qat_learning_rate", d.qat_learning_rate), "training.qat_learning_rate", 1e-6, 1.0
        ),
        patience=r.integer(t.get("patience", d.patience), "training.patience", 1, 10000),
        clipnorm=r.number(t.get("clipnorm", d.clipnorm), "training.clipnorm", 1e-6, 1e6),
        validation_fraction=r.number(
            t.get("validation_fraction", d.validation_fraction), "training.validation_fraction", 0.05, 0.5
        ),
        seed=r.integer(t.get("seed", d.seed), "training.seed", 0, 2**31 - 1),
    )
    compression = None if top.get("compression") is None else _compression(r, top["compression"])
    delta = None if top.get("delta") is None else _delta(r, top["delta"], model, precision, compression)
    return Spec(
        name=name,
        dataset=dataset,
        model=model,
        precision=precision,
        training=training,
        compression=compression,
        delta=delta,
        path=path,
    )


def _compression(r: FieldReader, value: Any) -> CompressionSpec:
    m = r.mapping(value, "compression", {"method", "sparsity", "num_pe", "block", "base"}, {"method"})
    method = r.choice(m["method"], "compression.method", COMPRESSION_METHODS)
    sparsity = r.number(m.get("sparsity", 0.0), "compression.sparsity", 0.0, 0.999)
    num_pe = m.get("num_pe")
    if num_pe is not None:
        num_pe = r.integer(num_pe, "compression.num_pe", 1, 256)
    if method == "balanced" and num_pe is None:
        raise r.fail("compression.num_pe", "balanced pruning needs the number of PEs it balances for")
    block = m.get("block")
    if block is not None:
        if not isinstance(block, list) or len(block) != 2:
            raise r.fail("compression.block", f"expected [rows, cols], got {block!r}")
        block = tuple(r.integer(b, f"compression.block[{i}]", 1, 1024) for i, b in enumerate(block))
    if method in ("block", "circulant") and block is None:
        raise r.fail("compression.block", f"{method} compression needs a block shape [rows, cols]")
    base = m.get("base")
    if base is not None and not isinstance(base, str):
        raise r.fail("compression.base", f"expected a model folder name, got {base!r}")
    return CompressionSpec(method=method, sparsity=sparsity, num_pe=num_pe, block=block, base=base)


def _delta(
    r: FieldReader,
    value: Any,
    model: ModelSpec,
    precision: PrecisionSpec,
    compression: CompressionSpec | None,
) -> DeltaSpec:
    m = r.mapping(value, "delta", {"threshold_x", "threshold_h", "base"}, {"threshold_x", "threshold_h"})
    # 2^bits LSBs already spans the type's whole range: a larger threshold would mean nothing more
    threshold_x = r.integer(m["threshold_x"], "delta.threshold_x", 0, 2**precision.input.bits)
    if precision.state is None:
        raise r.fail("delta", "a delta network needs precision.state: threshold_h counts its LSBs")
    threshold_h = r.integer(m["threshold_h"], "delta.threshold_h", 0, 2**precision.state.bits)
    if model.cell not in ("lstm", "gru"):
        raise r.fail("delta", f"delta networks are built for lstm and gru cells, not {model.cell}")
    if model.cell == "gru" and not model.reset_after:
        # (r * h) U multiplies before the matrix: a held h cannot stand in for h there
        raise r.fail("delta", "a delta GRU needs model.reset_after: true (r multiplies W_hn h + b_hn)")
    if compression is not None and compression.method == "circulant":
        raise r.fail("delta", "delta networks are not built for block-circulant layers")
    base = m.get("base")
    if base is not None and not isinstance(base, str):
        raise r.fail("delta.base", f"expected a model folder name, got {base!r}")
    return DeltaSpec(threshold_x, threshold_h, base)


def load_spec(path: str | Path) -> Spec:
    """Read and validate `spec.yml`; a missing file or bad YAML is a CodesignError naming the file."""
    path = Path(path)
    if path.is_dir():
        path = path / "spec.yml"
    if not path.is_file():
        raise CodesignError(f"{path}: no such spec file")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "?"
        raise CodesignError(f"{path}: {where}: malformed YAML ({getattr(exc, 'problem', exc)})") from None
    return parse_spec(data, source=str(path), path=path.resolve())
