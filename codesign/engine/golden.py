"""Bit-exact golden model of the engine (docs/engine.md "One LSTM step"), integer raw arithmetic only.

`run_golden` is the fast path: the matrices are decoded once from the PE memory images and applied to
the whole batch with exact int64 matrix products (numpy integer matmul is exact; the accumulator type
is checked after every step). `run_golden_from_memory` is the slow, literal path for one sequence: it
walks each PE's CSC words column by column, skipping zero activations, as the RTL does. Both return
every internal value the RTL exposes: gate pre-activations z, c_t and h_t per step per layer, logits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from codesign.engine.encoder import GATES, EngineImage, decode_matrix, table_index
from codesign.engine.types import EngineTypes
from codesign.fixed import FixedType, add_raw, mul_raw


@dataclass(frozen=True)
class GoldenTrace:
    """Raw integers of the engine's types (see `types`): what the RTL must reproduce bit for bit."""

    types: EngineTypes
    x: np.ndarray  # (N, T, X) act raw: the quantized input frames
    z: list[np.ndarray]  # per layer (N, T, 4H) acc raw: gate pre-activations incl. bias, Keras order i f g o
    c: list[np.ndarray]  # per layer (N, T, H) cell raw
    h: list[np.ndarray]  # per layer (N, T, H) act raw
    logits: np.ndarray  # (N, classes) acc raw

    def h_float(self, layer: int = -1) -> np.ndarray:
        return self.types.act.to_float(self.h[layer])

    def c_float(self, layer: int = -1) -> np.ndarray:
        return self.types.cell.to_float(self.c[layer])

    def logits_float(self) -> np.ndarray:
        return self.types.acc.to_float(self.logits)

    @property
    def predictions(self) -> np.ndarray:
        return np.argmax(self.logits, axis=1)


def quantize_input(image: EngineImage, x: np.ndarray) -> np.ndarray:
    """Host side: float frames (N, T, X) -> act raw, as the testbench feeds them."""
    x = np.asarray(x, np.float64)
    if x.ndim != 3 or x.shape[2] != image.inputs:
        raise ValueError(f"input frames must be (N, T, {image.inputs}), got {x.shape}")
    return image.types.act.quantize(x)


def activate(table: np.ndarray, raw: np.ndarray, src: FixedType, table_in: FixedType) -> np.ndarray:
    """A table activation: cast to table_in (its rounding, saturating), then look up."""
    return table[table_index(table_in.cast_raw(raw, src), table_in)]


def elementwise(image: EngineImage, z: np.ndarray, c_prev: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The element-wise unit: acc raw z (..., 4H) and cell raw c_{t-1} (..., H) -> (c_t, h_t) raws."""
    t = image.types
    h_units = c_prev.shape[-1]
    z_i, z_f, z_g, z_o = (z[..., k * h_units : (k + 1) * h_units] for k in range(GATES))
    sig, tanh = image.sigmoid_table, image.tanh_table
    i = activate(sig, z_i, t.acc, t.table_in)
    f = activate(sig, z_f, t.acc, t.table_in)
    g = activate(tanh, z_g, t.acc, t.table_in)
    o = activate(sig, z_o, t.acc, t.table_in)
    fc, fc_t = mul_raw(f, t.gate, c_prev, t.cell)
    ig, ig_t = mul_raw(i, t.gate, g, t.gate)
    s, s_t = add_raw(fc, fc_t, ig, ig_t)
    c = t.cell.cast_raw(s, s_t)
    tc = activate(tanh, c, t.cell, t.table_in)
    oh, oh_t = mul_raw(o, t.gate, tc, t.gate)
    return c, t.act.cast_raw(oh, oh_t)


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
    zs, cs, hs = [], [], []
    for li, units in enumerate(image.units):
        w_t = mats[li].T.copy()  # (X + H, 4H)
        bias = _bias_acc(image, li)
        h = np.zeros((n, units), np.int64)
        c = np.zeros((n, units), np.int64)
        z_seq = np.zeros((n, steps, GATES * units), np.int64)
        c_seq = np.zeros((n, steps, units), np.int64)
        h_seq = np.zeros((n, steps, units), np.int64)
        for step in range(steps):
            v = np.concatenate([seq[:, step], h], axis=1)
            z = v @ w_t + bias
            t.acc.check_raw(z)  # derived width: an overflow here is a bug in the derivation
            c, h = elementwise(image, z, c)
            z_seq[:, step], c_seq[:, step], h_seq[:, step] = z, c, h
        zs.append(z_seq)
        cs.append(c_seq)
        hs.append(h_seq)
        seq = h_seq
    logits = seq[:, -1] @ mats[-1].T + _bias_acc(image, len(image.matrices) - 1)
    t.acc.check_raw(logits)
    return GoldenTrace(t, x_raw, zs, cs, hs, logits)


def matrix_vector_from_memory(image: EngineImage, index: int, v: np.ndarray) -> np.ndarray:
    """z = W v + b for one vector v (act raw), walking each PE's CSC words as the RTL does: columns
    with a zero activation are skipped, every word adds weight * activation into its local row."""
    m = image.matrices[index]
    n = image.num_pe
    local_rows = -(-m.rows // n)
    acc = np.zeros((n, local_rows), dtype=object)  # Python ints: an independent, unbounded accumulator
    for j in np.flatnonzero(v):
        a = int(v[j])
        for k in range(n):
            next_row = 0
            for addr in range(int(m.colptr[k, j]), int(m.colptr[k, j + 1])):
                row = next_row + int(image.pe_rel[k][addr])
                acc[k, row] += int(image.pe_weight[k][addr]) * a
                next_row = row + 1
    z = np.zeros(m.rows, np.int64)
    for r in range(m.rows):
        z[r] = acc[r % n, r // n] + (int(m.bias[r]) << image.types.bias_shift)
    return image.types.acc.check_raw(z)


def run_golden_from_memory(image: EngineImage, x_raw: np.ndarray) -> GoldenTrace:
    """One sequence (T, X) act raw through the literal PE walk: slow, used to cross-check run_golden."""
    t = image.types
    x_raw = t.act.check_raw(x_raw)
    seq = x_raw
    zs, cs, hs = [], [], []
    for li, units in enumerate(image.units):
        h = np.zeros(units, np.int64)
        c = np.zeros(units, np.int64)
        z_seq, c_seq, h_seq = [], [], []
        for step in range(seq.shape[0]):
            z = matrix_vector_from_memory(image, li, np.concatenate([seq[step], h]))
            c, h = elementwise(image, z, c)
            z_seq.append(z)
            c_seq.append(c)
            h_seq.append(h)
        zs.append(np.stack(z_seq)[None])
        cs.append(np.stack(c_seq)[None])
        hs.append(np.stack(h_seq)[None])
        seq = hs[-1][0]
    logits = matrix_vector_from_memory(image, len(image.matrices) - 1, seq[-1])
    return GoldenTrace(t, x_raw[None], zs, cs, hs, logits[None])
