"""Cycle model of the engine (docs/engine.md "Dataflow and timing"), from the images and the actual
activations of a golden run. It predicts the RTL's counters (rtl/sparse_lstm_engine.sv) cycle for cycle.

The RTL's structure, which the defaults of `CycleParams` restate:
- Per layer and step the non-zero activations are broadcast from (value, column) lists built while x_t
  and h_t are written: a zero activation costs nothing. The matrix phase is simulated cycle by cycle
  (`_simulate_phases`, vectorised over every step of every sequence): the broadcast register (an entry
  loaded in cycle c is offered in c + 1 and fires when every PE has room: P + queue < `fifo_depth`), each
  PE's P stage, column queue (a column it stores no word for is dropped, free) and word generator (one
  stored word, real or padding, per cycle, no bubble between columns). Layer 0's broadcaster is armed
  while the frame arrives (back to back: X - 1 cycles before the phase; its state list at once, each
  x_t entry the cycle after its word); layer 1 and the head start broadcasting in the phase's first
  cycle (`fill_late` = 2 cycles before their first word). The phase ends `drain` = 5 cycles (M1, M2, M3, M4,
  A1; A2 overlaps the element-wise phase's first cycle, which only computes row addresses) after the first
  cycle in which the broadcaster is done and every PE is quiet.
- Every PE's element-wise unit then walks its ceil(H / NumPe) units' 4 gate rows, all PEs in lockstep,
  one row per cycle, plus `eltwise_latency` = 15: the accumulator read pipeline after the last row (R1
  accumulators and bias banks, R2 registers, R3 z = acc + bias), the unit's 10 cycles (table address,
  gate table, table flops, level and products, sum, c_t and tanh's address, tanh(c_t) table, its flop,
  o * base and compare, h_t and q_state(h_t)) and the completion count (2; the list writes W1, W2 end by
  then).
- The head runs once per sequence on h_T: a matrix phase as above, then six cycles per logit
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
    fill_late: int = 2  # broadcast register + column-pointer read: an entry loaded in cycle c issues >= c + 2
    fifo_depth: int = 16  # every PE's column queue (FifoDepth): P + queue entries before the broadcast waits
    drain: int = 5  # after the last word: M1..M4 (multiply pipeline), A1 (A2 overlaps the element-wise R0)
    eltwise_rows_per_cycle: int = 1  # element-wise unit throughput (rows i, f, g, o of each unit)
    eltwise_latency: int = 15  # after the last row: read pipeline 3 + element-wise unit 10 + completion 2
    logit_cycles: int = 6  # per class: row issue, R1..R3, result register, send (no back-pressure)
    step_overhead: int = 0  # further fixed cycles per layer step
    head_overhead: int = 0  # further fixed cycles of the head phase


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
    step_efficiency: float = 0.0  # ideal_cycles_per_step / cycles_per_step
    # totals over every step, as the RTL's counters count them (perf_*_o)
    step_cycles_total: int = 0
    matrix_cycles_total: int = 0
    busy_cycles_per_pe: list[int] | None = None
    last_step_cycles: int = 0  # the last step of the last sequence (perf_step_cycles_o)

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


def _entries(image: EngineImage, index: int, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The broadcast entries of phases with activations v (B, cols): (columns (B, E) in broadcast order,
    padded with -1; entry counts (B,))."""
    order = broadcast_order(image, index)
    active = v[:, order] != 0
    counts = active.sum(axis=1)
    e = int(counts.max(initial=0))
    cols = np.full((v.shape[0], max(e, 1)), -1, np.int64)
    rank = np.cumsum(active, axis=1) - 1
    b, j = np.nonzero(active)
    cols[b, rank[b, j]] = order[j]
    return cols, counts


