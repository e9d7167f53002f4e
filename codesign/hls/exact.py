"""Exact types for the HLS kernels, derived from the spec: the grid and the worst case of every value.

A value the cell computes lies on a grid (multiples of 2^-frac) within [-bound, bound]. Products add
fractions and multiply bounds, sums take the finer fraction and add bounds, and a QKeras quantizer puts its
output on its own grid. Following QKeras' arithmetic (`codesign.reference`, the float64 root) through one
step of the cell gives each kernel type the grid and range that hold every value it can see, so the
C-simulation computes the same numbers, not approximations of them:

- the state the kernel keeps between steps (`state_t`): the state quantizer's output; without one, h and c
  themselves, whose grids refine by the gate's fraction each step (so the types follow the sequence length);
- the layer's output (`result`): the exact h_t (QKeras quantizes h only when the next step reads it);
- the accumulator (`accum`): pre-activations, gates, c_t, tanh(c_t) and a GRU's r * (h U_h + b_rh), which
  the kernels all keep in accum_t, plus the reach of the activations' level boundaries.

Exactness needs activations whose outputs lie on a grid (QKeras-quantized, or hard) and types the float64
reference can still hold exactly (MAX_EXACT_WIDTH). Otherwise the types are bounded instead (real
sigmoid/tanh use hls4ml's tables; a state without quantizer is kept in STATE_FALLBACK_WIDTH bits) and the
model is flagged inexact with the reason.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from codesign.hls.types import Fixed, LayerTypes, ModelTypes, integer_bits_for, of_precision
from codesign.spec import Activation, Precision, Spec

MAX_EXACT_WIDTH = 53  # float64's significand: the reference rounds values wider than this
STATE_FALLBACK_WIDTH = 18  # h and c without a state quantizer, when their exact grids outgrow the above
REAL_TABLE_FRAC = 10  # hls4ml's sigmoid/tanh table_t fixed<18,8>: real activations' output grid


@dataclass(frozen=True)
class Grid:
    """Values on multiples of 2^-frac within [-bound, bound]."""

    frac: int
    bound: float

    def __mul__(self, other: Grid) -> Grid:
        return Grid(self.frac + other.frac, self.bound * other.bound)

    def __add__(self, other: Grid) -> Grid:
        return Grid(max(self.frac, other.frac), self.bound + other.bound)

    def __or__(self, other: Grid) -> Grid:
        """A type holding both."""
        return Grid(max(self.frac, other.frac), max(self.bound, other.bound))

    def fixed(self, rounding: str = "TRN", overflow: str = "WRAP") -> Fixed:
        integer = integer_bits_for(self.bound)
        return Fixed(integer + self.frac, integer, rounding, overflow)


ZERO = Grid(0, 0.0)


def precision_grid(p: Precision) -> Grid:
    return Grid(p.bits - 1 - p.integer, 2.0**p.integer)


def activation_grid(a: Activation, kind: str, z: Grid) -> Grid:
    """The output grid of a gate (sigmoid-like) or state (tanh-like) activation of inputs on z."""
    if a.bits is not None:  # quantized_sigmoid(b): multiples of 2^-b; quantized_tanh(b): of 2^-(b-1)
        return Grid(a.bits if kind == "gate" else a.bits - 1, 1.0)
    if a.function.startswith("hard_"):  # clip(z/2 + 1/2, 0, 1) one bit finer; clip(z, -1, 1) on z's grid
        return Grid(z.frac + 1 if kind == "gate" else z.frac, 1.0)
    return Grid(REAL_TABLE_FRAC, 1.0)


def activation_reach(a: Activation, kind: str) -> float:
    """|input| beyond which the activation's output no longer changes (its outermost level boundary):
    the accumulator must reach past it, or a boundary clamped to the type's edge would count wrongly."""
    if a.function.startswith("hard_"):
        return 2.0
    if a.bits is None:
        return 8.0  # hls4ml's tables span [-8, 8)
    if kind == "gate":  # sigmoid(x) = 1 - 2^-(b+1), the last midpoint
        return math.log(2.0 ** (a.bits + 1) - 1.0)
    return math.atanh(1.0 - 2.0**-a.bits)


