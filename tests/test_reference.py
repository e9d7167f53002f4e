"""The numpy reference against Keras / QKeras: quantizers, activations, cells, whole classifiers.

Keras computes in float32 with the CPU's kernels (oneDNN or Eigen, their summation order, FMA, threads);
the reference in float64. No assertion here depends on those kernels (docs/testing.md): float twins agree
within FLOAT_TOL, quantized models within FLIP_TOL and on the argmax of every sample whose margin exceeds
twice the tolerance (conftest.py derives both); elementwise quantizers and hard activations, which
float32 computes exactly, are compared exactly. Where a quantized activation's exact input lies within
float32 rounding of a level tie Keras may take the other level, one step that then propagates; how often
that happens depends on the CPU, so it is not counted: instead every divergence of a Keras state from the
reference must start at such a tie (test_trained_trace_matches_keras_cells), with "within float32
rounding" bounded from the weights (`_tie_gap_bound`).
"""

from __future__ import annotations

import dataclasses
import itertools
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from qkeras.quantizers import quantized_bits as qk_quantized_bits
from qkeras.quantizers import quantized_sigmoid as qk_quantized_sigmoid
from qkeras.quantizers import quantized_tanh as qk_quantized_tanh

from codesign.models.builders import INPUT_QUANTIZER, build_model
from codesign.models.train import load_trained
from codesign.reference import (
    LayerWeights,
    ReferenceModel,
    activation_fn,
    gru_step,
    lstm_step,
    quantize_bits,
    quantized_sigmoid,
    quantized_tanh,
    run_layer,
    simple_rnn_step,
)
from codesign.spec import Activation, load_spec, parse_spec

from conftest import FLIP_TOL, FLOAT_TOL, U32, assert_close_to_reference  # isort: skip

MODELS = Path(__file__).resolve().parents[1] / "models"

# TF's float32 tanh / sigmoid are approximations accurate to a few ulp; on values below 1 (an ulp at most
# 2^-24 = U32), 16 ulp bounds them with margin. Used below for how far from exact they may land.
ACTIVATION_ERR = 16 * U32


# --- quantizers and activations ---------------------------------------------------------------------


def test_np_round_is_half_to_even_like_tf_round():
    halves = np.arange(-1000, 1000, dtype=np.float32) + np.float32(0.5)
    assert np.array_equal(np.round(halves), tf.round(halves).numpy())
    assert np.round(2.5) == 2.0 and np.round(-0.5) == 0.0  # not half away from zero


@pytest.mark.parametrize("bits,integer", [(8, 0), (8, 2), (8, 1), (16, 4), (4, 1), (12, 6), (2, 0), (6, 5)])
def test_quantize_bits_equals_qkeras(bits: int, integer: int):
    rng = np.random.default_rng(bits * 100 + integer)
    lsb = 2.0 ** (integer - bits + 1)
    limit = 2.0**integer
    k = np.arange(-(2 ** (bits - 1)) - 8, 2 ** (bits - 1) + 8)
    x = np.concatenate(
        [
            k * lsb,  # every grid value, and a few past each end
            (k + 0.5) * lsb,  # every exact half: ties to even, including the ones that saturate
            (k + 0.5) * lsb + lsb * 2.0**-12,  # just past a tie (still exact in float32 for these widths)
            rng.uniform(-2 * limit, 2 * limit, 10_000),
            [0.0, -0.0, limit, -limit, 2 * limit, -2 * limit],
        ]
    ).astype(np.float32)
    # Within +-2^(integer+1), i.e. up to twice the range: beyond that QKeras' straight-through form
    # x + (xq - x) is itself rounded in float32 and drifts off the grid (1e30 quantizes to 0.0), while
    # saturation (what ap_fixed AP_SAT does) is what the reference implements.
    x = x[np.abs(x) <= 2 * limit]
    assert x.size >= 10_000
    expected = qk_quantized_bits(bits, integer, alpha=1)(tf.constant(x)).numpy()
    for dtype in (np.float32, np.float64):
        got = quantize_bits(x.astype(dtype), bits, integer)
        assert got.dtype == dtype
        mismatch = got != expected
        assert not mismatch.any(), f"{mismatch.sum()} differ, e.g. x={x[mismatch][:3]}"
    # saturation and ties, spelled out
    ties = quantize_bits(np.array([limit, -limit - 1, 0.5 * lsb, 1.5 * lsb, 2.5 * lsb]), bits, integer)
    assert ties.tolist() == [limit - lsb, -limit, 0.0, min(2 * lsb, limit - lsb), min(2 * lsb, limit - lsb)]


