"""Cycle model of the engine (docs/engine.md "Dataflow and timing", "Overlap"), from the images and the
actual activations of a golden run. It predicts the RTL's counters (rtl/sparse_lstm_engine.sv) cycle for
cycle.

The RTL's structure, which the defaults of `CycleParams` restate:
- A sequence runs as phases (t, layer) and the head, each a matrix phase M(p) (broadcaster and PEs) and an
  element-wise phase E(p); two accumulator banks let M(p + 1) run while E(p) reads M(p)'s bank. M(p + 1)
  starts when E(p) starts; E(p) starts when M(p) has ended and E(p - 1) (and the h_t output after a step's
  last layer, emit_h) has finished.
- Per matrix phase the non-zero activations are broadcast from (value, column) lists: a zero activation
  costs nothing. Each matrix phase is simulated cycle by cycle (`_simulate_phases`, vectorised over every
  step of every sequence), in cycles from its first: the prefetch register (an entry is read from its list
  from the cycle it exists and loadable into the broadcast register the cycle after: `prefetch`), the
  broadcast register (an entry loaded in cycle c is offered in c + 1 and fires when every PE had room in
  the cycle before: P + queue + that cycle's fire < `fifo_depth`), each PE's P stage, column
  queue (a column it stores no word for is dropped, free) and word generator (one stored word, real or
  padding, per cycle, no bubble between columns). Entries are loaded in list order, each from the cycle it
  exists: ready lists at once; layer 0's x_t word j (the frame arrives during the phase, back to back) in
  cycle j + 1, its second segment not before the frame is complete (X); the entries E(p - 1) is still writing
  (pending) when their local unit lu has been written, `4 (lu + 1) + eltwise_latency` cycles after E(p - 1)
  (= M(p)) started, the list complete from `4 LU + eltwise_latency`. The phase ends `drain` = 5 cycles (M1,
  M2, M3, M4, A1; A2 overlaps the next cycle) after the first cycle in which the broadcaster is done and
  every PE is quiet.
- Every PE's element-wise unit walks its ceil(H / NumPe) units' 4 gate rows, all PEs in lockstep, one row
  per cycle, plus `eltwise_latency` = 17: the accumulator read pipeline after the last row (R1 accumulators
  and bias banks, R2 registers, R3 z = acc + bias), the unit's 10 cycles (table address, gate table, table
  flops, level and products, sum, c_t and tanh's address, tanh(c_t) table, its flop, o * base and compare,
  h_t and q_state(h_t)), its outputs registered twice more at the engine (2: W0a in the unit's lane, W0b
  by W1) and the completion count (2; the list writes W1, W2 end by then).
- The head runs once per sequence on h_T: a matrix phase as above, then six cycles per logit (row issue,
  R1..R3, result register, send) when the output is not stalled.
- A step's cycles: from the later of the previous step's end (+ its h_t output) and the frame's completion
  to the step's end (docs/engine.md "RTL counters").
- `step_overhead` / `head_overhead`: further fixed cycles, 0 for this RTL (kept for other engines).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from codesign.engine.encoder import EngineImage
from codesign.engine.golden import GoldenTrace


@dataclass(frozen=True)
class CycleParams:
    # list read into the prefetch register: an entry loads into the broadcast register >= 1 cycle after it
    # exists in its list
    prefetch: int = 1
    fill_late: int = 2  # broadcast register + column-pointer read: an entry loaded in cycle c issues >= c + 2
    h_out_cycles: int = 3  # per h_t beat (emit_h): every PE's h memory read, the PE select, the beat
    h_out_idle: int = 1  # after the h_t output, E idles a cycle before it takes a phase
    fifo_depth: int = 16  # every PE's column queue (FifoDepth): P + queue entries before the broadcast waits
    drain: int = 5  # after the last word: M1..M4 (multiply pipeline), A1 (A2 overlaps the element-wise R0)
    eltwise_rows_per_cycle: int = 1  # element-wise unit throughput (rows i, f, g, o of each unit)
    eltwise_latency: int = 17  # after the last row: read pipeline 3 + element-wise unit 10 + its output
    # registered at the engine 2 (W0a, W0b) + completion 2
    logit_cycles: int = 6  # per class: row issue, R1..R3, result register, send (no back-pressure)
    step_overhead: int = 0  # further fixed cycles per layer step
    head_overhead: int = 0  # further fixed cycles of the head phase


@dataclass(frozen=True)
class CycleReport:
    num_pe: int
    params: dict
    cycles_per_step: float  # mean over sequences and steps: wall clock between step ends (overlapped)
    matrix_cycles_per_step: float  # matrix phases (incl. waiting for pending entries), all layers
    ideal_cycles_per_step: float  # useful MACs per step / NumPe (zero activations skipped)
    dense_activation_ideal_cycles_per_step: float  # non-zero weights of the layer matrices / NumPe
    pe_utilization: float  # useful MACs / (NumPe x matrix-phase cycles) over the layer steps
    head_pe_utilization: float  # the same for the head phase
    busy_cycles_per_pe_per_step: list[float]  # mean words each PE consumes per step (its busy cycles)
    head_cycles: float  # mean per sequence: last step's end (+ h_t out) to the last logit, + head_overhead
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
    """Columns in the order the RTL broadcasts them: layer 0 x_t, then its state list q_state(h_{t-1});
    layer 1 its state list, then h_t of layer 0 (written while it is broadcast); the head walks h_T."""
    m = image.matrices[index]
    cols = m.colptr.shape[1] - 1
    if index != 1 or index >= len(image.units):
        return np.arange(cols)
    lower = cols - image.units[index]  # columns of h_t^0
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
    release: np.ndarray,
    params: CycleParams,
) -> tuple[np.ndarray, np.ndarray]:
    """The broadcaster and every PE's front end (P, Q, G of rtl/csc_pe.sv), cycle by cycle, for B
    phases at once: (matrix-phase cycles (B,), words issued per PE (B, N)).

    words (N, cols): stored words per PE per column; cols (B, E) the entries' columns in broadcast
    order (-1 padding), counts (B,); avail (B, E): the first cycle entry e exists in its list
    (phase-relative: cycle 0 is the phase's first, when words may issue; entries load in order);
    release (B,): the first cycle the lists are complete (the frame, a pending list). Per cycle, as the
    RTL: an entry is loadable `prefetch` cycles after it exists; one loaded in cycle c is offered in c + 1
    and fires when every PE had room in the cycle before (queue + P + that cycle's fire < FifoDepth);
    it is in P in the cycle after, when G may take it (bypass) or it joins the queue (dropped if the PE
    stores no word of the column); G issues one word per cycle from cycle 0. The phase ends `drain` cycles
    after the first cycle (>= release) in which the broadcaster is done and every PE is quiet (P, Q, G
    empty)."""
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
    room = np.ones(b_count, bool)  # every PE's room, from the cycle before (the engine's all_space flop)
    avail = np.maximum.accumulate(avail, axis=1) + params.prefetch  # one list read in order: entries wait
    avail = np.where(np.arange(e_max)[None, :] < counts[:, None], avail, np.iinfo(np.int64).max)
    c = 0
    while (cycles < 0).any():
        q_end = (fired - p_valid)[:, None] + np.zeros((1, n), np.int64)
        q_cnt = np.maximum(
            np.take_along_axis(cumlive, np.maximum(q_end, ptr)[:, None, :], 1)[:, 0]
            - np.take_along_axis(cumlive, ptr[:, None, :], 1)[:, 0],
            0,
        )
        fire = bc_valid & room
        active = rem > 0
        nl = np.take_along_axis(nxt, ptr[:, None, :], 1)[:, 0]
        src = nl < fired[:, None]
        quiet = ~p_valid[:, None] & (q_cnt == 0) & ~active
        more = loaded < (avail <= c).sum(axis=1)
        done = ~bc_valid & (loaded == counts) & (c >= release) & quiet.all(axis=1) & (cycles < 0)
        cycles[done] = c + params.drain
        take = ~active & src
        busy += active | take
        rem = np.where(
            active, rem - 1, np.where(take, np.take_along_axis(w, nl[:, None, :], 1)[:, 0] - 1, rem)
        )
        ptr = np.where(take, nl + 1, ptr)
        load = more & (~bc_valid | fire)
        loaded += load
        fired += fire
        # no credit for what G takes or drops this cycle: an upper bound of the next cycle's occupancy
        room = ((q_cnt + p_valid[:, None] + fire[:, None]) < fifo).all(axis=1)
        p_valid = fire
        bc_valid = load | (bc_valid & ~fire)
        c += 1
    return cycles, busy


def _unit_written(image: EngineImage, units: int, params: CycleParams) -> tuple[np.ndarray, int]:
    """When the entries of a list an element-wise phase of `units` units writes are loadable, in cycles
    from that phase's first: (per unit (units,), the whole list complete)."""
    lu = np.arange(units) // image.num_pe
    rows = -(-4 * (lu + 1) // params.eltwise_rows_per_cycle)
    local_units = -(-units // image.num_pe)
    complete = -(-4 * local_units // params.eltwise_rows_per_cycle) + params.eltwise_latency
    return rows + params.eltwise_latency, complete


def _phase(
    image: EngineImage, index: int, v: np.ndarray, params: CycleParams, pending: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Matrix phase over vectors v (..., cols): (cycles, useful MACs, busy cycles per PE).

    Layer 0 (index 0): the frame's X words arrive back to back from the phase's first cycle (word j's entry
    loadable in cycle j + 1), its state list follows once the frame is complete. `pending` (..., bool): the
    phase's second segment (layer 0's state list, layer 1's h_t^0, the head's h_T) is written by the
    element-wise phase that started with it (entries as their unit is written)."""
    words, nonzeros = column_counts(image, index)
    shape = v.shape[:-1]
    flat = v.reshape(-1, v.shape[-1])
    active = (flat != 0).astype(np.int64)
    useful = (active @ nonzeros.T).sum(axis=-1)
    cols, counts = _entries(image, index, flat)
    b = flat.shape[0]
    avail = np.zeros(cols.shape, np.int64)
    release = np.zeros(b, np.int64)
    total = flat.shape[1]
    layers = len(image.units)
    if index < layers:
        seg1_start = image.inputs if index == 0 else 0  # first column of segment 1 (layer 1: h_t^0 at 0..H0)
        seg1_units = image.units[0] if index == 1 else image.units[index]
        seg1 = (cols >= seg1_start) & (cols < seg1_start + seg1_units) if index == 1 else cols >= seg1_start
    else:
        seg1_start, seg1_units, seg1 = 0, total, cols >= 0
    if index == 0:
        x = image.inputs
        avail = np.where(
            (cols >= 0) & (cols < x), cols + 1, x
        )  # word j arrives in cycle j; segment 1 after X
        release[:] = x
    if pending is not None:
        writer = image.units[index - 1] if index > 0 else image.units[0]  # units of the writing phase
        when, complete = _unit_written(image, writer, params)
        pend = pending.reshape(-1)
        unit = np.clip(cols - seg1_start, 0, writer - 1)
        avail = np.where(seg1 & pend[:, None], np.maximum(avail, when[unit]), avail)
        release = np.where(pend, np.maximum(release, complete), release)
    cycles, busy = _simulate_phases(words, cols, counts, avail, release, params)
    return cycles.reshape(shape), useful.reshape(shape), busy.reshape(*shape, image.num_pe)


def predict_cycles(
    image: EngineImage, trace: GoldenTrace, params: CycleParams | None = None, emit_h: bool = False
) -> CycleReport:
    """Cycles per step for the sequences of a golden trace, from the images and its activations: frames
    back to back, the output always ready; `emit_h`: h_t of every layer is output after every step."""
    params = params or CycleParams()
    n, steps = trace.x.shape[:2]
    layers = len(image.units)
    useful_total = 0
    matrix_total = 0
    busy_total = np.zeros(image.num_pe, np.int64)
    seq = trace.x
    mat = []  # matrix-phase cycles per layer, (n, steps)
    elt = []
    for li, units in enumerate(image.units):
        # the recurrence broadcasts q_state(h_{t-1}); the layer above and the head the exact h_t (a delta
        # image: the changes past the threshold)
        v = trace.broadcast(li)
        # pending segment 1: a 1-layer model's state list (from step 1), layer 1's h_t^0
        pending = np.ones((n, steps), bool)
        if li == 0:
            pending[:, 0] = False
            pending[:, 1:] = layers == 1
        cycles, useful, busy = _phase(image, li, v, params, pending)
        local_units = -(-units // image.num_pe)  # every PE finishes its own units, in lockstep
        elt.append(
            -(-4 * local_units // params.eltwise_rows_per_cycle)
            + params.eltwise_latency
            + params.step_overhead
        )
        mat.append(cycles)
        matrix_total += int(cycles.sum())
        useful_total += int(useful.sum())
        busy_total += busy.reshape(-1, image.num_pe).sum(axis=0)
        seq = trace.h[li]
    head_mat, head_useful, _ = _phase(image, len(image.matrices) - 1, seq[:, -1], params, np.ones(n, bool))
    h_out = params.h_out_cycles * sum(image.units) if emit_h else 0
    # The phases end to end, per sequence (vectorised over sequences): M(p + 1) starts when E(p) starts.
    step_cycles = np.zeros((n, steps), np.int64)
    never = np.full(n, np.iinfo(np.int64).min // 4, np.int64)
    e_start = np.zeros(n, np.int64)  # the sequence's first frame word arrives in cycle 0
    e_free = never.copy()  # E may start a phase from this cycle
    step_free = never.copy()
    for t in range(steps):
        frame_done = None
        for li in range(layers):
            m_start = e_start if (t, li) != (0, 0) else np.zeros(n, np.int64)
            if li == 0:
                frame_done = m_start + image.inputs
            e_start = np.maximum(m_start + mat[li][:, t], e_free)
            e_free = e_start + elt[li]
        step_cycles[:, t] = e_free - np.maximum(frame_done, step_free)
        step_free = e_free + h_out
        e_free = step_free + (params.h_out_idle if emit_h else 0)
    head_start = np.maximum(e_start + head_mat, e_free)
    head_extra = params.logit_cycles * image.classes + params.head_overhead
    head_cycles = head_start - e_free + head_extra
    nnz = sum(int(m.nnz_per_pe.sum()) for m in image.layers)
    total_steps = n * steps
    head_total = int(head_mat.sum())
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
        head_cycles=float(head_cycles.mean()),
        cycles_per_sequence=float(step_cycles.sum(axis=1).mean() + head_cycles.mean()),
        steps=steps,
        sequences=n,
        step_efficiency=float(useful_total / image.num_pe / step_cycles.sum()) if step_cycles.size else 0.0,
        step_cycles_total=int(step_cycles.sum()),
        matrix_cycles_total=matrix_total,
        busy_cycles_per_pe=[int(b) for b in busy_total],
        last_step_cycles=int(step_cycles[-1, -1]) if step_cycles.size else 0,
    )
