"""Compression metrics in the format of Lalapura et al., "Recurrent Neural Networks for Edge
Intelligence: A Survey" (ACM CSUR 2021), Tables 7 to 11.

Each compressed model is judged by the same figures: parameters before / after, model size counting the
storage the hardware really uses, memory savings (x), compute savings (x, multiply-accumulates per
sequence), relative performance (% of the baseline's accuracy) and the E/S flag (E: efficient, accuracy
kept within a tolerance; S: superior, accuracy improved). The baseline is the uncompressed float model:
32 bits per parameter, every weight multiplied.

Storage formats (bits the hardware stores, nothing idealised away):
- dense: bits x parameters;
- the engine's CSC (docs/engine.md): every stored word is WeightWidth + IndexWidth bits, padding words
  included, plus every PE's column-pointer table (cols + 1 entries per matrix, PTR_WIDTH bits each);
  the words are counted with the encoder's own `codesign.engine.csc_for_pe`, so they are the image's;
- block-sparse (block CSR): the non-zero blocks' values, one block-column index per non-zero block and
  one pointer per block row (+1);
- block-circulant: one defining vector (b values) per b x b block, the matrix zero-padded to whole blocks.

Plain numbers and numpy arrays in, plain numbers out; no TensorFlow.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from codesign.errors import CodesignError

FLOAT_BITS = 32  # the float baseline: one float32 per parameter
KB = 1024 * 8  # bits per KB (1 KB = 1024 bytes, as metrics.json's sizes are shown)
DEFAULT_TOLERANCE = 0.01  # E: accuracy within 1 point of the baseline


# --- storage ----------------------------------------------------------------------------------------


def _positive(value: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise CodesignError(f"{what}: expected a positive integer, got {value!r}")
    return int(value)


def dense_storage_bits(params: int, bits: int) -> int:
    """Dense storage: every parameter at `bits`."""
    if params < 0:
        raise CodesignError(f"params: {params} < 0")
    return int(params) * _positive(bits, "bits")


@dataclass(frozen=True)
class CscStorage:
    """The engine's weight memories for a set of matrices sharing the PEs (docs/engine.md)."""

    num_pe: int
    nonzeros: int  # stored non-zero weights
    padding: int  # padding words (weight 0, rel = 2^IndexWidth - 1)
    words: int  # nonzeros + padding, summed over the PEs
    depth: int  # the most words any PE stores (the weight memory depth, at least 1)
    word_bits: int  # WeightWidth + IndexWidth
    pointers: int  # column-pointer entries over all PEs: num_pe x sum(cols + 1)
    pointer_bits: int  # PTR_WIDTH: enough for an absolute address up to `depth`

    @property
    def bits(self) -> int:
        return self.words * self.word_bits + self.pointers * self.pointer_bits

    @property
    def allocated_bits(self) -> int:
        """What the memories hold once every PE's is as deep as the deepest (what BRAM must provide)."""
        return self.num_pe * self.depth * self.word_bits + self.pointers * self.pointer_bits


def _as_matrices(matrices: np.ndarray | Sequence[np.ndarray]) -> list[np.ndarray]:
    if isinstance(matrices, np.ndarray):
        matrices = [matrices]
    out = [np.asarray(m) for m in matrices]
    for m in out:
        if m.ndim != 2:
            raise CodesignError(f"expected 2-D weight matrices, got shape {m.shape}")
    return out


def csc_words_per_pe(matrix: np.ndarray, num_pe: int, index_width: int, units: int = 0) -> np.ndarray:
    """Words (non-zeros + padding) each PE stores for one matrix, counted by the engine encoder's own
    `csc_for_pe` (an LSTM gate matrix of `units` H deals its rows by unit, the head, units 0, row r to
    PE r mod num_pe: `codesign.engine.encoder.row_placement`). Only the zero pattern matters."""
    from codesign.engine.encoder import csc_for_pe

    num_pe = _positive(num_pe, "num_pe")
    max_rel = (1 << _positive(index_width, "index_width")) - 1
    pattern = (_as_matrices(matrix)[0] != 0).astype(np.int64)
    return np.array(
        [len(csc_for_pe(pattern, k, num_pe, max_rel, units=units)[0]) for k in range(num_pe)], np.int64
    )


