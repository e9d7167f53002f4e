"""Cycle model of the engine (docs/engine.md "Dataflow and timing"), from the images and the actual
activations of a golden run.

Assumptions (each one a parameter or stated here, so the RTL's counters can be compared):
- Per layer and step, the vector [x_t; h_{t-1}] is broadcast column by column; a zero activation is
  skipped at no cost. Each PE has a FIFO deep enough that it never waits for another PE within the
  matrix phase, and consumes one stored word (real or padding) per cycle.
- So a layer's matrix phase costs max over PEs of the words in the non-zero columns, plus
  `empty_column_cycles` for every non-zero column a PE stores no word for (0 if the RTL pops such
  columns for free).
- Layers run one after the other on the same PEs; each layer step adds `step_overhead` cycles (the
  element-wise unit and pipeline drain), a number to set after measuring the RTL.
- The head runs once per sequence on h_T: its matrix phase plus `head_overhead`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from codesign.engine.encoder import EngineImage
from codesign.engine.golden import GoldenTrace


@dataclass(frozen=True)
class CycleParams:
    step_overhead: int = 0  # fixed cycles per layer step outside the matrix phase (measure on the RTL)
    head_overhead: int = 0  # fixed cycles of the head phase outside its matrix phase
    empty_column_cycles: int = 0  # cycles a PE spends on a non-zero column it stores nothing for


@dataclass(frozen=True)
class CycleReport:
    num_pe: int
    params: dict
    cycles_per_step: float  # mean over sequences and steps, all layers, incl. step_overhead
    matrix_cycles_per_step: float  # the same without the overhead
    ideal_cycles_per_step: float  # useful MACs per step / NumPe (zero activations skipped)
    dense_activation_ideal_cycles_per_step: float  # non-zero weights of the layer matrices / NumPe
    pe_utilization: float  # useful MACs / (NumPe x matrix-phase cycles) over the layer steps
    head_pe_utilization: float  # the same for the head phase
    busy_cycles_per_pe_per_step: list[float]  # mean words each PE consumes per step (its busy cycles)
    head_cycles: float  # mean per sequence, incl. head_overhead
    cycles_per_sequence: float  # mean: every step plus the head
    steps: int
    sequences: int

    def as_dict(self) -> dict:
        return asdict(self)


def column_counts(image: EngineImage, index: int) -> tuple[np.ndarray, np.ndarray]:
    """(words, nonzeros) per PE per column of matrix `index`, each (num_pe, cols)."""
    m = image.matrices[index]
    words = np.diff(m.colptr, axis=1)
    nonzeros = np.zeros_like(words)
    for k in range(image.num_pe):
        real = (image.pe_weight[k] != 0).astype(np.int64)
        csum = np.concatenate([[0], np.cumsum(real)])
        nonzeros[k] = csum[m.colptr[k, 1:]] - csum[m.colptr[k, :-1]]
    return words, nonzeros


def _phase(image: EngineImage, index: int, v: np.ndarray, params: CycleParams):
    """Matrix phase over vectors v (..., cols): (cycles, useful MACs, busy cycles per PE)."""
    words, nonzeros = column_counts(image, index)
    active = (v != 0).astype(np.int64)
    busy = active @ words.T  # (..., num_pe)
    if params.empty_column_cycles:
        busy = busy + params.empty_column_cycles * (active @ (words == 0).T.astype(np.int64))
    useful = (active @ nonzeros.T).sum(axis=-1)
    return busy.max(axis=-1), useful, busy


def predict_cycles(image: EngineImage, trace: GoldenTrace, params: CycleParams | None = None) -> CycleReport:
    """Cycles per step for the sequences of a golden trace, from the images and its activations."""
    params = params or CycleParams()
    n, steps = trace.x.shape[:2]
    step_cycles = np.zeros((n, steps), np.int64)
    useful_total = 0
    matrix_total = 0
    busy_total = np.zeros(image.num_pe, np.int64)
    seq = trace.x
    for li, units in enumerate(image.units):
        h_prev = np.concatenate([np.zeros((n, 1, units), np.int64), trace.h[li][:, :-1]], axis=1)
        v = np.concatenate([seq, h_prev], axis=2)
        cycles, useful, busy = _phase(image, li, v, params)
        step_cycles += cycles + params.step_overhead
        matrix_total += int(cycles.sum())
        useful_total += int(useful.sum())
        busy_total += busy.reshape(-1, image.num_pe).sum(axis=0)
        seq = trace.h[li]
    head_cycles, head_useful, _ = _phase(image, len(image.matrices) - 1, seq[:, -1], params)
    nnz = sum(int(m.nnz_per_pe.sum()) for m in image.layers)
    total_steps = n * steps
    head_total = int(head_cycles.sum())
    return CycleReport(
        num_pe=image.num_pe,
        params=asdict(params),
        cycles_per_step=float(step_cycles.mean()),
        matrix_cycles_per_step=matrix_total / total_steps,
        ideal_cycles_per_step=useful_total / image.num_pe / total_steps,
        dense_activation_ideal_cycles_per_step=nnz / image.num_pe,
        pe_utilization=useful_total / (image.num_pe * matrix_total) if matrix_total else 0.0,
        head_pe_utilization=int(head_useful.sum()) / (image.num_pe * head_total) if head_total else 0.0,
        busy_cycles_per_pe_per_step=(busy_total / total_steps).tolist(),
        head_cycles=float(head_cycles.mean() + params.head_overhead),
        cycles_per_sequence=float(step_cycles.sum(axis=1).mean() + head_cycles.mean() + params.head_overhead),
        steps=steps,
        sequences=n,
    )