@pytest.mark.parametrize("bits", [4, 8])
@pytest.mark.parametrize("real", [True, False])
def test_quantized_activations_equal_qkeras(bits: int, real: bool):
    rng = np.random.default_rng(bits + 10 * real)
    x = np.concatenate(
        [
            rng.normal(0, 3, 100_000),
            # inputs whose hard activation lands exactly on a tie of the output grid: half to even
            (np.arange(-(2**bits), 2**bits) + 0.5) / 2 ** (bits - 1),
        ]
    ).astype(np.float32)
    tanh_q = qk_quantized_tanh(bits, use_real_tanh=real)(x).numpy()
    sigmoid_q = qk_quantized_sigmoid(bits, use_real_sigmoid=real)(x).numpy()
    for expected, got, step in (
        (tanh_q, quantized_tanh(x, bits, real), 2.0 ** -(bits - 1)),
        (sigmoid_q, quantized_sigmoid(x, bits, real), 2.0**-bits),
    ):
        differ = got != expected
        if real:
            # TF's float32 tanh/sigmoid and numpy's differ by a few ulp: a value within that of a rounding
            # tie may round the other way (measured: 1 in 100,000 here; how many depends on the CPU's
            # kernels, so not counted). Each must be one step, where the exact value is that close to a tie.
            assert np.all(np.abs(got - expected)[differ] == step)
            exact = (np.tanh if step == 2.0 ** -(bits - 1) else lambda v: 1 / (1 + np.exp(-v)))(
                x[differ].astype(np.float64)
            )
            scaled = exact / step
            gap = np.abs(scaled - np.floor(scaled) - 0.5) * step  # distance to the tie, in output units
            assert np.all(gap <= ACTIVATION_ERR), (
                f"off a tie by {gap.max():.3g} at x={x[differ][gap.argmax()]}"
            )
        else:
            # The hard forms are exact float32 arithmetic (power-of-two slopes), the same in numpy.
            assert not differ.any(), f"{differ.sum()} differ, e.g. x={x[differ][:3]}"


def test_activation_fn_follows_builders():
    x = np.linspace(-8, 8, 1601)
    assert np.allclose(activation_fn(Activation("tanh", 8), "state", quantized=False)(x), np.tanh(x))
    assert np.allclose(activation_fn(Activation("hard_tanh"), "state", quantized=True)(x), np.clip(x, -1, 1))
    assert np.allclose(
        activation_fn(Activation("hard_sigmoid"), "gate", False)(x), np.clip(0.5 * x + 0.5, 0, 1)
    )
    assert np.allclose(activation_fn(Activation("sigmoid"), "gate", False)(x), 1 / (1 + np.exp(-x)))
    q = activation_fn(Activation("sigmoid", 8), "gate", quantized=True)(x)
    assert np.all(q * 256 == np.round(q * 256)) and q.max() == 255 / 256
    with pytest.raises(ValueError):
        activation_fn(Activation("sigmoid"), "state", quantized=False)


def test_run_layer_checks_shapes():
    w = LayerWeights(np.zeros((3, 8)), np.zeros((2, 8)), np.zeros(8))
    x = np.zeros((1, 4, 3))
    assert run_layer("lstm", x, w, np.tanh, np.tanh).shape == (1, 2)
    assert run_layer("lstm", x, w, np.tanh, np.tanh, return_sequences=True).shape == (1, 4, 2)
    with pytest.raises(ValueError, match="bias"):
        run_layer(
            "gru", np.zeros((1, 4, 3)), LayerWeights(np.zeros((3, 6)), np.zeros((2, 6)), np.zeros(6)), np.tanh
        )


# --- the committed trained models -------------------------------------------------------------------


