"""Delta networks: the spec field, the float64 reference against the hardware's memory form, the QKeras
delta cells against the reference, and `codesign delta` (fine-tuning into a model folder)."""

import copy
import json

import numpy as np
import pytest
import yaml
from conftest import FLIP_TOL, MODELS, assert_close_to_reference
from test_spec import MINIMAL

from codesign.delta import hold, temporal_sparsity
from codesign.errors import CodesignError
from codesign.reference import LayerWeights, ReferenceModel, activation_fn, precision_fn, quantize
from codesign.spec import Activation, Precision, load_spec, parse_spec

STATE = {"bits": 16, "integer": 4}


def _spec(delta, **model):
    data = copy.deepcopy(MINIMAL)
    data["precision"]["state"] = STATE
    data["model"].update(model)
    data["delta"] = delta
    return data


def test_spec_reads_delta():
    spec = parse_spec(_spec({"threshold_x": 3, "threshold_h": 5, "base": "m"}))
    assert (spec.delta.threshold_x, spec.delta.threshold_h, spec.delta.base) == (3, 5, "m")
    assert parse_spec(MINIMAL).delta is None


@pytest.mark.parametrize(
    "data, field",
    [
        (_spec({"threshold_x": -1, "threshold_h": 0}), "delta.threshold_x"),
        (_spec({"threshold_x": 0, "threshold_h": 1.5}), "delta.threshold_h"),
        (_spec({"threshold_x": 0}), "delta.threshold_h: missing"),
        (_spec({"threshold_x": 0, "threshold_h": 0, "window": 3}), "delta.window: unknown"),
        (_spec({"threshold_x": 0, "threshold_h": 0}, cell="simple_rnn"), "delta: delta networks"),
        (_spec({"threshold_x": 0, "threshold_h": 0}, cell="gru", reset_after=False), "reset_after"),
        ({**copy.deepcopy(MINIMAL), "delta": {"threshold_x": 0, "threshold_h": 0}}, "precision.state"),
    ],
)
def test_bad_delta_fields_are_named(data, field):
    with pytest.raises(CodesignError, match=field.replace(".", r"\.")):
        parse_spec(data, "spec.yml")


def test_hold_keeps_values_until_they_move_past_the_threshold():
    u_hat = np.zeros(3)
    for u, expect in (([0.5, 0.25, -1.0], [0.5, 0.0, -1.0]), ([0.75, 0.5, -0.75], [0.5, 0.5, -1.0])):
        u_hat, changed = hold(np.array(u), u_hat, 0.25)
        assert u_hat.tolist() == expect
    assert changed.tolist() == [False, True, False]  # exactly the threshold is not a change


# --- the reference against the hardware's form: M_t = M_{t-1} + W dx_t + U dh_{t-1} ----------------


def _random_model(rng, cell: str, units: int, inputs: int, layers: int, bits: int) -> ReferenceModel:
    gates = {"lstm": 4, "gru": 3}[cell]

    def grid(shape, p):
        return quantize(rng.normal(0, 0.5, shape), p)

    w, b = Precision(bits, 0), Precision(bits, 2)
    stack, width = [], inputs
    for _ in range(layers):
        bias_shape = (2, 3 * units) if cell == "gru" else (gates * units,)
        stack.append(
            LayerWeights(
                grid((width, gates * units), w), grid((units, gates * units), w), grid(bias_shape, b)
            )
        )
        width = units
    state, act_bits = Precision(12, 3), int(rng.integers(4, 9))
    return ReferenceModel(
        cell=cell,
        layers=tuple(stack),
        dense_kernel=grid((units, 3), w),
        dense_bias=grid((3,), b),
        activation=activation_fn(Activation(rng.choice(["tanh", "hard_tanh"]), act_bits), "state", True),
        recurrent_activation=activation_fn(
            Activation(rng.choice(["sigmoid", "hard_sigmoid"]), act_bits), "gate", True
        ),
        state_quantizer=precision_fn(state),
        input_quantizer=precision_fn(Precision(10, 3)),
        delta=(int(rng.integers(0, 40)) * 2.0**-6, int(rng.integers(0, 200)) * state.lsb),
    )