def _simulate_phases(
    words: np.ndarray,
    cols: np.ndarray,
    counts: np.ndarray,
    avail: np.ndarray,
    arm_start: int,
    params: CycleParams,
) -> tuple[np.ndarray, np.ndarray]:
    """The broadcaster and every PE's front end (P, Q, G of rtl/csc_pe.sv), cycle by cycle, for B
    phases at once: (matrix-phase cycles (B,), words issued per PE (B, N)).

    words (N, cols): stored words per PE per column; cols (B, E) the entries' columns in broadcast
    order (-1 padding), counts (B,); avail (B, E): the first cycle entry e may be loaded into the broadcast
    register (phase-relative: cycle 0 is the phase's first, when words may issue). The broadcaster is
    armed from cycle arm_start (< 0: while the frame arrives). Per cycle, as the RTL: an entry loaded in
    cycle c is offered in c + 1 and fires when every PE has room (queue + P < FifoDepth); it is in P in
    the cycle after, when G may take it (bypass) or it joins the queue (dropped if the PE stores no word
    of the column); G issues one word per cycle from cycle 0. The phase ends `drain` cycles after the
    first cycle (>= 0) in which the broadcaster is done and every PE is quiet (P, Q, G empty)."""
    n = words.shape[0]
    b_count, e_max = cols.shape
    fifo = params.fifo_depth
    w = np.where(cols[..., None] >= 0, words.T[np.maximum(cols, 0)], 0)  # (B, E, N)
    w = np.concatenate([w, np.zeros((b_count, 1, n), np.int64)], axis=1)  # sentinel entry E
    live = w > 0
    cumlive = np.concatenate([np.zeros((b_count, 1, n), np.int64), np.cumsum(live, axis=1)], axis=1)
    nxt = np.full((b_count, e_max + 2, n), e_max, np.int64)  # smallest live entry >= e (E: none)
    for e in range(e_max - 1, -1, -1):
        nxt[:, e] = np.where(live[:, e], e, nxt[:, e + 1])
    loaded = np.zeros(b_count, np.int64)
    fired = np.zeros(b_count, np.int64)
    bc_valid = np.zeros(b_count, bool)
    p_valid = np.zeros(b_count, bool)
    ptr = np.zeros((b_count, n), np.int64)
    rem = np.zeros((b_count, n), np.int64)
    busy = np.zeros((b_count, n), np.int64)
    cycles = np.full(b_count, -1, np.int64)
    avail = np.where(np.arange(e_max)[None, :] < counts[:, None], avail, np.iinfo(np.int64).max)
    c = min(arm_start, 0)
    while (cycles < 0).any():
        run = c >= 0
        q_end = (fired - p_valid)[:, None] + np.zeros((1, n), np.int64)
        q_cnt = np.maximum(
            np.take_along_axis(cumlive, np.maximum(q_end, ptr)[:, None, :], 1)[:, 0]
            - np.take_along_axis(cumlive, ptr[:, None, :], 1)[:, 0],
            0,
        )
        all_space = ((q_cnt + p_valid[:, None]) < fifo).all(axis=1)
        fire = bc_valid & all_space
        active = rem > 0
        nl = np.take_along_axis(nxt, ptr[:, None, :], 1)[:, 0]
        src = nl < fired[:, None]
        quiet = ~p_valid[:, None] & (q_cnt == 0) & ~active
        more = loaded < (avail <= c).sum(axis=1)
        if run:
            done = ~bc_valid & ~more & quiet.all(axis=1) & (cycles < 0)
            cycles[done] = c + params.drain
            take = ~active & src
            busy += active | take
            rem = np.where(
                active, rem - 1, np.where(take, np.take_along_axis(w, nl[:, None, :], 1)[:, 0] - 1, rem)
            )
            ptr = np.where(take, nl + 1, ptr)
        load = (c >= arm_start) & more & (~bc_valid | fire)
        loaded += load
        fired += fire
        p_valid = fire
        bc_valid = load | (bc_valid & ~fire)
        c += 1
    return cycles, busy


def _phase(
    image: EngineImage, index: int, v: np.ndarray, params: CycleParams, prefetch: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Matrix phase over vectors v (..., cols): (cycles, useful MACs, busy cycles per PE).

    `prefetch` > 0 (layer 0): the frame's X words arrive back to back in the X cycles before the phase;
    the broadcaster is armed from the cycle after the first (X - 1 cycles early), the state list's
    entries are ready then and the j-th word's entry the cycle after it arrives."""
    words, nonzeros = column_counts(image, index)
    shape = v.shape[:-1]
    flat = v.reshape(-1, v.shape[-1])
    active = (flat != 0).astype(np.int64)
    useful = (active @ nonzeros.T).sum(axis=-1)
    cols, counts = _entries(image, index, flat)
    never = np.iinfo(np.int64).min // 2
    avail = np.full(cols.shape, never, np.int64)
    arm_start = 0
    if prefetch:
        x = image.inputs
        arm_start = 1 - x
        is_x = (cols >= 0) & (cols < x)
        avail = np.where(is_x, cols - x + 1, never)  # word i arrives in cycle i - X
    cycles, busy = _simulate_phases(words, cols, counts, avail, arm_start, params)
    return cycles.reshape(shape), useful.reshape(shape), busy.reshape(*shape, image.num_pe)


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
        # the recurrence broadcasts q_state(h_{t-1}); the layer above and the head the exact h_t (a delta
        # image: the changes past the threshold)
        v = trace.broadcast(li)
        cycles, useful, busy = _phase(image, li, v, params, prefetch=int(li == 0))
        local_units = -(-units // image.num_pe)  # every PE finishes its own units, in lockstep
        eltwise = -(-4 * local_units // params.eltwise_rows_per_cycle) + params.eltwise_latency
        step_cycles += cycles + eltwise + params.step_overhead
        matrix_total += int(cycles.sum())
        useful_total += int(useful.sum())
        busy_total += busy.reshape(-1, image.num_pe).sum(axis=0)
        seq = trace.h[li]
    head_cycles, head_useful, _ = _phase(image, len(image.matrices) - 1, seq[:, -1], params)
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
        step_efficiency=float(useful_total / image.num_pe / step_cycles.sum()) if step_cycles.size else 0.0,
        step_cycles_total=int(step_cycles.sum()),
        matrix_cycles_total=matrix_total,
        busy_cycles_per_pe=[int(b) for b in busy_total],
        last_step_cycles=int(step_cycles[-1, -1]) if step_cycles.size else 0,
    )