def csc_storage(
    matrices: np.ndarray | Sequence[np.ndarray],
    num_pe: int,
    weight_width: int,
    index_width: int,
    units: Sequence[int] | None = None,
) -> CscStorage:
    """CSC storage of matrices (rows x cols, engine orientation: W = [W_x W_h], head = W_d^T) stored back
    to back in the same `num_pe` PE memories, as `codesign.engine.encode` lays them out. `units`: each
    matrix's LSTM units (0 for the head; default: 0 for all, rows dealt r mod num_pe)."""
    num_pe = _positive(num_pe, "num_pe")
    weight_width = _positive(weight_width, "weight_width")
    mats = _as_matrices(matrices)
    units = list(units) if units is not None else [0] * len(mats)
    if len(units) != len(mats):
        raise CodesignError(f"units: {len(units)} entries for {len(mats)} matrices")
    per_pe = np.zeros(num_pe, np.int64)
    nonzeros = pointers = 0
    for m, h in zip(mats, units, strict=True):
        per_pe += csc_words_per_pe(m, num_pe, index_width, h)
        nonzeros += int(np.count_nonzero(m))
        pointers += num_pe * (m.shape[1] + 1)
    words = int(per_pe.sum())
    depth = max(1, int(per_pe.max(initial=0)))
    return CscStorage(
        num_pe=num_pe,
        nonzeros=nonzeros,
        padding=words - nonzeros,
        words=words,
        depth=depth,
        word_bits=weight_width + index_width,
        pointers=pointers,
        pointer_bits=max(1, depth.bit_length()),
    )


def csc_storage_of_image(image) -> CscStorage:
    """The same figures read off an encoded `codesign.engine.EngineImage` (all its matrices: layers and
    head), for checking `csc_storage` against the encoder and for models already encoded."""
    words_per_pe = sum(m.words_per_pe for m in image.matrices)
    nonzeros = int(sum(int(m.nnz_per_pe.sum()) for m in image.matrices))
    words = int(words_per_pe.sum())
    c = image.config
    return CscStorage(
        num_pe=image.num_pe,
        nonzeros=nonzeros,
        padding=words - nonzeros,
        words=words,
        depth=image.depth,
        word_bits=c.weight_width + c.index_width,
        pointers=image.num_pe * sum(m.cols + 1 for m in image.matrices),
        pointer_bits=max(1, image.depth.bit_length()),
    )


@dataclass(frozen=True)
class BlockStorage:
    """Block CSR: the non-zero r x c blocks' values, a block-column index each, block-row pointers."""

    block: tuple[int, int]
    nonzero_blocks: int
    block_rows: int
    block_cols: int
    value_bits: int
    index_bits: int  # enough for a block-column number
    pointer_bits: int  # enough for a count of non-zero blocks

    @property
    def values(self) -> int:
        return self.nonzero_blocks * self.block[0] * self.block[1]

    @property
    def bits(self) -> int:
        return (
            self.values * self.value_bits
            + self.nonzero_blocks * self.index_bits
            + (self.block_rows + 1) * self.pointer_bits
        )


def block_sparse_storage(w: np.ndarray, block: tuple[int, int], value_bits: int) -> BlockStorage:
    """Storage of w (rows x cols) as whole r x c blocks; a block with any non-zero is stored whole."""
    w = _as_matrices(w)[0]
    r, c = _positive(block[0], "block rows"), _positive(block[1], "block cols")
    if w.shape[0] % r or w.shape[1] % c:
        raise CodesignError(f"block: {r}x{c} does not divide the {w.shape[0]}x{w.shape[1]} matrix")
    br, bc = w.shape[0] // r, w.shape[1] // c
    nonzero = int(np.count_nonzero((w != 0).reshape(br, r, bc, c).any(axis=(1, 3))))
    return BlockStorage(
        block=(r, c),
        nonzero_blocks=nonzero,
        block_rows=br,
        block_cols=bc,
        value_bits=_positive(value_bits, "value_bits"),
        index_bits=max(1, (bc - 1).bit_length()),
        pointer_bits=max(1, nonzero.bit_length()),
    )