@pytest.fixture(scope="module", params=["jvowels_lstm", "basicmotions_gru"])
def trained(request):
    spec = load_spec(MODELS / request.param / "spec.yml")
    tm = load_trained(spec)
    x = tm.dataset.x_test
    keras_float = tm.float_model.predict(x, batch_size=512, verbose=0)
    keras_quant = tm.model.predict(x, batch_size=512, verbose=0)
    return spec, tm, keras_float, keras_quant


def _keras_cell_trace(layer, x: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Step the layer's own Keras/QKeras cell over x: every step's h (and c), as the cell returns them."""
    n = x.shape[0]
    states = [
        tf.zeros((n, layer.cell.units)) for _ in range(2 if isinstance(layer.cell.state_size, list) else 1)
    ]
    hs, cs = [], []
    for t in range(x.shape[1]):
        h, states = layer.cell(tf.constant(x[:, t]), states)
        hs.append(h.numpy())
        if len(states) == 2:
            cs.append(states[1].numpy())
    return np.stack(hs, 1), np.stack(cs, 1) if cs else None


def test_trained_float_logits(trained):
    spec, tm, keras_float, _ = trained
    ref = ReferenceModel.from_keras(spec, tm.float_model, quantized=False)
    got = assert_close_to_reference(
        keras_float, ref.logits(tm.dataset.x_test), FLOAT_TOL, f"{spec.name} float"
    )
    print(f"{spec.name} float: {got} over {len(keras_float)} samples")


def test_trained_quantized_logits(trained):
    spec, tm, _, keras_quant = trained
    x = tm.dataset.x_test
    logits = ReferenceModel.from_keras(spec, tm.model, quantized=True).logits(x)
    got = assert_close_to_reference(keras_quant, logits, FLIP_TOL, f"{spec.name} quantized")
    # For information only: how many samples this CPU's float32 reproduces within rounding, and bit for bit
    # with the reference run in float32 (368 of 370 for jvowels_lstm here; 96.8% on another x86 machine).
    per_sample = np.abs(logits - keras_quant).max(axis=1)
    f32 = ReferenceModel.from_keras(spec, tm.model, quantized=True, dtype=np.float32).logits(x)
    print(
        f"{spec.name} quantized: {got}; within {FLOAT_TOL:g}: {np.mean(per_sample <= FLOAT_TOL):.4f}, "
        f"float32 reference bit-exact: {np.mean(np.all(f32 == keras_quant, axis=1)):.4f}"
    )


def test_a_broken_reference_is_caught(trained):
    """The checks still fail. Gross errors (input and forget / update and reset gates swapped; the
    recurrent kernel one step off everywhere) move logits by far more than FLIP_TOL; fine ones (no state
    quantizer, no input quantizer, a head bias one step off: 0.02 to 0.06 on the logits, within FLIP_TOL)
    are caught by the exact trace comparison."""
    spec, tm, _, keras_quant = trained
    x = tm.dataset.x_test
    ref = ReferenceModel.from_keras(spec, tm.model, quantized=True)
    w = ref.layers[0]
    h = w.units

    def swap(a: np.ndarray) -> np.ndarray:
        a = a.copy()
        a[..., :h], a[..., h : 2 * h] = a[..., h : 2 * h].copy(), a[..., :h].copy()
        return a

    rec_step = 2.0 ** (spec.precision.recurrent_kernel.integer - spec.precision.recurrent_kernel.bits + 1)
    gross = [
        LayerWeights(swap(w.kernel), swap(w.recurrent_kernel), swap(w.bias)),
        LayerWeights(w.kernel, w.recurrent_kernel + rec_step, w.bias),
    ]
    for layer in gross:
        bad = dataclasses.replace(ref, layers=(layer, *ref.layers[1:]))
        with pytest.raises(AssertionError):
            assert_close_to_reference(keras_quant, bad.logits(x), FLIP_TOL)
    bias_step = 2.0 ** (spec.precision.dense_bias.integer - spec.precision.dense_bias.bits + 1)
    fine = [
        dataclasses.replace(ref, state_quantizer=None),
        dataclasses.replace(ref, input_quantizer=None),
        dataclasses.replace(ref, dense_bias=ref.dense_bias + bias_step * np.eye(len(ref.dense_bias))[0]),
    ]
    for bad in fine:
        with pytest.raises(AssertionError):
            _check_quantized_trace(spec, tm.model, bad, x)


def _recording(a: Activation, kind: str, gaps: list) -> Callable[[np.ndarray], np.ndarray]:
    """The quantized activation, also noting how far (in output steps) its exact value is from a tie."""
    if a.bits is None:  # an unquantized activation has no ties
        return activation_fn(a, kind, quantized=True)
    steps = 2.0 ** (a.bits - 1 if kind == "state" else a.bits)
    exact = activation_fn(Activation(a.function), kind, quantized=False)
    quantized = activation_fn(a, kind, quantized=True)

    def fn(x):
        scaled = exact(x) * steps
        gaps.append(np.abs(scaled - np.floor(scaled) - 0.5))
        return quantized(x)

    return fn


def _tie_gap(spec, ref: ReferenceModel, layer: int, x_t, h, c) -> np.ndarray:
    """Per sample and unit, the closest any activation feeding that unit's h (and c) comes to a rounding
    tie (LSTM: i, f, g, o and tanh(c) of the unit; GRU with reset_after: z, r and the candidate of the
    unit; without it every r feeds every candidate, so its closest r counts for all), for the step
    computed in float64 from the given (Keras) states."""
    gaps: list = []
    act = _recording(spec.model.activation, "state", gaps)
    w = ref.layers[layer]
    args = (w.kernel, w.recurrent_kernel, w.bias)
    x_t = x_t.astype(np.float64)
    if spec.model.cell == "lstm":
        rec = _recording(spec.model.recurrent_activation, "gate", gaps)
        lstm_step(x_t, h, c, *args, act, rec, ref.state_quantizer)
    elif spec.model.cell == "gru":
        rec = _recording(spec.model.recurrent_activation, "gate", gaps)
        gru_step(x_t, h, *args, act, rec, spec.model.reset_after, ref.state_quantizer)
    else:
        simple_rnn_step(x_t, h, *args, act, ref.state_quantizer)
    per_unit = np.min(gaps, axis=0)
    if spec.model.cell == "gru" and not spec.model.reset_after:
        per_unit = np.minimum(per_unit, np.min(gaps, axis=(0, 2))[:, None])
    return per_unit


SLOPE = {"tanh": 1.0, "hard_tanh": 1.0, "sigmoid": 0.25, "hard_sigmoid": 0.5}  # max |d act / dx|


def _tie_gap_bound(spec, ref: ReferenceModel, x_max: float) -> float:
    """How close to a level tie (in output steps) a quantized activation's exact input must be for float32
    Keras to take the other level, bounded from the arithmetic, for any summation order:

    a gate pre-activation is a sum of K = X + H + 2 terms (products, biases; the GRU's r (h U_h + b) adds
    one), each product of fixed-point operands exact in float32 (<= 24 significant bits). Summed in any
    order, the float32 result errs by at most K U32 sum|terms| (the standard gamma_K bound), sum|terms| <=
    sum_i |W_ij| max|x| + sum_i |U_ij| max|h| + sum|b_j|, |h| <= 1 (h is o tanh(c) or a mix of tanh
    values). Through the activation (slope <= SLOPE) that moves its value by SLOPE K U32 sum|terms|; TF's
    float32 tanh / sigmoid add ACTIVATION_ERR. In output steps (2^bits of a gate, 2^(bits-1) of a tanh)
    that is the largest gap to a tie that float32 can cross. (LSTM's c = f c + i g and the GRU's
    h = z h + (1 - z) hh are exact in float32: products of <= 16-bit grids, sums within 24 bits; so is the
    tanh's input c.) An unrelated bug makes states diverge at any gap, nearly always a larger one."""
    bound, in_max = 0.0, x_max
    for w in ref.layers:
        terms = w.kernel.shape[0] + w.units + 2
        bias = np.abs(w.bias).reshape(-1, w.kernel.shape[1]).sum(axis=0)
        sums = np.abs(w.kernel).sum(axis=0) * in_max + np.abs(w.recurrent_kernel).sum(axis=0) + bias
        dz = terms * U32 * float(sums.max())
        acts = [(spec.model.activation, 2 ** ((spec.model.activation.bits or 1) - 1))]
        if spec.model.cell != "simple_rnn":
            acts.append((spec.model.recurrent_activation, 2 ** (spec.model.recurrent_activation.bits or 0)))
        for a, steps in acts:
            if a.bits is not None:
                bound = max(bound, steps * (SLOPE[a.function] * dz + ACTIVATION_ERR))
        in_max = 1.0
    return bound


def _check_quantized_trace(spec, model, ref: ReferenceModel, x: np.ndarray) -> None:
    """The QKeras model's own cells, stepped over x, against the reference's trace: states exactly equal
    until a level flip, every flip at a tie float32 cannot resolve (`_tie_gap_bound`), and the head's
    logits within float32 rounding on every sample whose states never diverged."""
    trace = ref.trace(x)
    assert len(trace.layers) == len(spec.model.units)
    # the QKeras model's first layer is its input quantizer (spec precision.input); its cells see x_q
    h_in = model.get_layer(INPUT_QUANTIZER)(x).numpy()
    expected_in = ref.input_quantizer(x.astype(np.float64)) if ref.input_quantizer else x
    assert np.array_equal(h_in, expected_in), "input quantizer"
    gap_bound = _tie_gap_bound(spec, ref, float(np.abs(h_in).max()))
    assert gap_bound < 0.05, "float32 could not tell these levels apart: the bound would say nothing"
    clean = np.ones(len(x), bool)
    for i, layer_trace in enumerate(trace.layers):
        h, c = _keras_cell_trace(model.get_layer(f"rnn{i + 1}"), h_in)
        assert layer_trace.h.shape == h.shape
        assert (layer_trace.c is None) == (c is None)
        err = np.abs(layer_trace.h - h).max(axis=2)  # (N, T)
        if c is not None:
            err = np.maximum(err, np.abs(layer_trace.c - c).max(axis=2))
        # States are exact in float32 (see _tie_gap_bound) until an activation flips a level: a state that
        # differs at all has diverged. How many do depends on the CPU; where each starts does not.
        diverged = np.nonzero(err.max(axis=1) > 0)[0]
        clean[diverged] = False
        print(
            f"{spec.name} quantized rnn{i + 1} trace over {h.shape[1]} steps: max diff {err.max():.3g}, "
            f"samples diverging: {len(diverged)} of {len(err)} (not asserted)"
        )
        if len(diverged):
            # where each diverges first, every unit whose h or c differs must have an activation at a tie
            first = (err[diverged] > 0).argmax(axis=1)
            units = np.abs(layer_trace.h[diverged, first] - h[diverged, first]) > 0
            if c is not None:
                units |= np.abs(layer_trace.c[diverged, first] - c[diverged, first]) > 0
            zeros = np.zeros((len(diverged), h.shape[2]))
            h_prev = np.where((first > 0)[:, None], h[diverged, first - 1], zeros)
            c_prev = np.where((first > 0)[:, None], c[diverged, first - 1], zeros) if c is not None else None
            gaps = np.where(units, _tie_gap(spec, ref, i, h_in[diverged, first], h_prev, c_prev), 0.0)
            worst = gaps.max(axis=1)
            print(f"  gap to a tie where each diverges (steps; bound {gap_bound:.3g}): {worst[:10]}")
            assert np.all(worst <= gap_bound), f"samples {diverged[worst > gap_bound][:10]} diverge off a tie"
        h_in = h
    # The head on the final h: products of the h grid and 8-bit weights are exact in float32, their sum of
    # H + 1 terms errs by at most (H + 1) U32 sum|terms| in any order.
    last = h_in[:, -1]
    head = model.get_layer("head")(last).numpy()
    terms = np.abs(last.astype(np.float64)) @ np.abs(ref.dense_kernel) + np.abs(ref.dense_bias)
    head_tol = (last.shape[1] + 1) * U32 * terms.max()
    head_err = np.abs(head - trace.logits).max(axis=1)
    worst = head_err[clean].max(initial=0.0)
    print(f"  head on {clean.sum()} undiverged samples: max diff {worst:.3g} (bound {head_tol:.3g})")
    assert np.all(head_err[clean] <= head_tol), "head logits beyond float32 rounding"


@pytest.mark.parametrize("quantized", [False, True])
def test_trained_trace_matches_keras_cells(trained, quantized: bool):
    spec, tm, _, _ = trained
    x = tm.dataset.x_test
    if quantized:
        _check_quantized_trace(spec, tm.model, ReferenceModel.from_keras(spec, tm.model, quantized=True), x)
        return
    ref = ReferenceModel.from_keras(spec, tm.float_model, quantized=False)
    trace = ref.trace(x)
    h_in = x
    for i, layer_trace in enumerate(trace.layers):
        h, c = _keras_cell_trace(tm.float_model.get_layer(f"rnn{i + 1}"), h_in)
        err = np.abs(layer_trace.h - h).max()
        if c is not None:
            err = max(err, np.abs(layer_trace.c - c).max())
        print(f"{spec.name} float rnn{i + 1} trace over {h.shape[1]} steps: max diff {err:.3g}")
        assert err <= FLOAT_TOL
        h_in = h


# --- random small models ----------------------------------------------------------------------------

PRECISION = {
    "kernel": {"bits": 8, "integer": 0},
    "recurrent_kernel": {"bits": 8, "integer": 0},
    "bias": {"bits": 8, "integer": 2},
    "dense_kernel": {"bits": 8, "integer": 1},
    "dense_bias": {"bits": 8, "integer": 2},
}
LENGTH, CHANNELS, CLASSES, SAMPLES = 7, 3, 4, 64


def _random_configs():
    cells = [("lstm", True), ("gru", True), ("gru", False), ("simple_rnn", True)]
    for (cell, reset_after), units, act, bits in itertools.product(
        cells, ([5], [4, 3]), ("tanh", "hard_tanh"), (None, 8)
    ):
        for gate in ("sigmoid", "hard_sigmoid") if cell != "simple_rnn" else (None,):
            yield cell, reset_after, units, act, gate, bits


def _config_id(config) -> str:
    cell, reset_after, units, act, gate, bits = config
    ra = ("-ra" if reset_after else "-rb") if cell == "gru" else ""
    return f"{cell}{ra}-{len(units)}L-{act}-{gate or 'nogate'}-{bits or 'float'}"


@pytest.mark.parametrize("config", list(_random_configs()), ids=_config_id)
def test_random_model(config):
    cell, reset_after, units, act, gate, bits = config
    with_bits = {"bits": bits} if bits else {}
    model = {"cell": cell, "units": units, "activation": {"function": act, **with_bits}}
    if gate:
        model["recurrent_activation"] = {"function": gate, **with_bits}
    if cell == "gru":
        model["reset_after"] = reset_after
    precision = dict(PRECISION)
    if bits or len(units) == 2:  # a state quantizer both with and without quantized activations
        precision["state"] = {"bits": 16, "integer": 4}
    spec = parse_spec(
        {"name": "random", "dataset": "japanese_vowels", "model": model, "precision": precision}
    )

    rng = np.random.default_rng(zlib.crc32(_config_id(config).encode()))  # fixed per config
    float_model = build_model(spec, LENGTH, CHANNELS, CLASSES, quantized=False)
    quant_model = build_model(spec, LENGTH, CHANNELS, CLASSES, quantized=True)
    # Random weights everywhere (biases too, which Keras initialises to 0 / 1), partly outside the
    # quantizers' ranges so that clipping is exercised.
    weights = [rng.normal(0, 0.6, w.shape).astype(np.float32) for w in float_model.get_weights()]
    float_model.set_weights(weights)
    quant_model.set_weights(weights)
    x = rng.normal(0, 1, (SAMPLES, LENGTH, CHANNELS)).astype(np.float32)

    ref = ReferenceModel.from_keras(spec, float_model, quantized=False)
    trace = ref.trace(x)
    assert_close_to_reference(float_model(x).numpy(), trace.logits, FLOAT_TOL, _config_id(config))
    if len(units) == 2:  # the inner layer's whole output sequence, through Keras' own layer loop
        inner = tf.keras.Model(float_model.input, float_model.get_layer("rnn1").output)(x).numpy()
        assert np.abs(trace.layers[0].h - inner).max() <= FLOAT_TOL

    # A level flip at a tie is legitimate (conftest.py: FLIP_TOL); how many there are is the CPU's.
    qref = ReferenceModel.from_keras(spec, quant_model, quantized=True)
    assert_close_to_reference(quant_model(x).numpy(), qref.logits(x), FLIP_TOL, _config_id(config))
