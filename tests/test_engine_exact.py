"""The engine's golden model computes QKeras' arithmetic exactly (issue 9): for random LSTM and GRU specs the
engine takes, random weights on their grids (through the real encoder) and random inputs (incl. values
at and beyond the input range), every step's exact h_t of every layer and the logits equal
`codesign.reference.ReferenceModel` (float64, exact on these operands) bit for bit. No TensorFlow: the
reference is the float64 numpy model; the shipped models are checked on their whole test sets too.

`-m "not slow"` runs a bounded number of examples; the `slow` twin runs many more.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codesign.delta import threshold_values
from codesign.engine import EngineConfig, encode, run_golden, run_golden_from_memory
from codesign.engine.encoder import MAX_LAYERS, engine_model_from_weights, model_from_trained
from codesign.errors import CodesignError
from codesign.reference import LayerWeights, ReferenceModel, activation_fn, precision_fn, quantize
from codesign.spec import load_spec, parse_spec

ROOT = Path(__file__).resolve().parents[1]
FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _precision(draw, bits: tuple[int, int], integer: int) -> dict:
    b = draw(st.integers(*bits))
    return {"bits": b, "integer": draw(st.integers(0, min(integer, b - 1)))}


@st.composite
def cases(draw, cell: str = "lstm", delta: bool = False):
    """(spec, latent weights on their grids, input frames, NumPe, index width) of an LSTM or a GRU
    (reset_after), as a delta network with random thresholds when `delta`."""
    layers = draw(st.integers(1, MAX_LAYERS))
    units = [draw(st.integers(2, 16)) for _ in range(layers)]
    precision = {
        "kernel": _precision(draw, (3, 10), 2),
        "recurrent_kernel": _precision(draw, (3, 10), 2),
        "bias": _precision(draw, (3, 10), 4),
        "dense_kernel": _precision(draw, (3, 10), 2),
        "dense_bias": _precision(draw, (3, 10), 4),
        "state": _precision(draw, (4, 16), 5),
        "input": _precision(draw, (4, 16), 6),
    }
    spec = parse_spec(
        {
            "name": "exact",
            "dataset": "japanese_vowels",
            "model": {
                "cell": cell,
                "units": units,
                "activation": {
                    "function": draw(st.sampled_from(["tanh", "hard_tanh"])),
                    "bits": draw(st.integers(3, 10)),
                },
                "recurrent_activation": {
                    "function": draw(st.sampled_from(["sigmoid", "hard_sigmoid"])),
                    "bits": draw(st.integers(3, 10)),
                },
            },
            "precision": precision,
            **(
                {
                    "delta": {
                        "threshold_x": draw(st.integers(0, min(64, 2 ** precision["input"]["bits"]))),
                        "threshold_h": draw(st.integers(0, min(256, 2 ** precision["state"]["bits"]))),
                    }
                }
                if delta
                else {}
            ),
        }
    )
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    density = draw(st.sampled_from([0.3, 0.7, 1.0]))

    def grid(p, shape):
        # raw values over the whole grid (min and max included), then some zeros
        t = p.fixed_type()
        raw = rng.integers(t.raw_min, t.raw_max + 1, shape)
        raw[rng.random(shape) >= density] = 0
        return t.to_float(raw)

    p = spec.precision
    inputs = draw(st.integers(1, 6))
    weights, fan_in = [], inputs
    gates, bias_shape = (4, lambda h: (4 * h,)) if cell == "lstm" else (3, lambda h: (2, 3 * h))
    for h in units:
        weights.append(
            (
                grid(p.kernel, (fan_in, gates * h)),
                grid(p.recurrent_kernel, (h, gates * h)),
                grid(p.bias, bias_shape(h)),
            )
        )
        fan_in = h
    classes = draw(st.integers(2, 5))
    dense = (grid(p.dense_kernel, (fan_in, classes)), grid(p.dense_bias, (classes,)))
    n, steps = draw(st.integers(2, 6)), draw(st.integers(1, 6))
    span = p.input.max_value
    x = rng.normal(0.0, draw(st.sampled_from([0.5, 2.0])) * span / 4, (n, steps, inputs))
    x[rng.random(x.shape) < 0.15] = 0.0
    edges = np.array([p.input.min_value, p.input.max_value, -2 * span, 3 * span, 1e6, -1e6, np.inf, -np.inf])
    x.ravel()[rng.integers(0, x.size, 3)] = rng.choice(edges, 3)  # at and beyond the input range
    return spec, weights, dense, x, draw(st.integers(1, 8)), draw(st.integers(1, 4))


def reference_of(spec, weights, dense) -> ReferenceModel:
    """The QKeras model's numpy twin, from the same latent weights (quantized by the spec's quantizers)."""
    p, m = spec.precision, spec.model
    return ReferenceModel(
        cell=m.cell,
        layers=tuple(
            LayerWeights(quantize(k, p.kernel), quantize(r, p.recurrent_kernel), quantize(b, p.bias))
            for k, r, b in weights
        ),
        dense_kernel=quantize(dense[0], p.dense_kernel),
        dense_bias=quantize(dense[1], p.dense_bias),
        activation=activation_fn(m.activation, "state", quantized=True),
        recurrent_activation=activation_fn(m.recurrent_activation, "gate", quantized=True),
        state_quantizer=precision_fn(p.state),
        input_quantizer=precision_fn(p.input),
        delta=None if spec.delta is None else threshold_values(spec),
    )


def weight_width(spec) -> int:
    """The narrowest weight word holding every weight precision (the encoder takes the finest fraction)."""
    ts = [
        q.fixed_type()
        for q in (spec.precision.kernel, spec.precision.recurrent_kernel, spec.precision.dense_kernel)
    ]
    return max(4, max(t.frac for t in ts) + max(t.integer for t in ts))


def check_exact(case) -> None:
    spec, weights, dense, x, num_pe, index_width = case
    model = engine_model_from_weights(spec, list(weights), dense)
    image = encode(
        model, EngineConfig(num_pe=num_pe, weight_width=weight_width(spec), index_width=index_width)
    )
    golden = run_golden(image, x)
    ref = reference_of(spec, weights, dense).trace(x)
    for li in range(len(weights)):
        assert np.array_equal(golden.h_float(li), ref.layers[li].h), f"layer {li} h_t differs"
    assert np.array_equal(golden.logits_float(), ref.logits)
    # the literal PE walk agrees on one sequence (a delta image: in the hardware's M_t = M_{t-1} + W dv form)
    walk = run_golden_from_memory(image, golden.x[0])
    assert np.array_equal(walk.logits[0], golden.logits[0])
    for li in range(len(weights)):
        assert np.array_equal(walk.h[li][0], golden.h[li][0]), f"layer {li} h_t differs in the PE walk"
    if spec.delta is not None:
        for li in range(len(weights)):
            assert np.array_equal(golden.input_changed[li], ref.layers[li].input_changed)
            assert np.array_equal(golden.state_changed[li], ref.layers[li].state_changed)


@FAST
@given(cases("lstm"))
def test_golden_equals_reference_on_random_specs(case):
    check_exact(case)


@FAST
@given(cases("gru"))
def test_gru_golden_equals_reference_on_random_specs(case):
    check_exact(case)


@FAST
@given(st.sampled_from(["lstm", "gru"]).flatmap(lambda cell: cases(cell, delta=True)))
def test_delta_golden_equals_reference_on_random_specs(case):
    check_exact(case)


@pytest.mark.slow
@SLOW
@given(st.tuples(st.sampled_from(["lstm", "gru"]), st.booleans()).flatmap(lambda a: cases(*a)))
def test_golden_equals_reference_on_random_specs_many(case):
    check_exact(case)


def test_unquantized_activations_and_missing_state_are_refused():
    base = load_spec(ROOT / "models" / "jvowels_lstm" / "spec.yml")
    from dataclasses import replace

    from codesign.engine.encoder import check_spec
    from codesign.spec import Activation

    for field, spec in (
        ("model.activation.bits", replace(base, model=replace(base.model, activation=Activation("tanh")))),
        (
            "model.recurrent_activation.bits",
            replace(base, model=replace(base.model, recurrent_activation=Activation("hard_sigmoid"))),
        ),
        ("precision.state", replace(base, precision=replace(base.precision, state=None))),
    ):
        with pytest.raises(CodesignError, match=field.replace(".", r"\.")) as err:
            check_spec(spec)
        assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    "name", ["jvowels_lstm-balanced90", "jvowels_lstm", "basicmotions_gru", "basicmotions_gru2"]
)
def test_shipped_models_golden_logits_equal_reference(name):
    """The committed models on their whole test sets: golden logits == the float64 reference's."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from codesign.models.train import load_trained

    spec = load_spec(ROOT / "models" / name / "spec.yml")
    trained = load_trained(spec)
    image = encode(model_from_trained(spec, trained.model), EngineConfig(num_pe=8))
    x = trained.dataset.x_test
    golden = run_golden(image, x)
    ref = ReferenceModel.from_keras(spec, trained.model, quantized=True).trace(x)
    assert np.array_equal(golden.h_float(0), ref.layers[0].h)
    assert np.array_equal(golden.logits_float(), ref.logits)