def _is_exact_activation(a: Activation) -> bool:
    return a.bits is not None or a.function.startswith("hard_")


def product_bound(x_bound: float, kernel: np.ndarray) -> np.ndarray:
    """Per output column, the largest |x W| for |x_i| <= x_bound."""
    return np.abs(kernel).sum(axis=0) * x_bound


@dataclass(frozen=True)
class CellTypes:
    accum: Grid
    result: Grid  # h_t as the layer outputs it
    state: Grid  # h_{t-1}, c_{t-1} as the kernel stores them


def lstm_types(spec: Spec, x: Grid, weights, state: Grid | None, steps: int) -> CellTypes:
    """One LSTM layer: z = x W + b + h U; i, f, o = sig(z); g = tanh(z); c = f c + i g; h = o tanh(c)."""
    m, p = spec.model, spec.precision
    k, r, b = (precision_grid(q) for q in (p.kernel, p.recurrent_kernel, p.bias))
    hq, cq = (state, state) if state is not None else (ZERO, ZERO)
    accum, result, stored = ZERO, ZERO, ZERO
    for _ in range(1 if state is not None else steps):  # with a quantizer every step looks the same
        bound = product_bound(x.bound, weights.kernel) + product_bound(hq.bound, weights.recurrent_kernel)
        bound = float(np.max(bound + np.abs(weights.bias)))
        z = Grid(max(x.frac + k.frac, hq.frac + r.frac, b.frac), bound)
        gate = activation_grid(m.recurrent_activation, "gate", z)
        g = activation_grid(m.activation, "state", z)
        c = gate * cq + gate * g
        tc = activation_grid(m.activation, "state", c)
        h = gate * tc
        accum = accum | z | gate | g | c | tc
        result = result | h
        if state is None:
            hq, cq = h, c
            stored = stored | h | c
    return CellTypes(accum, result, state if state is not None else stored)


def gru_types(spec: Spec, x: Grid, weights, state: Grid | None, steps: int) -> CellTypes:
    """One GRU layer: z, r = sig(x W + b_i + h U + b_r); hh = tanh(x W_h + b_ih + r (h U_h + b_rh)) with
    reset_after, else tanh(x W_h + b_h + (r h) U_h); h = z h + (1 - z) hh ((1 - z) lies on z's grid)."""
    m, p = spec.model, spec.precision
    k, r, b = (precision_grid(q) for q in (p.kernel, p.recurrent_kernel, p.bias))
    units = weights.recurrent_kernel.shape[0]
    bias = np.asarray(weights.bias).reshape(-1, 3 * units)
    input_bias, recurrent_bias = bias[0], bias[1] if m.reset_after else np.zeros(3 * units)
    u_h = weights.recurrent_kernel[:, 2 * units :]
    hq = state if state is not None else ZERO
    accum, result, stored = ZERO, ZERO, ZERO
    for _ in range(1 if state is not None else steps):
        zx_bound = product_bound(x.bound, weights.kernel) + np.abs(input_bias)
        zh_bound = product_bound(hq.bound, weights.recurrent_kernel) + np.abs(recurrent_bias)
        zx = Grid(max(x.frac + k.frac, b.frac), float(zx_bound.max()))
        zh = Grid(max(hq.frac + r.frac, b.frac), float(zh_bound.max()))
        zr = Grid(max(zx.frac, zh.frac), float((zx_bound + zh_bound)[: 2 * units].max()))
        gate = activation_grid(m.recurrent_activation, "gate", zr)
        if m.reset_after:  # r * (h U_h + b_rh)
            rh = gate * Grid(zh.frac, float(zh_bound[2 * units :].max()))
            kept = rh
        else:  # (r * h) U_h: r * h is kept too
            kept = gate * hq
            rh = Grid(kept.frac + r.frac, float(product_bound(kept.bound, u_h).max()))
        pre = Grid(max(zx.frac, rh.frac), float(zx_bound[2 * units :].max()) + rh.bound)
        hh = activation_grid(m.activation, "state", pre)
        h = gate * hq + gate * hh
        h = Grid(h.frac, max(hq.bound, hh.bound))  # a convex mix: |h| <= max(|h_{t-1}|, |hh|)
        accum = accum | zx | zh | zr | gate | kept | rh | pre | hh
        result = result | h
        if state is None:
            hq = h
            stored = stored | h
    return CellTypes(accum, result, state if state is not None else stored)