def _memory_form(model: ReferenceModel, x: np.ndarray) -> list[np.ndarray]:
    """Every layer's h trace computed as delta hardware does: pre-activation memories updated by the
    changes only (skipped entries contribute nothing), written independently of codesign.reference."""
    q = model.state_quantizer
    u_seq = model.input_quantizer(x)
    traces = []
    for index, lw in enumerate(model.layers):
        n, steps, width = u_seq.shape
        units = lw.units
        th_u = model.delta[0] if index == 0 else model.delta[1]
        h, c = np.zeros((n, units)), np.zeros((n, units))
        u_hat, h_hat = np.zeros((n, width)), np.zeros((n, units))
        if model.cell == "gru":
            m_x, m_h = np.tile(lw.bias[0], (n, 1)), np.tile(lw.bias[1], (n, 1))
        else:
            m_x, m_h = np.tile(lw.bias, (n, 1)), np.zeros((n, 4 * units))
        hs = []
        for t in range(steps):
            du = u_seq[:, t] - u_hat
            du[np.abs(du) <= th_u] = 0.0
            dh = q(h) - h_hat
            dh[np.abs(dh) <= model.delta[1]] = 0.0
            u_hat, h_hat = u_hat + du, h_hat + dh
            m_x, m_h = m_x + du @ lw.kernel, m_h + dh @ lw.recurrent_kernel
            act, gate = model.activation, model.recurrent_activation
            if model.cell == "lstm":
                zi, zf, zc, zo = np.split(m_x + m_h, 4, axis=1)
                c = gate(zf) * q(c) + gate(zi) * act(zc)
                h = gate(zo) * act(c)
            else:
                xz, xr, xh = np.split(m_x, 3, axis=1)
                hz, hr, hh = np.split(m_h, 3, axis=1)
                z, r = gate(xz + hz), gate(xr + hr)
                h = z * q(h) + (1 - z) * act(xh + r * hh)
            hs.append(h)
        traces.append(np.stack(hs, axis=1))
        u_seq = traces[-1]
    return traces


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_reference_equals_the_memory_form_bit_for_bit(cell, seed):
    rng = np.random.default_rng(seed)
    model = _random_model(
        rng, cell, int(rng.integers(2, 9)), int(rng.integers(1, 6)), int(rng.integers(1, 3)), 8
    )
    x = np.cumsum(rng.normal(0, 0.3, (5, int(rng.integers(3, 12)), model.layers[0].kernel.shape[0])), axis=1)
    trace = model.trace(x)
    for got, want in zip(trace.layers, _memory_form(model, x), strict=True):
        np.testing.assert_array_equal(got.h, want)
    s = temporal_sparsity(trace)
    assert 0.0 <= s["x"] <= 1.0 and 0.0 <= s["h"] <= 1.0


def test_zero_thresholds_compute_the_plain_network():
    model = _random_model(np.random.default_rng(3), "lstm", 6, 4, 2, 8)
    x = np.random.default_rng(4).normal(0, 1, (6, 9, 4))
    plain = ReferenceModel(**{**model.__dict__, "delta": None})
    np.testing.assert_array_equal(
        ReferenceModel(**{**model.__dict__, "delta": (0.0, 0.0)}).logits(x), plain.logits(x)
    )


# --- QKeras delta cells against the reference -------------------------------------------------------


@pytest.mark.parametrize("name, thresholds", [("jvowels_lstm", (128, 256)), ("basicmotions_gru", (256, 512))])
def test_qkeras_delta_model_matches_the_reference(name, thresholds):
    from codesign.models.builders import build_model
    from codesign.models.train import load_trained

    base_spec = load_spec(MODELS / name)
    base = load_trained(base_spec)
    data = yaml.safe_load(base_spec.path.read_text())
    data["delta"] = {"threshold_x": thresholds[0], "threshold_h": thresholds[1]}
    spec = parse_spec(data, "delta spec", base_spec.path)
    ds = base.dataset
    model = build_model(spec, ds.length, ds.channels, ds.num_classes, quantized=True)
    model.set_weights(base.model.get_weights())
    trace = ReferenceModel.from_keras(spec, model, quantized=True).trace(ds.x_test)
    assert_close_to_reference(model.predict(ds.x_test, verbose=0), trace.logits, FLIP_TOL, f"{name} delta")
    s = temporal_sparsity(trace)
    assert s["x"] > 0.3 and s["h"] > 0.5  # these thresholds skip most changes on both data sets


# --- codesign delta ----------------------------------------------------------------------------------


