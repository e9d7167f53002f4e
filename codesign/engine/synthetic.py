"""Random engine models for tests: random shapes and the sparsity patterns the encoder must handle
(empty columns, fully dense columns, zero runs longer than the index field, all-zero, 100% density)."""

from __future__ import annotations

import numpy as np

from codesign.engine.encoder import GATES, EngineModel, LayerWeights
from codesign.fixed import FixedType
from codesign.spec import Activation

QUANTIZED_TANH = Activation("tanh", 8)  # as models/jvowels_lstm
QUANTIZED_SIGMOID = Activation("sigmoid", 8)


def _weights(rng: np.random.Generator, shape: tuple[int, int], density: float, frac: int, scale: float):
    """Keras-layout (in, out) weights on the 2^-frac grid, |w| < 2, about `density` of them non-zero."""
    raw = np.round(rng.normal(0.0, scale, shape) * 2**frac)
    raw = np.clip(raw, -(2 ** (frac + 1)), 2 ** (frac + 1) - 1)
    raw[raw == 0] = rng.choice([-1, 1], size=int((raw == 0).sum()))  # density decides the zeros, not rounding
    raw[rng.random(shape) >= density] = 0
    return raw / 2**frac


def _add_patterns(kernel: np.ndarray, recurrent: np.ndarray, rng: np.random.Generator, frac: int) -> None:
    """In W = [kernel; recurrent].T: column 0 empty, column 1 dense, the last column only at its first
    and last row (the longest zero run the shape allows)."""
    stacked = np.concatenate([kernel, recurrent], axis=0)
    cols = stacked.shape[0]
    stacked[0] = 0
    if cols > 1:
        stacked[1] = rng.choice([-3, -1, 1, 2], size=stacked.shape[1]) / 2**frac
    if cols > 2:
        stacked[-1] = 0
        stacked[-1, 0] = stacked[-1, -1] = 1 / 2**frac
    kernel[:] = stacked[: kernel.shape[0]]
    recurrent[:] = stacked[kernel.shape[0] :]


def random_model(
    seed: int,
    inputs: int,
    units: tuple[int, ...],
    classes: int,
    density: float = 0.3,
    patterns: bool = True,
    weight_frac: int = 7,
    activation: Activation = QUANTIZED_TANH,
    recurrent_activation: Activation = QUANTIZED_SIGMOID,
    cell: str = "lstm",
) -> EngineModel:
    """A random 1- or 2-layer LSTM (or GRU with reset_after: `cell="gru"`) classifier on the engine's
    grids (density 0 gives all-zero matrices)."""
    rng = np.random.default_rng(seed)
    layers = []
    fan_in = inputs
    gates = GATES if cell == "lstm" else 3  # Keras' kernel columns per unit
    for h in units:
        scale = 1.5 / np.sqrt(max(1.0, density * (fan_in + h)))
        kernel = _weights(rng, (fan_in, gates * h), density, weight_frac, scale)
        recurrent = _weights(rng, (h, gates * h), density, weight_frac, scale)
        if patterns and 0 < density < 1:  # 0 and 1 are the all-zero and 100% cases
            _add_patterns(kernel, recurrent, rng, weight_frac)
        if cell == "lstm":
            bias = np.clip(np.round(rng.normal(0, 0.5, GATES * h) * 32) / 32, -4, 4 - 1 / 32)
        else:  # input and recurrent biases; the z and r rows store their sum, so each half the range
            bias = np.clip(np.round(rng.normal(0, 0.5, (2, 3 * h)) * 32) / 32, -2, 2 - 1 / 32)
        layers.append(LayerWeights(kernel, recurrent, bias))
        fan_in = h
    dense = _weights(rng, (fan_in, classes), max(density, 0.0), weight_frac, 1.0 / np.sqrt(fan_in))
    dense_bias = np.clip(np.round(rng.normal(0, 0.5, classes) * 32) / 32, -4, 4 - 1 / 32)
    return EngineModel(
        name=f"random{seed}",
        layers=tuple(layers),
        dense_kernel=dense,
        dense_bias=dense_bias,
        activation=activation,
        recurrent_activation=recurrent_activation,
        weight_frac=weight_frac,
        bias_type=FixedType(8, 3, True, "AP_TRN", "AP_SAT"),
        cell=cell,
    )