def circulant_blocks(shape: tuple[int, int], block: int) -> int:
    """b x b blocks covering a rows x cols matrix, zero-padded to whole blocks."""
    b = _positive(block, "circulant block")
    return -(-int(shape[0]) // b) * -(-int(shape[1]) // b)


def circulant_storage_bits(shape: tuple[int, int], block: int, value_bits: int) -> int:
    """Block-circulant storage: one defining vector of b values per b x b block (C-LSTM, E-RNN)."""
    return circulant_blocks(shape, block) * block * _positive(value_bits, "value_bits")


# --- compute ----------------------------------------------------------------------------------------


def macs_per_sequence(step_matrices: Sequence[np.ndarray], head: np.ndarray | None, timesteps: int) -> int:
    """Multiply-accumulates of one sequence with zero weights skipped: the recurrent layers' matrices
    every step, the head once. Pass dense (all non-zero) shapes as np.ones for the dense count."""
    timesteps = _positive(timesteps, "timesteps")
    step = sum(int(np.count_nonzero(m)) for m in step_matrices)
    return step * timesteps + (0 if head is None else int(np.count_nonzero(head)))


def dense_macs_per_sequence(
    step_shapes: Sequence[tuple[int, int]], head_shape: tuple[int, int] | None, timesteps: int
) -> int:
    """The dense baseline: every weight of every matrix multiplied."""
    timesteps = _positive(timesteps, "timesteps")
    step = sum(int(r) * int(c) for r, c in step_shapes)
    return step * timesteps + (0 if head_shape is None else int(head_shape[0]) * int(head_shape[1]))


# --- the survey's figures ---------------------------------------------------------------------------


def savings(baseline: float, compressed: float) -> float:
    """baseline / compressed (memory or compute savings, "x")."""
    if compressed <= 0:
        raise CodesignError(f"compressed size {compressed} <= 0: savings undefined")
    return float(baseline) / float(compressed)


def relative_performance(accuracy: float, baseline_accuracy: float) -> float:
    """Accuracy as a percentage of the baseline's (100 = kept exactly)."""
    if baseline_accuracy <= 0:
        raise CodesignError(f"baseline accuracy {baseline_accuracy} <= 0")
    return 100.0 * float(accuracy) / float(baseline_accuracy)


def es_flag(accuracy: float, baseline_accuracy: float, tolerance: float = DEFAULT_TOLERANCE) -> str:
    """'S' superior (accuracy improved), 'E' efficient (lost at most `tolerance`, absolute), else ''."""
    if accuracy > baseline_accuracy:
        return "S"
    if accuracy >= baseline_accuracy - tolerance - 1e-12:  # 1e-12: an exact 1-point loss counts as kept
        return "E"
    return ""


@dataclass(frozen=True)
class SurveyRow:
    model: str
    technique: str
    params_before: int
    params_after: int  # stored weight values (non-zeros, whole blocks, defining vectors)
    size_kb: float  # storage the hardware uses, index overhead included
    memory_savings: float  # float baseline bits / size bits
    compute_savings: float  # dense MACs / MACs with zero weights skipped, per sequence
    accuracy: float
    baseline_accuracy: float
    relative_performance: float  # %
    flag: str  # E | S | ''

    def as_dict(self) -> dict:
        return asdict(self)


def survey_row(
    model: str,
    technique: str,
    *,
    params_before: int,
    params_after: int,
    size_bits: int,
    macs: int,
    dense_macs: int,
    accuracy: float,
    baseline_accuracy: float,
    tolerance: float = DEFAULT_TOLERANCE,
    baseline_bits: int | None = None,
) -> SurveyRow:
    """One row; the baseline size defaults to the float model (32 bits x params_before)."""
    baseline_bits = FLOAT_BITS * params_before if baseline_bits is None else baseline_bits
    return SurveyRow(
        model=model,
        technique=technique,
        params_before=int(params_before),
        params_after=int(params_after),
        size_kb=size_bits / KB,
        memory_savings=savings(baseline_bits, size_bits),
        compute_savings=savings(dense_macs, macs) if macs else float("inf"),
        accuracy=float(accuracy),
        baseline_accuracy=float(baseline_accuracy),
        relative_performance=relative_performance(accuracy, baseline_accuracy),
        flag=es_flag(accuracy, baseline_accuracy, tolerance),
    )


SURVEY_COLUMNS = (
    ("model", "Model"),
    ("technique", "Technique"),
    ("params_before", "Params before"),
    ("params_after", "Params after"),
    ("size_kb", "Size (KB)"),
    ("memory_savings", "Memory savings"),
    ("compute_savings", "Compute savings"),
    ("accuracy", "Accuracy"),
    ("relative_performance", "Rel. perf."),
    ("flag", "E/S"),
)


def _cell(key: str, value) -> str:
    if key in ("memory_savings", "compute_savings"):
        return f"{value:.1f}x"
    if key == "size_kb":
        return f"{value:.2f}"
    if key == "accuracy":
        return f"{value:.4f}"
    if key == "relative_performance":
        return f"{value:.1f}%"
    return str(value)


def survey_table_markdown(rows: Sequence[SurveyRow | dict]) -> str:
    """The rows as a markdown table with the survey's columns."""
    lines = [
        "| " + " | ".join(title for _, title in SURVEY_COLUMNS) + " |",
        "| " + " | ".join("---" for _ in SURVEY_COLUMNS) + " |",
    ]
    for row in rows:
        d = row.as_dict() if isinstance(row, SurveyRow) else row
        lines.append("| " + " | ".join(_cell(k, d[k]) for k, _ in SURVEY_COLUMNS) + " |")
    return "\n".join(lines) + "\n"