def test_delta_stage_writes_a_model_folder(model_copy):
    from codesign.compress.delta_finetune import delta_finetune
    from codesign.models.train import load_trained

    base = load_spec(model_copy("basicmotions_gru"))
    new = delta_finetune(base, 256, 512, epochs=1, progress=False, log=lambda *_: None)
    assert new.folder.name == "basicmotions_gru-delta256-512"
    assert (new.delta.threshold_x, new.delta.threshold_h, new.delta.base) == (256, 512, "basicmotions_gru")
    metrics = json.loads((new.folder / "metrics.json").read_text())
    d = metrics["delta"]
    assert set(d["temporal_sparsity"]) == {"x", "h"} and d["split"] == "test"
    assert metrics["epochs"]["fine_tune"] == 1
    trained = load_trained(new)
    trace = ReferenceModel.from_keras(new, trained.model, quantized=True).trace(trained.dataset.x_test)
    assert temporal_sparsity(trace) == d["temporal_sparsity"]
    with pytest.raises(CodesignError, match="already a delta network"):
        delta_finetune(new, 1, 1, progress=False)


def test_delta_stage_refuses_bad_options_before_training(model_copy):
    from codesign.compress.delta_finetune import check_options

    base = load_spec(model_copy("jvowels_lstm"))
    with pytest.raises(CodesignError, match="--threshold-h -2"):
        check_options(base, 1, -2, None)
    with pytest.raises(CodesignError, match="--name"):
        check_options(base, 1, 2, "jvowels_lstm")
    assert not (base.folder.parent / "jvowels_lstm-delta1-2").exists()


def test_hls_refuses_and_the_engine_models_delta(model_copy, capsys, tmp_path):
    """hls says plainly it has no delta cell; codesign rtl runs the golden and cycle model (temporal
    sparsity equal to the reference's, fewer cycles than without delta); the RTL build has delta mode
    with the image's thresholds."""
    from codesign.cli import main
    from codesign.engine.encoder import load_image
    from codesign.engine.params import rtl_parameters
    from codesign.models.train import load_trained

    folder = model_copy("jvowels_lstm")
    text = (
        folder / "spec.yml"
    ).read_text() + "delta: {threshold_x: 128, threshold_h: 256, base: jvowels_lstm}\n"
    (folder / "spec.yml").write_text(text)
    assert main(["hls", str(folder / "spec.yml")]) == 2
    assert "hls4ml has no delta cell" in capsys.readouterr().err

    assert main(["rtl", str(folder / "spec.yml"), "--pes", "8", "--out", str(tmp_path), "-q"]) == 0
    report = json.loads((tmp_path / "jvowels_lstm" / "report.json").read_text())
    spec = load_spec(folder)
    trained = load_trained(spec)
    trace = ReferenceModel.from_keras(spec, trained.model, quantized=True).trace(trained.dataset.x_test)
    assert report["delta"]["temporal_sparsity"] == pytest.approx(temporal_sparsity(trace), abs=1e-12)
    assert report["delta"]["speedup_vs_no_delta"] > 1.5
    assert report["accuracy_golden"] == pytest.approx(
        np.mean(trace.logits.argmax(1) == trained.dataset.y_test)
    )
    params = json.loads((tmp_path / "jvowels_lstm" / "params.json").read_text())
    image = load_image(tmp_path / "jvowels_lstm")
    t = image.types  # thresholds in act raw: LSBs of the input and cell types, shifted (exact)
    assert image.delta == (128 << (t.act.frac - t.input.frac), 256 << (t.act.frac - t.cell.frac))
    p = rtl_parameters(params)
    assert (p["Delta"], p["ThresholdX"], p["ThresholdH"]) == (1, *image.delta)
    params["delta"]["threshold_h"] = 1 << t.act.width  # wider than act: one line naming the field
    with pytest.raises(CodesignError, match="delta.threshold_h"):
        rtl_parameters(params)


@pytest.mark.parametrize("name", ["jvowels_lstm-delta128-256", "basicmotions_gru-delta256-512"])
def test_committed_delta_models_match_their_metrics(name):
    """metrics.json's delta figures are the float64 reference's (CPU-independent): re-derived here."""
    from codesign.models.train import load_trained

    spec = load_spec(MODELS / name)
    trained = load_trained(spec)
    metrics = json.loads((spec.folder / "metrics.json").read_text())
    ds = trained.dataset
    trace = ReferenceModel.from_keras(spec, trained.model, quantized=True).trace(ds.x_test)
    assert temporal_sparsity(trace) == metrics["delta"]["temporal_sparsity"]
    assert np.mean(trace.logits.argmax(1) == ds.y_test) == metrics["delta"]["accuracy_reference"]
    assert_close_to_reference(trained.model.predict(ds.x_test, verbose=0), trace.logits, FLIP_TOL, name)
