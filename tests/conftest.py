"""Shared fixtures. TensorFlow's C++ start-up chatter is silenced before anything imports it."""

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "models"
# One Verilator build cache for every test, whatever folder a test runs codesign from.
os.environ.setdefault("CODESIGN_SIM_BUILD", str(ROOT / "build" / "sim"))


@pytest.fixture
def model_copy(tmp_path: Path):
    """Copy a committed model folder into tmp_path, so a test may edit its spec or weights."""

    def copy(name: str) -> Path:
        target = tmp_path / name
        shutil.copytree(MODELS / name, target)
        return target

    return copy


def write_untrained_lstm(folder: Path, qat_epochs: int) -> tuple[Path, object, object, object]:
    """A model folder with an LSTM(4) on JapaneseVowels at 6-bit weights, as initialised: pruning and
    fine-tuning need no trained start to be tested, and skipping training keeps tests short. Returns the
    folder, the dataset and the quantized and float models; the caller writes metrics.json."""
    import yaml

    from codesign.data import load_dataset
    from codesign.models.builders import build_model
    from codesign.models.train import FLOAT_WEIGHTS, WEIGHTS
    from codesign.spec import load_spec

    tf = pytest.importorskip("tensorflow")
    folder.mkdir()
    data = {
        "dataset": "japanese_vowels",
        "model": {"cell": "lstm", "units": [4], "activation": {"function": "tanh", "bits": 6}},
        "precision": {
            "kernel": {"bits": 6, "integer": 0},
            "recurrent_kernel": {"bits": 6, "integer": 0},
            "bias": {"bits": 6, "integer": 1},
            "dense_kernel": {"bits": 6, "integer": 1},
            "dense_bias": {"bits": 6, "integer": 1},
        },
        "training": {"qat_epochs": qat_epochs, "batch_size": 64, "seed": 5, "patience": 1},
    }
    (folder / "spec.yml").write_text(yaml.safe_dump(data))
    spec = load_spec(folder)
    ds = load_dataset(spec.dataset, spec.training.validation_fraction, spec.training.seed)
    tf.keras.utils.set_random_seed(spec.training.seed)
    model = build_model(spec, ds.length, ds.channels, ds.num_classes, quantized=True)
    model.save_weights(folder / WEIGHTS)
    float_model = build_model(spec, ds.length, ds.channels, ds.num_classes, quantized=False)
    float_model.set_weights(model.get_weights())
    float_model.save_weights(folder / FLOAT_WEIGHTS)
    return folder, ds, model, float_model


def assert_provenance(metrics: dict) -> None:
    """metrics.json records what fine-tuned or trained its weights: the versions installed now, the date
    and the command (codesign.models.folder)."""
    import datetime
    from importlib.metadata import version

    import codesign

    prov = metrics["provenance"]
    assert prov["versions"] == {
        "tensorflow": version("tensorflow"),
        "qkeras": version("qkeras"),
        "numpy": version("numpy"),
        "codesign": codesign.__version__,
    }
    written = datetime.datetime.fromisoformat(prov["date"])
    assert abs((datetime.datetime.now(datetime.timezone.utc) - written).total_seconds()) < 24 * 3600
    assert isinstance(prov["command"], str) and prov["command"]
    assert "versions" not in metrics  # one place for them
