"""Bit-exact golden model of the engine (docs/engine.md "One LSTM step", "One GRU step"), integer raw
arithmetic only.

`run_golden` is the fast path: the matrices are decoded once from the PE memory images and applied to
the whole batch with exact int64 matrix products (numpy integer matmul is exact; the accumulator type
is checked after every step). `run_golden_from_memory` is the slow, literal path for one sequence: it
walks each PE's CSC words column by column, skipping zero activations, as the RTL does. Both return
every internal value the RTL exposes: gate pre-activations z, c_t and h_t per step per layer, logits.

The arithmetic is QKeras' (`codesign.reference`), exactly: the recurrence takes q_state(h_{t-1}) and
q_state(c_{t-1}) (the cell type, AP_RND_CONV/AP_SAT); the activations are exact functions of the
exact z and of the exact, unrounded c_t; h_t = o * tanh(c_t) is exact and is what the next layer and
the head take.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from codesign.delta import hold
from codesign.engine.activation import lookup
from codesign.engine.encoder import GATES, EngineImage, decode_matrix
from codesign.engine.types import EngineTypes
from codesign.fixed import add_raw, mul_raw, sub_raw


@dataclass(frozen=True)
class GoldenTrace:
    """Raw integers of the engine's types (see `types`): what the RTL must reproduce bit for bit."""

    types: EngineTypes
    x: np.ndarray  # (N, T, X) act raw: the quantized input frames
    z: list[np.ndarray]  # per layer (N, T, 4H) acc raw: gate pre-activations incl. bias, Keras order i f g o
    c: list[np.ndarray]  # per layer (N, T, H) cell raw: q_state(c_t), what the next step takes
    h: list[np.ndarray]  # per layer (N, T, H) act raw: the exact h_t (next layer's x_t, the head's input)
    h_state: list[np.ndarray]  # per layer (N, T, H) act raw: q_state(h_t), the next step's recurrent input
    logits: np.ndarray  # (N, classes) acc raw
    # a delta image (docs/engine.md "Delta mode"): per layer, which entries of the layer's input (N, T, X)
    # and of q_state(h_{t-1}) (N, T, H) changed past the threshold, i.e. are broadcast; None otherwise
    input_changed: list[np.ndarray] | None = None
    state_changed: list[np.ndarray] | None = None

    def h_float(self, layer: int = -1) -> np.ndarray:
        return self.types.act.to_float(self.h[layer])

    def c_float(self, layer: int = -1) -> np.ndarray:
        return self.types.cell.to_float(self.c[layer])

    def logits_float(self) -> np.ndarray:
        return self.types.acc.to_float(self.logits)

    @property
    def predictions(self) -> np.ndarray:
        return np.argmax(self.logits, axis=1)

    def broadcast(self, layer: int) -> np.ndarray:
        """(N, T, inputs + H) act raw: what the matrix phases of `layer` broadcast at each step, a zero
        entry being skipped. Plain: [its input (x_t, or the exact h_t below); q_state(h_{t-1})]. Delta
        (docs/engine.md "Delta mode"): the changes dv, non-zero exactly where an entry moved past its
        threshold (the held value then jumps to the new one)."""
        inputs = self.x if layer == 0 else self.h[layer - 1]
        n, steps, units = self.h_state[layer].shape
        h_prev = np.concatenate([np.zeros((n, 1, units), np.int64), self.h_state[layer][:, :-1]], axis=1)
        v = np.concatenate([inputs, h_prev], axis=2)
        if self.input_changed is None:
            return v
        changed = np.concatenate([self.input_changed[layer], self.state_changed[layer]], axis=2)
        dv = np.zeros_like(v)
        held = np.zeros_like(v[:, 0])
        for t in range(steps):
            dv[:, t] = np.where(changed[:, t], v[:, t] - held, 0)
            held = np.where(changed[:, t], v[:, t], held)
        return dv


def quantize_input(image: EngineImage, x: np.ndarray) -> np.ndarray:
    """Host side: float frames (N, T, X) -> act raw, as the testbench feeds them: the spec's input
    quantizer (round half to even, saturate, as QKeras' quantized_bits), then exactly into act."""
    x = np.asarray(x, np.float64)
    if x.ndim != 3 or x.shape[2] != image.inputs:
        raise ValueError(f"input frames must be (N, T, {image.inputs}), got {x.shape}")
    t = image.types
    return t.act.cast_raw(t.input.quantize(x), t.input)