def _with_reach(spec: Spec, accum: Grid) -> Grid:
    m = spec.model
    reach = max(activation_reach(m.activation, "state"), activation_reach(m.recurrent_activation, "gate"))
    return accum | Grid(0, reach + 1.0)


def derive_types(spec: Spec, reference, timesteps: int, block_sparse=None) -> ModelTypes:
    """Every type of the HLS project from the spec, the quantized weights of `reference` (a quantized
    `codesign.reference.ReferenceModel`) and the sequence length."""
    p, m = spec.precision, spec.model
    cell = {"lstm": lstm_types, "gru": gru_types}.get(m.cell)
    if cell is None:
        raise ValueError(f"no HLS types for a {m.cell} cell")
    reasons = []
    for a, where in (
        (m.activation, "model.activation"),
        (m.recurrent_activation, "model.recurrent_activation"),
    ):
        if not _is_exact_activation(a):
            reasons.append(f"{where} {a.function} is not quantized (hls4ml's table approximates it)")
    x_type = of_precision(p.input)
    x = precision_grid(p.input)
    state = None if p.state is None else precision_grid(p.state)
    layers = []
    for i, weights in enumerate(reference.layers):
        types = cell(spec, x, weights, state, timesteps)
        widest = max(g.fixed().width for g in (types.accum, types.result, types.state))
        if state is None and widest > MAX_EXACT_WIDTH:
            # h and c outgrow any fixed type: keep them in a bounded one, as a state quantizer would
            reasons.append(
                f"rnn{i + 1}: without precision.state, h and c need {widest} bits after {timesteps} steps "
                f"(more than {MAX_EXACT_WIDTH}); kept in {STATE_FALLBACK_WIDTH} bits"
            )
            bound = float(timesteps) if m.cell == "lstm" else 1.0  # |c_t| <= t, |h_t| <= 1
            integer = integer_bits_for(bound)
            fallback = Grid(STATE_FALLBACK_WIDTH - integer, bound)
            types = cell(spec, x, weights, fallback, timesteps)
        accum = _with_reach(spec, types.accum)
        for name, g in (("accum", accum), ("result", types.result), ("state", types.state)):
            width = g.fixed().width
            if width > MAX_EXACT_WIDTH:
                reasons.append(f"rnn{i + 1}: {name} needs {width} bits (more than {MAX_EXACT_WIDTH})")
        layers.append(
            LayerTypes(
                name=f"rnn{i + 1}",
                weight=of_precision(p.kernel),
                recurrent_weight=of_precision(p.recurrent_kernel),
                bias=of_precision(p.bias),
                accum=accum.fixed(),
                result=types.result.fixed(),
                input_bound=x.bound,
                # the state quantizer itself, or the exact (or bounded) type of h and c without one
                state=of_precision(p.state) if p.state is not None else types.state.fixed("RND_CONV", "SAT"),
            )
        )
        x = types.result
    dk, db = precision_grid(p.dense_kernel), precision_grid(p.dense_bias)
    head_bound = product_bound(x.bound, reference.dense_kernel) + np.abs(reference.dense_bias)
    logits = Grid(max(x.frac + dk.frac, db.frac), float(head_bound.max())).fixed()
    head = LayerTypes(
        name="head",
        weight=of_precision(p.dense_kernel),
        recurrent_weight=None,
        bias=of_precision(p.dense_bias),
        accum=logits,
        result=logits,  # the logits, exactly
        input_bound=x.bound,
    )
    if logits.width > MAX_EXACT_WIDTH:
        reasons.append(f"head: logits need {logits.width} bits (more than {MAX_EXACT_WIDTH})")
    return ModelTypes(
        input=x_type,
        layers=layers,
        head=head,
        block_sparse=block_sparse,
        exact=not reasons,
        inexact_reason="; ".join(reasons) or None,
    )
