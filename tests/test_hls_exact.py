"""Exact by construction: HLS C-simulation logits == the float64 reference's, bit for bit, on random specs.

Hypothesis draws small models the way a user could write them (LSTM or GRU with either reset placement,
1 to 3 layers, 2 to 16 units,
3 to 10 bits with various integer bits for every precision, input included, with and without a state
quantizer, hard and quantized real activations), random weights on their grids and random inputs, some
on exact rounding ties and some beyond the input range. Each model goes through the real QKeras builder,
`codesign.hls.exact`'s types, hls4ml with the project's extensions and g++; the only allowed outcome is
equal logits on every sequence. Compiling costs seconds per model, so `make test` checks a few fixed
(derandomized) examples per cell and `make test-all` many random ones.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st

pytest.importorskip("hls4ml")

# No shrinking: each example compiles a project, so shrinking a failure would take many minutes; the
# failing example is reported as drawn.
COMMON = dict(deadline=None, suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
FAST = settings(max_examples=5, derandomize=True, **COMMON)
THOROUGH = settings(max_examples=int(os.environ.get("CODESIGN_PROPERTY_EXAMPLES", "40")), **COMMON)
SEQUENCES = 12


@st.composite
def precisions(draw, max_integer: int = 3) -> dict:
    bits = draw(st.integers(3, 10))
    return {"bits": bits, "integer": draw(st.integers(0, min(bits - 1, max_integer)))}


@st.composite
def activations(draw, real: str, hard: str) -> dict:
    function = draw(st.sampled_from([real, hard]))
    bits = draw(st.integers(3, 10)) if function == real else draw(st.one_of(st.none(), st.integers(3, 10)))
    return {"function": function, **({"bits": bits} if bits is not None else {})}


@st.composite
def specs(draw, cell: str) -> dict:
    layers = draw(st.integers(1, 3))
    precision = {
        name: draw(precisions())
        for name in ("kernel", "recurrent_kernel", "bias", "dense_kernel", "dense_bias", "input")
    }
    if draw(st.booleans()):
        precision["state"] = draw(precisions(max_integer=4))
    return {
        "name": "prop",
        "dataset": "japanese_vowels",
        "model": {
            "cell": cell,
            "units": [draw(st.integers(2, 16)) for _ in range(layers)],
            "activation": draw(activations("tanh", "hard_tanh")),
            "recurrent_activation": draw(activations("sigmoid", "hard_sigmoid")),
            **({"reset_after": draw(st.booleans())} if cell == "gru" else {}),
        },
        "precision": precision,
    }


def _on_grid(rng, shape, p) -> np.ndarray:
    """Random values of quantized_bits(p.bits, p.integer), extremes included."""
    raw = rng.integers(-(2 ** (p.bits - 1)), 2 ** (p.bits - 1), size=shape)
    return raw * 2.0 ** (p.integer - p.bits + 1)


def _inputs(rng, n: int, steps: int, channels: int, p) -> np.ndarray:
    """Float32 frames: half-LSB multiples (rounding ties) up to 1.5x the input range, and arbitrary floats."""
    lsb = 2.0 ** (p.integer - p.bits + 1)
    top = 1.5 * 2.0**p.integer
    ties = rng.integers(-int(top / lsb * 2), int(top / lsb * 2) + 1, size=(n, steps, channels)) * lsb / 2
    smooth = rng.uniform(-top, top, size=(n, steps, channels))
    return np.where(rng.random((n, steps, channels)) < 0.5, ties, smooth).astype(np.float32)


def check_hls_equals_reference(data: dict, seed: int, steps: int, channels: int, classes: int, tmp_path):
    from codesign.hls.config import choose_types
    from codesign.hls.csim import convert
    from codesign.models.builders import build_model
    from codesign.reference import ReferenceModel
    from codesign.spec import parse_spec

    spec = parse_spec(data)
    p = spec.precision
    model = build_model(spec, steps, channels, classes, quantized=True)
    rng = np.random.default_rng(seed)
    gates = {"lstm": 4, "gru": 3}[spec.model.cell]
    inputs = channels
    for i, units in enumerate(spec.model.units):
        two_biases = spec.model.cell == "gru" and spec.model.reset_after
        bias_shape = (2, 3 * units) if two_biases else (gates * units,)
        model.get_layer(f"rnn{i + 1}").set_weights(
            [
                _on_grid(rng, (inputs, gates * units), p.kernel),
                _on_grid(rng, (units, gates * units), p.recurrent_kernel),
                _on_grid(rng, bias_shape, p.bias),
            ]
        )
        inputs = units
    model.get_layer("head").set_weights(
        [_on_grid(rng, (inputs, classes), p.dense_kernel), _on_grid(rng, (classes,), p.dense_bias)]
    )
    reference = ReferenceModel.from_keras(spec, model, quantized=True)
    x = _inputs(rng, SEQUENCES, steps, channels, p.input)
    types = choose_types(spec, reference, x)
    # Without a state quantizer, h and c need ever finer grids; past float64's 53 bits the reference itself
    # rounds, and the project says so (inexact_reason) instead of claiming equality.
    assume(types.exact)
    hls_model = convert(spec, model, types, tmp_path / f"p{seed}")
    hls_model.compile()
    logits = np.asarray(hls_model.predict(np.ascontiguousarray(x, np.float64)), np.float64)
    logits = logits.reshape(len(x), -1)
    expected = reference.logits(x)
    bad = np.flatnonzero(np.any(logits != expected, axis=1))
    assert bad.size == 0, (
        f"{bad.size} of {len(x)} sequences differ, first {bad[0]}: csim {logits[bad[0]]} "
        f"reference {expected[bad[0]]}; types {types}"
    )


def _property(cell: str):
    @given(
        data=specs(cell),
        seed=st.integers(0, 2**32 - 1),
        steps=st.integers(2, 6),
        channels=st.integers(1, 6),
        classes=st.integers(2, 5),
    )
    def check(tmp_path_factory, data, seed, steps, channels, classes):
        check_hls_equals_reference(data, seed, steps, channels, classes, tmp_path_factory.mktemp("hls"))

    return check


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_hls_csim_equals_reference_on_random_specs(cell, tmp_path_factory):
    FAST(_property(cell))(tmp_path_factory)


@pytest.mark.slow
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_hls_csim_equals_reference_on_many_random_specs(cell, tmp_path_factory):
    THOROUGH(_property(cell))(tmp_path_factory)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["jvowels_lstm2", "basicmotions_gru2"])
def test_stacked_models_csim_equals_reference(name, tmp_path):
    """The committed stacked models, trained: every test sequence's logits equal the reference's."""
    from pathlib import Path

    from codesign.hls.csim import run_csim
    from codesign.models.train import load_trained
    from codesign.spec import load_spec

    spec = load_spec(Path(__file__).resolve().parents[1] / "models" / name / "spec.yml")
    result = run_csim(load_trained(spec), tmp_path / name, log=lambda *a: None)
    assert result.types.exact, result.types.inexact_reason
    assert result.max_logit_error == 0.0