def elementwise(
    image: EngineImage, z: np.ndarray, c_prev: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The element-wise unit: acc raw z (..., 4H) and the stored state (cell raw, ..., H) -> (the state
    as stored, exact h_t, q_state(h_t)) raws (cell, act, act). LSTM: the state is q_state(c); GRU: it is
    q_state(h)."""
    if image.cell == "gru":
        return gru_elementwise(image, z, c_prev)
    return lstm_elementwise(image, z, c_prev)


def lstm_elementwise(
    image: EngineImage, z: np.ndarray, c_prev: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """docs/engine.md "One LSTM step": (q_state(c_t), exact h_t, q_state(h_t)) raws (cell, act, act)."""
    t = image.types
    h_units = c_prev.shape[-1]
    z_i, z_f, z_g, z_o = (z[..., k * h_units : (k + 1) * h_units] for k in range(GATES))
    sig, tanh = image.sigmoid_table, image.tanh_table
    i = lookup(sig, image.sigmoid_step, z_i, t.acc, t)
    f = lookup(sig, image.sigmoid_step, z_f, t.acc, t)
    g = lookup(tanh, image.tanh_step, z_g, t.acc, t)
    o = lookup(sig, image.sigmoid_step, z_o, t.acc, t)
    fc, fc_t = mul_raw(f, t.gate, c_prev, t.cell)
    ig, ig_t = mul_raw(i, t.gate, g, t.gate)
    s, s_t = add_raw(fc, fc_t, ig, ig_t)
    s = t.cell_sum.cast_raw(s, s_t)  # the same exact value in the RTL's sum type
    c = t.cell.cast_raw(s, t.cell_sum)  # q_state(c_t): AP_RND_CONV, AP_SAT
    tc = lookup(tanh, image.tanh_step, s, t.cell_sum, t)  # tanh of the exact c_t
    oh, oh_t = mul_raw(o, t.gate, tc, t.gate)
    h = t.act.cast_raw(oh, oh_t)  # exact: act holds the product grid
    h_state = t.act.cast_raw(t.cell.cast_raw(oh, oh_t), t.cell)  # q_state(h_t), exact in act
    return c, h, h_state


def gru_elementwise(
    image: EngineImage, z: np.ndarray, hs_prev: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """docs/engine.md "One GRU step": rows z, r, n_x, n_h and hs_{t-1} (cell raw) -> (q_state(h_t) as
    stored (cell), exact h_t, q_state(h_t)) raws (cell, act, act)."""
    t = image.types
    h_units = hs_prev.shape[-1]
    z_z, z_r, z_nx, z_nh = (z[..., k * h_units : (k + 1) * h_units] for k in range(GATES))
    sig, tanh = image.sigmoid_table, image.tanh_table
    update = lookup(sig, image.sigmoid_step, z_z, t.acc, t)
    reset = lookup(sig, image.sigmoid_step, z_r, t.acc, t)
    rn, rn_t = mul_raw(reset, t.gate, z_nh, t.acc)
    a, a_t = add_raw(z_nx, t.acc, rn, rn_t)
    a = t.cand_sum.cast_raw(a, a_t)  # the same exact value in the RTL's sum type
    hh = lookup(tanh, image.tanh_step, a, t.cand_sum, t)
    d, d_t = sub_raw(hs_prev, t.cell, hh, t.gate)
    zd, zd_t = mul_raw(update, t.gate, d, d_t)
    h, h_t = add_raw(hh, t.gate, zd, zd_t)
    h = t.act.cast_raw(h, h_t)  # exact: act holds the GRU's h grid and range (types.hidden_type)
    hs = t.cell.cast_raw(h, t.act)  # q_state(h_t): AP_RND_CONV, AP_SAT
    return hs, h, t.act.cast_raw(hs, t.cell)


def _bias_acc(image: EngineImage, index: int) -> np.ndarray:
    return image.matrices[index].bias << image.types.bias_shift


def dense_matrices(image: EngineImage) -> list[np.ndarray]:
    """Every matrix decoded from the PE memory images (raw weights, rows x cols)."""
    return [decode_matrix(image, i) for i in range(len(image.matrices))]


def run_golden(image: EngineImage, x: np.ndarray, x_is_raw: bool = False) -> GoldenTrace:
    """The engine on a batch: x (N, T, X) float frames (or act raw with x_is_raw) -> GoldenTrace."""
    t = image.types
    x_raw = t.act.check_raw(x) if x_is_raw else quantize_input(image, x)
    mats = dense_matrices(image)
    n, steps, _ = x_raw.shape
    seq = x_raw
    zs, cs, hs, hss = [], [], [], []
    changed_in, changed_state = [], []
    for li, units in enumerate(image.units):
        w_t = mats[li].T.copy()  # (X + H, 4H)
        bias = _bias_acc(image, li)
        h_state = np.zeros((n, units), np.int64)
        c = np.zeros((n, units), np.int64)
        z_seq = np.zeros((n, steps, GATES * units), np.int64)
        c_seq = np.zeros((n, steps, units), np.int64)
        h_seq = np.zeros((n, steps, units), np.int64)
        hs_seq = np.zeros((n, steps, units), np.int64)
        held_in, held_h = np.zeros_like(seq[:, 0]), np.zeros_like(h_state)
        ch_in = np.zeros(seq.shape, bool)
        ch_h = np.zeros((n, steps, units), bool)
        for step in range(steps):
            v_in, v_h = seq[:, step], h_state
            if image.delta is not None:
                # the matrix reads the held vectors: M_t = W [x_hat; h_hat] (docs/engine.md "Delta mode")
                th_in = image.delta[0] if li == 0 else image.delta[1]
                held_in, ch_in[:, step] = hold(v_in, held_in, th_in)
                held_h, ch_h[:, step] = hold(v_h, held_h, image.delta[1])
                v_in, v_h = held_in, held_h
            v = np.concatenate([v_in, v_h], axis=1)
            z = v @ w_t + bias
            t.acc.check_raw(z)  # derived width: an overflow here is a bug in the derivation
            c, h, h_state = elementwise(image, z, c)
            z_seq[:, step], c_seq[:, step], h_seq[:, step], hs_seq[:, step] = z, c, h, h_state
        zs.append(z_seq)
        cs.append(c_seq)
        hs.append(h_seq)
        hss.append(hs_seq)
        changed_in.append(ch_in)
        changed_state.append(ch_h)
        seq = h_seq  # the next layer takes the exact h_t
    logits = seq[:, -1] @ mats[-1].T + _bias_acc(image, len(image.matrices) - 1)
    t.acc.check_raw(logits)
    if image.delta is None:
        return GoldenTrace(t, x_raw, zs, cs, hs, hss, logits)
    return GoldenTrace(t, x_raw, zs, cs, hs, hss, logits, changed_in, changed_state)


def accumulate_from_memory(image: EngineImage, index: int, v: np.ndarray, acc: np.ndarray) -> None:
    """acc (NumPe, local rows; Python ints) += W v for one vector v (act raw), walking each PE's CSC words
    as the RTL does: columns with a zero entry are skipped, every word adds weight * v_j into its row."""
    m = image.matrices[index]
    for j in np.flatnonzero(v):
        a = int(v[j])
        for k in range(image.num_pe):
            next_row = 0
            for addr in range(int(m.colptr[k, j]), int(m.colptr[k, j + 1])):
                row = next_row + int(image.pe_rel[k][addr])
                acc[k, row] += int(image.pe_weight[k][addr]) * a
                next_row = row + 1


def rows_from_accumulators(image: EngineImage, index: int, acc: np.ndarray) -> np.ndarray:
    """z = accumulators + bias in global row order (acc raw), checked against the accumulator type."""
    m = image.matrices[index]
    z = np.zeros(m.rows, np.int64)
    pes, local = m.placement()
    for r in range(m.rows):
        z[r] = acc[pes[r], local[r]] + (int(m.bias[r]) << image.types.bias_shift)
    return image.types.acc.check_raw(z)


def matrix_vector_from_memory(image: EngineImage, index: int, v: np.ndarray) -> np.ndarray:
    """z = W v + b for one vector v (act raw) by the literal PE walk."""
    acc = np.zeros((image.num_pe, image.matrices[index].local_rows), dtype=object)  # unbounded ints
    accumulate_from_memory(image, index, v, acc)
    return rows_from_accumulators(image, index, acc)


def run_golden_from_memory(image: EngineImage, x_raw: np.ndarray) -> GoldenTrace:
    """One sequence (T, X) act raw through the literal PE walk: slow, used to cross-check run_golden.
    A delta image runs in the hardware's form: the accumulators persist over the sequence and each step
    broadcasts only the changes past the threshold, M_t = M_{t-1} + W dv_t (docs/engine.md "Delta mode")."""
    t = image.types
    x_raw = t.act.check_raw(x_raw)
    seq = x_raw
    zs, cs, hs, hss = [], [], [], []
    for li, units in enumerate(image.units):
        h_state = np.zeros(units, np.int64)
        c = np.zeros(units, np.int64)
        held = np.zeros(seq.shape[1] + units, np.int64)
        acc = np.zeros((image.num_pe, image.matrices[li].local_rows), dtype=object)
        z_seq, c_seq, h_seq, hs_seq = [], [], [], []
        for step in range(seq.shape[0]):
            v = np.concatenate([seq[step], h_state])
            if image.delta is None:
                z = matrix_vector_from_memory(image, li, v)
            else:
                th_in = image.delta[0] if li == 0 else image.delta[1]
                threshold = np.where(np.arange(v.size) < seq.shape[1], th_in, image.delta[1])
                new_held, _ = hold(v, held, threshold)
                dv, held = new_held - held, new_held
                accumulate_from_memory(image, li, dv, acc)
                z = rows_from_accumulators(image, li, acc)
            c, h, h_state = elementwise(image, z, c)
            z_seq.append(z)
            c_seq.append(c)
            h_seq.append(h)
            hs_seq.append(h_state)
        zs.append(np.stack(z_seq)[None])
        cs.append(np.stack(c_seq)[None])
        hs.append(np.stack(h_seq)[None])
        hss.append(np.stack(hs_seq)[None])
        seq = hs[-1][0]
    logits = matrix_vector_from_memory(image, len(image.matrices) - 1, seq[-1])
    return GoldenTrace(t, x_raw[None], zs, cs, hs, hss, logits[None])
