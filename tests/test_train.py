"""Training, loading and the weights-versus-spec checks. Only the smoke test trains."""

import json

import numpy as np
import pytest
import yaml
from conftest import assert_provenance

from codesign.errors import CodesignError
from codesign.spec import load_spec

tf = pytest.importorskip("tensorflow")
from codesign.models.train import METRICS, load_trained, train  # noqa: E402

from conftest import assert_metrics_match_reference  # noqa: E402  isort: skip


def _tiny_spec(folder, cell="gru"):
    folder.mkdir()
    spec = {
        "dataset": "japanese_vowels",
        "model": {"cell": cell, "units": [4], "activation": {"function": "hard_tanh", "bits": 6}},
        "precision": {
            "kernel": {"bits": 6, "integer": 0},
            "recurrent_kernel": {"bits": 6, "integer": 0},
            "bias": {"bits": 6, "integer": 1},
            "state": {"bits": 12, "integer": 3},
            "dense_kernel": {"bits": 6, "integer": 1},
            "dense_bias": {"bits": 6, "integer": 1},
        },
        "training": {"epochs": 3, "qat_epochs": 2, "batch_size": 64, "seed": 5},
    }
    (folder / "spec.yml").write_text(yaml.safe_dump(spec))
    return load_spec(folder / "spec.yml")


def test_train_smoke_writes_model_folder(tmp_path):
    spec = _tiny_spec(tmp_path / "tiny")
    trained = train(spec, progress=False, log=lambda *_: None)
    files = sorted(p.name for p in (tmp_path / "tiny").iterdir())
    assert files == ["float.weights.h5", "metrics.json", "spec.yml", "weights.h5"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "staging folder left behind"
    metrics = json.loads((tmp_path / "tiny" / METRICS).read_text())
    assert metrics["params"] == trained.model.count_params()
    assert set(metrics["accuracy"]) >= {"float", "quantized"}
    assert metrics["size_bytes"]["quantized"] == metrics["params"] * 6 / 8
    assert 1 <= metrics["epochs"]["float"] <= 3
    assert_provenance(metrics)
    # the committed result is what loading gives back: the recorded accuracies are those of the loaded
    # weights, up to what float32 cannot decide (conftest.py; exact equality would test this CPU's kernels)
    assert_metrics_match_reference(load_trained(spec))


def test_failed_training_leaves_folder_untouched(tmp_path, monkeypatch):
    spec = _tiny_spec(tmp_path / "tiny")
    before = sorted(p.name for p in tmp_path.rglob("*"))

    def broken(self, *args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(tf.keras.Model, "save_weights", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        train(spec, progress=False, log=lambda *_: None)
    assert sorted(p.name for p in tmp_path.rglob("*")) == before


@pytest.mark.parametrize("name", ["jvowels_lstm", "basicmotions_gru"])
def test_committed_models_reproduce_their_metrics(name, model_copy):
    """metrics.json was measured by float32 Keras on the machine that trained the model: it must agree with
    the float64 reference of the committed weights, and so must Keras here, on every sample whose argmax
    float32 cannot change (conftest.py), not bit for bit."""
    spec = load_spec(model_copy(name) / "spec.yml")
    assert_metrics_match_reference(load_trained(spec))


def test_jvowels_reaches_the_bar(model_copy):
    metrics = json.loads((model_copy("jvowels_lstm") / METRICS).read_text())
    assert metrics["accuracy"]["quantized"] >= 0.94
    assert metrics["samples"]["test"] == 370


def test_narrowed_precision_cannot_hold_trained_weights(model_copy):
    folder = model_copy("jvowels_lstm")
    data = yaml.safe_load((folder / "spec.yml").read_text())
    data["precision"]["bias"] = {"bits": 8, "integer": 0}  # [-1, 1): the forget biases are above 1
    (folder / "spec.yml").write_text(yaml.safe_dump(data))
    with pytest.raises(CodesignError) as err:
        load_trained(load_spec(folder / "spec.yml"))
    text = str(err.value)
    assert "precision.bias: bits=8 integer=0" in text
    assert "cannot hold the trained rnn1.bias weights" in text
    assert str(folder / "spec.yml") in text


def test_weights_of_another_architecture_are_refused(model_copy):
    folder = model_copy("jvowels_lstm")
    data = yaml.safe_load((folder / "spec.yml").read_text())
    data["model"]["units"] = [16]
    (folder / "spec.yml").write_text(yaml.safe_dump(data))
    with pytest.raises(CodesignError, match=r"weights.h5: does not match the model in .*spec.yml"):
        load_trained(load_spec(folder / "spec.yml"))


def test_missing_weights_named(tmp_path):
    spec = _tiny_spec(tmp_path / "fresh")
    with pytest.raises(CodesignError, match="no trained model .*weights.h5.*missing.*codesign train"):
        load_trained(spec)


def test_quantized_weights_are_fixed_point_values(model_copy):
    """What QKeras computes with is exactly representable in the spec's ap_fixed type."""
    from codesign.models.builders import weight_precisions

    spec = load_spec(model_copy("jvowels_lstm") / "spec.yml")
    trained = load_trained(spec)
    layer = trained.model.get_layer("rnn1")
    q = np.asarray(layer.cell.kernel_quantizer_internal(layer.cell.kernel))
    (_, _, precision), *_ = weight_precisions(spec, trained.model)
    t = precision.fixed_type()
    assert np.array_equal(t.represent(q), q)
