"""Cycle model of the engine (docs/engine.md "Dataflow and timing"), from the images and the actual
activations of a golden run. It predicts the RTL's counters (rtl/sparse_lstm_engine.sv) cycle for cycle.

The RTL's structure, which the defaults of `CycleParams` restate:
- Per layer and step the non-zero activations are broadcast from (value, column) lists built while x_t
  and h_t are written: a zero activation costs nothing. Each PE's column queue is deep enough that it
  never waits for another PE, drops a column it stores no word for at no cost, and issues one stored
  word (real or padding) per cycle with no bubble between columns. So the busiest PE's words in the
  non-zero columns set the phase; `empty_column_cycles` stays 0.
- Around those words: `fill` cycles before the first word issues (0 for layer 0, whose entries are
  queued while the frame arrives; `fill_late` = 2 for layer 1 and the head: broadcast register, then
  column-pointer read) and `drain` = 3 after the last one (M1 weight word out of the block RAM into flops,
  M2 decode and multiply, A1 accumulator read; its A2 accumulation overlaps the element-wise phase's first
  cycle, which only computes row addresses).
- The element-wise unit then walks the layer's 4H rows, one per cycle, plus `eltwise_latency` = 15:
  the accumulator read pipeline after the last row (R1 PE registers, R2 PE select, R3 z = acc + bias),
  the unit's 10 cycles (table address, gate table, table flops, level and products, sum, c_t and tanh's
  address, tanh(c_t) table, its flop, o * base and compare, h_t and q_state(h_t)) and the completion
  count (2).
- The head runs once per sequence on h_T: fill_late + words + drain, then six cycles per logit
  (row issue, R1..R3, result register, send) when the output is not stalled.
- `step_overhead` / `head_overhead`: further fixed cycles, 0 for this RTL (kept for other engines).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from codesign.engine.encoder import EngineImage
from codesign.engine.golden import GoldenTrace


@dataclass(frozen=True)
class CycleParams:
    fill: int = 0  # layer 0: phase start -> first word (its queues are filled while the frame arrives)
    fill_late: int = 2  # layer >= 1 and head: broadcast register + column-pointer read before a word
    drain: int = 3  # after the last word: M1, M2, A1 (its A2 overlaps the element-wise phase's R0)
    eltwise_rows_per_cycle: int = 1  # element-wise unit throughput (rows i, f, g, o of each unit)
    eltwise_latency: int = 16  # after the last row: read pipeline 3 + element-wise unit 10 + list write 2 + completion 1
    logit_cycles: int = 6  # per class: row issue, R1..R3, result register, send (no back-pressure)
    step_overhead: int = 0  # further fixed cycles per layer step
    head_overhead: int = 0  # further fixed cycles of the head phase
    empty_column_cycles: int = 0  # cycles a PE spends on a non-zero column it stores nothing for


@dataclass(frozen=True)
class CycleReport:
    num_pe: int
    params: dict
    cycles_per_step: float  # mean over sequences and steps, all layers: matrix + element-wise phases
    matrix_cycles_per_step: float  # matrix phases only (fill + busiest PE's words + drain), all layers
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


def broadcast_order(image: EngineImage, index: int) -> np.ndarray:
    """Columns in the order the RTL broadcasts them: the h_{t-1} list of the layer, then x_t (layer 0)
    or h_t of the layer below (layer 1); the head walks h_T."""
    m = image.matrices[index]
    cols = m.colptr.shape[1] - 1
    if index >= len(image.units):
        return np.arange(cols)
    lower = cols - image.units[index]  # columns of x_t (layer 0) or of h_t^0 (layer 1)
    return np.concatenate([np.arange(lower, cols), np.arange(lower)])


def _phase(image: EngineImage, index: int, v: np.ndarray, params: CycleParams, fill: int):
    """Matrix phase over vectors v (..., cols): (cycles, useful MACs, busy cycles per PE).

    Each PE issues its words of the non-zero columns back to back; in a phase that is not prefetched
    (fill > 0) entry e reaches the PEs e cycles after the first could issue, so a PE may wait for it,
    and the phase lasts at least until the last entry has passed (one per cycle). A phase with no
    non-zero activation ends after `drain` cycles."""
    words, nonzeros = column_counts(image, index)
    active = (v != 0).astype(np.int64)
    busy = active @ words.T  # (..., num_pe)
    if params.empty_column_cycles:
        busy = busy + params.empty_column_cycles * (active @ (words == 0).T.astype(np.int64))
    useful = (active @ nonzeros.T).sum(axis=-1)
    if not fill:
        span = busy.max(axis=-1)
    else:
        t = np.zeros(busy.shape, np.int64)  # per PE: cycle after its last issued word
        entries = np.zeros(busy.shape[:-1], np.int64)
        for j in broadcast_order(image, index):
            a = active[..., j].astype(bool)
            w = words[:, j] + (params.empty_column_cycles if params.empty_column_cycles else 0) * (
                words[:, j] == 0
            )
            start = np.maximum(t, entries[..., None])
            t = np.where(a[..., None] & (w > 0), start + w, t)
            entries += a
        span = np.maximum(t.max(axis=-1), entries)
    n_entries = active.sum(axis=-1)
    cycles = np.where(n_entries == 0, params.drain, fill + span + params.drain)
    return cycles, useful, busy


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
        # the recurrence broadcasts q_state(h_{t-1}); the layer above and the head the exact h_t
        h_prev = np.concatenate([np.zeros((n, 1, units), np.int64), trace.h_state[li][:, :-1]], axis=1)
        v = np.concatenate([seq, h_prev], axis=2)
        cycles, useful, busy = _phase(image, li, v, params, params.fill if li == 0 else params.fill_late)
        local_units = -(-units // image.num_pe)  # every PE finishes its own units, in lockstep
        eltwise = -(-4 * local_units // params.eltwise_rows_per_cycle) + params.eltwise_latency
        step_cycles += cycles + eltwise + params.step_overhead
        matrix_total += int(cycles.sum())
        useful_total += int(useful.sum())
        busy_total += busy.reshape(-1, image.num_pe).sum(axis=0)
        seq = trace.h[li]
    head_cycles, head_useful, _ = _phase(image, len(image.matrices) - 1, seq[:, -1], params, params.fill_late)
    head_extra = params.logit_cycles * image.classes + params.head_overhead
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
        head_cycles=float(head_cycles.mean() + head_extra),
        cycles_per_sequence=float(step_cycles.sum(axis=1).mean() + head_cycles.mean() + head_extra),
        steps=steps,
        sequences=n,
    )
