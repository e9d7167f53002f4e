"""Delta encoding (Neil et al. 2017) of the vectors a recurrent layer reads: numpy, no TensorFlow.

A delta layer keeps, for each entry of its input and of its recurrent h, the value it last broadcast
(u_hat). An entry is broadcast again only when it has moved by more than the threshold since then:
u_hat_t = u_t where |u_t - u_hat_{t-1}| > threshold, else u_hat_{t-1} (u_hat_0 = 0). Its pre-activation
memory M_t = M_{t-1} + W du_t (M_0 = b) then equals b + W u_hat_t, so the layer is the plain cell fed
with the held vectors; a skipped entry (du = 0) costs the hardware nothing. The thresholds are whole LSBs
of the held vector's type and the values lie on that type's grid, so every comparison is exact.
"""

from __future__ import annotations

import numpy as np


def threshold_values(spec) -> tuple[float, float]:
    """(x, h) thresholds of a spec with a `delta` section, in real units: LSBs of precision.input and
    of precision.state."""
    d, p = spec.delta, spec.precision
    return d.threshold_x * p.input.lsb, d.threshold_h * p.state.lsb


def hold(u: np.ndarray, u_hat: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """(new u_hat, changed): entries that moved by more than `threshold` take u's value."""
    changed = np.abs(u - u_hat) > threshold
    return np.where(changed, u, u_hat), changed


def threshold_lsbs(spec, threshold: float) -> tuple[int, int]:
    """A real threshold as whole LSBs of the input (x) and state (h) types, rounded."""
    p = spec.precision
    return round(threshold / p.input.lsb), round(threshold / p.state.lsb)


def skipped_fractions(input_changed: list[np.ndarray], state_changed: list[np.ndarray]) -> dict[str, float]:
    """Fraction of broadcast entries a delta network skips, from per-layer masks of changed (broadcast)
    entries: `x` over layer 0's inputs, `h` over every h a layer reads (its recurrent q_state(h_{t-1})
    and, above layer 0, the layer below's h_t). Every step the hardware runs counts, the pre-padding of
    short sequences included."""
    h_parts = [*state_changed, *input_changed[1:]]
    h_total = sum(p.size for p in h_parts)
    return {
        "x": float(1.0 - input_changed[0].mean()),
        "h": float(1.0 - sum(int(p.sum()) for p in h_parts) / h_total),
    }


def temporal_sparsity(trace) -> dict[str, float]:
    """`skipped_fractions` of a reference `Trace` (codesign.reference) of a delta network."""
    if trace.layers[0].input_changed is None:
        raise ValueError("the trace is not of a delta network")
    return skipped_fractions(
        [layer.input_changed for layer in trace.layers], [layer.state_changed for layer in trace.layers]
    )
