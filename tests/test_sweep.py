"""codesign.sweep: sweep files and their errors, points, circulant projection, the hls points against
codesign.hls's own estimate, Pareto fronts, the per-point cache and resume, local processes and a local
Dask cluster, the outputs (CSV, JSON, MD, PNG), and a fine-tuned circulant point on a tiny model."""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import FLIP_TOL, assert_accuracy_matches_reference, write_untrained_lstm

from codesign.errors import CodesignError
from codesign.spec import load_spec
from codesign.sweep import command, load_sweep, pareto_mask, run_sweep
from codesign.sweep.config import TARGET_STRUCTURES, check_against_model, parse_sweep
from codesign.sweep.evaluate import evaluate_point
from codesign.sweep.model import accuracy, load_base, reference_model
from codesign.sweep.transform import circulant_layer

ROOT = Path(__file__).resolve().parents[1]
JV = ROOT / "models" / "jvowels_lstm" / "spec.yml"

SMALL = {
    "model": str(JV),
    "mode": "analytic",
    "axes": {
        "bits": [6, 8],
        "sparsity": [0.0, 0.5],
        "structure": ["unstructured", "balanced", "circulant"],
        "target": ["engine", "hls"],
        "num_pe": [4],
        "reuse_factor": [2],
        "circulant_block": [4],
    },
}


def write_sweep(folder: Path, data: dict, name: str = "small") -> Path:
    path = folder / f"{name}.yml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture(scope="module")
def base():
    return load_base(load_spec(JV))


def strip_timing(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "seconds"} for r in rows]


# --- sweep files -----------------------------------------------------------------------------------


def test_points_respect_target_structures(tmp_path):
    config = load_sweep(write_sweep(tmp_path, SMALL))
    points = config.points()
    for p in points:
        assert p["structure"] in TARGET_STRUCTURES[p["target"]]
        assert (p["num_pe"] is None) == (p["target"] == "hls")
        assert (p["reuse_factor"] is None) == (p["target"] == "engine")
    a = SMALL["axes"]
    # engine: unstructured + balanced over bits x sparsity; hls: unstructured over bits x sparsity and
    # circulant over bits only (its compression is 1/b, not a sparsity).
    n_bits, n_sp = len(a["bits"]), len(a["sparsity"])
    assert len(points) == 2 * n_bits * n_sp + n_bits * n_sp + n_bits
    assert len({json.dumps(p, sort_keys=True) for p in points}) == len(points)


@pytest.mark.parametrize(
    "change, field",
    [
        ({"colour": 1}, "colour"),
        ({"mode": "retrain"}, "mode"),
        ({"axes": {"bits": [8, 20]}}, "axes.bits[1]"),
        ({"axes": {"bits": []}}, "axes.bits"),
        ({"axes": {"sparsity": [0.99]}}, "axes.sparsity[0]"),
        ({"axes": {"structure": ["lowrank"]}}, "axes.structure[0]"),
        ({"axes": {"target": ["gpu"]}}, "axes.target[0]"),
        ({"axes": {"num_pe": [0]}}, "axes.num_pe[0]"),
        ({"axes": {"block": [[4]]}}, "axes.block[0]"),
        ({"axes": {"structure": ["circulant"], "target": ["engine"]}}, "axes"),
        ({"model": "models/nowhere/spec.yml"}, "model"),
        ({"board": "de10"}, "board"),
        ({"engine": {"index_width": 9}}, "engine.index_width"),
        ({"synthesize": "yes"}, "synthesize"),
        ({"synthesize": True, "axes": {"target": ["hls"]}}, "synthesize"),
    ],
)
def test_bad_sweep_files_name_file_and_field(tmp_path, change, field):
    data = {**SMALL, **{k: v for k, v in change.items() if k != "axes"}}
    if "axes" in change:
        data["axes"] = change["axes"]
    path = write_sweep(tmp_path, data, "bad")
    with pytest.raises(CodesignError) as err:
        load_sweep(path)
    assert str(path) in str(err.value)
    assert f": {field}:" in str(err.value)


def test_missing_and_malformed_sweep_files(tmp_path):
    with pytest.raises(CodesignError, match="no such sweep file"):
        load_sweep(tmp_path / "none.yml")
    path = tmp_path / "broken.yml"
    path.write_text("model: [unclosed\n")
    with pytest.raises(CodesignError, match=r"broken\.yml: line \d+: malformed YAML"):
        load_sweep(path)
    with pytest.raises(CodesignError, match=r"nomodel\.yml: model: missing required field"):
        load_sweep(write_sweep(tmp_path, {"axes": {}}, "nomodel"))


def test_block_shape_must_tile_the_gate_matrix(tmp_path, base):
    data = {**SMALL, "axes": {"structure": ["block"], "block": [[4, 4], [5, 4]]}}
    path = write_sweep(tmp_path, data, "blocks")
    config = load_sweep(path)
    with pytest.raises(CodesignError, match=r"blocks\.yml: axes\.block\[1\]: \[5, 4\] does not tile"):
        check_against_model(config, base.spec, base.gate_shapes())


# --- the model and the transforms -------------------------------------------------------------------


def test_reference_from_h5_weights_scores_what_keras_measured(base):
    """The weights read with h5py, at the spec's precisions, reproduce the QKeras model's test accuracy
    that training measured with Keras (metrics.json)."""
    p = base.spec.precision
    model = reference_model(
        base.spec, list(base.layers), base.dense, p.kernel, p.recurrent_kernel, p.dense_kernel
    )
    # metrics.json is float32 Keras: equal to the reference's up to what float32 cannot decide (conftest.py)
    assert_accuracy_matches_reference(
        base.quantized_accuracy, model.logits(base.x_test), base.y_test, FLIP_TOL
    )


def block_circulant(rng: np.random.Generator, rows: int, cols: int, b: int) -> np.ndarray:
    """A rows x cols block-circulant matrix by the definition W[i b + r, j b + c] = v_ij[(r - c) mod b],
    cropped from whole blocks (as C-LSTM pads the input)."""
    rb, cb = -(-rows // b), -(-cols // b)
    v = rng.normal(size=(rb, cb, b))
    w = np.zeros((rb * b, cb * b))
    for i in range(rb):
        for j in range(cb):
            for r in range(b):
                for c in range(b):
                    w[i * b + r, j * b + c] = v[i, j, (r - c) % b]
    return w[:rows, :cols]


@pytest.mark.parametrize("inputs, units, b", [(12, 8, 8), (6, 8, 4), (12, 32, 8)])
def test_circulant_layer_projects_w_x_and_w_h_separately(inputs, units, b):
    """A layer whose W_x and W_h are each block-circulant (W_x cropped from padded blocks) is its own
    projection; the projection is idempotent and least squares per matrix (the residual is orthogonal
    to every block-circulant W_x, W_h). Projecting [W_x W_h] as one matrix fails the first check when
    blocks straddle the boundary or the padding is averaged in (inputs not a multiple of b)."""
    rng = np.random.default_rng(inputs * 100 + b)
    wx, wh = block_circulant(rng, 4 * units, inputs, b), block_circulant(rng, 4 * units, units, b)
    k, r = circulant_layer(wx.T, wh.T, b)
    np.testing.assert_allclose(k, wx.T, atol=1e-12)
    np.testing.assert_allclose(r, wh.T, atol=1e-12)
    dense_k, dense_r = rng.normal(size=(inputs, 4 * units)), rng.normal(size=(units, 4 * units))
    k, r = circulant_layer(dense_k, dense_r, b)
    np.testing.assert_allclose(np.concatenate(circulant_layer(k, r, b)), np.concatenate([k, r]), atol=1e-12)
    ox, oh = block_circulant(rng, 4 * units, inputs, b), block_circulant(rng, 4 * units, units, b)
    assert float(np.sum((dense_k - k) * ox.T)) == pytest.approx(0.0, abs=1e-9)
    assert float(np.sum((dense_r - r) * oh.T)) == pytest.approx(0.0, abs=1e-9)


def test_unpruned_point_equals_the_committed_model(base):
    from codesign.sweep.evaluate import SweepContext

    ctx = SweepContext(base, "analytic", 100.0, 0.01, 4, 0, 0, "xc7z020clg400-1")
    point = {
        "target": "engine",
        "structure": "unstructured",
        "bits": base.spec.precision.kernel.bits,
        "sparsity": 0.0,
        "num_pe": 4,
        "reuse_factor": None,
        "block": None,
        "circulant_block": None,
    }
    row = evaluate_point(ctx, point)
    # The engine stores every non-zero weight (some round to 0 at 8 bits) and every bias.
    p = base.spec.precision
    model = reference_model(
        base.spec, list(base.layers), base.dense, p.kernel, p.recurrent_kernel, p.dense_kernel
    )
    assert row["accuracy"] == accuracy(model, base.x_test, base.y_test)  # both the float64 reference
    assert_accuracy_matches_reference(
        base.quantized_accuracy, model.logits(base.x_test), base.y_test, FLIP_TOL
    )
    weights = [w for layer in model.layers for w in (layer.kernel, layer.recurrent_kernel)] + [
        model.dense_kernel
    ]
    biases = [layer.bias for layer in model.layers] + [model.dense_bias]
    assert row["params_after"] == sum(int(np.count_nonzero(w)) for w in weights) + sum(b.size for b in biases)
    assert row["params_before"] == base.params == sum(w.size for w in weights + biases)
    steps = base.timesteps
    layer_w, head_w = weights[:-1], weights[-1]
    dense = steps * sum(w.size for w in layer_w) + head_w.size
    macs = steps * sum(int(np.count_nonzero(w)) for w in layer_w) + int(np.count_nonzero(head_w))
    assert row["macs_per_sequence"] == macs
    assert row["compute_savings"] == pytest.approx(dense / macs)
    assert row["feasible"]


def test_engine_latency_is_the_cycle_models_worst_case(base):
    """An engine point's latency is the RTL's cycle model (codesign.engine.cycles) with every activation
    non-zero: each step costs what the model predicts for a step whose x_t and h_{t-1} are all non-zero,
    and the head what it predicts for an all-non-zero h_T."""
    from codesign.engine import EngineConfig, encode, engine_model_from_weights
    from codesign.engine.cycles import predict_cycles
    from codesign.engine.golden import GoldenTrace
    from codesign.sweep.evaluate import SweepContext, engine_weight_width

    ctx = SweepContext(base, "analytic", 100.0, 0.01, 4, 0, 0, "xc7z020clg400-1")
    p = base.spec.precision
    model = reference_model(
        base.spec, list(base.layers), base.dense, p.kernel, p.recurrent_kernel, p.dense_kernel
    )
    width, _ = engine_weight_width([p.kernel, p.recurrent_kernel, p.dense_kernel])
    layers = [(w.kernel, w.recurrent_kernel, w.bias) for w in model.layers]
    em = engine_model_from_weights(base.spec, layers, (model.dense_kernel, model.dense_bias))

    def ones(image, steps: int) -> GoldenTrace:  # a golden trace whose activations are all non-zero
        x = np.ones((1, steps, image.inputs), np.int64)
        h = [np.ones((1, steps, u), np.int64) for u in image.units]
        return GoldenTrace(image.types, x, [], [], h, h, None)  # exact h_t and q_state(h_t) alike

    for num_pe in (4, 8):
        point = {
            "target": "engine",
            "structure": "unstructured",
            "bits": p.kernel.bits,
            "sparsity": 0.0,
            "num_pe": num_pe,
            "reuse_factor": None,
            "block": None,
            "circulant_block": None,
        }
        row = evaluate_point(ctx, point)
        image = encode(em, EngineConfig(num_pe=num_pe, weight_width=width, index_width=4))
        one, two = predict_cycles(image, ones(image, 1)), predict_cycles(image, ones(image, 2))
        full_step = 2 * two.cycles_per_step - one.cycles_per_step  # step 1: h_0 non-zero too
        assert row["cycles_per_step"] == full_step
        assert row["latency_cycles"] == round(full_step * base.timesteps) + one.head_cycles


def hls_point(bits: int, structure: str = "unstructured", b: int | None = None) -> dict:
    return {
        "target": "hls",
        "structure": structure,
        "bits": bits,
        "sparsity": 0.0,
        "num_pe": None,
        "reuse_factor": 4,
        "block": None,
        "circulant_block": b,
    }


@pytest.mark.parametrize("model", ["jvowels_lstm", "jvowels_lstm-circulant8"])
def test_hls_points_are_codesign_hls_estimates(model):
    """An hls point at the model's own precision has exactly the figures `codesign hls` reports: the
    estimate on the types choose_types derives from the Keras model (ReferenceModel.from_keras, TensorFlow
    path), for the circulant model with its block size. Its storage is what compress measured
    (metrics.json storage_bits, biases and head included)."""
    from codesign.hls.config import choose_types
    from codesign.hls.estimate import estimate
    from codesign.models.train import load_trained
    from codesign.reference import ReferenceModel
    from codesign.sweep.evaluate import SweepContext
    from codesign.synth.boards import BOARDS

    spec = load_spec(ROOT / "models" / model / "spec.yml")
    part = BOARDS["pynq-z2"].part
    circulant = spec.compression is not None
    b = spec.compression.block[0] if circulant else None
    ctx = SweepContext(load_base(spec), "analytic", 100.0, 0.01, 4, 0, 0, part=part)
    row = evaluate_point(
        ctx, hls_point(spec.precision.kernel.bits, "circulant" if circulant else "unstructured", b)
    )

    trained = load_trained(spec)
    ref = ReferenceModel.from_keras(spec, trained.model, quantized=True)
    types = choose_types(spec, ref, trained.dataset.x_train)
    weights = [(w.kernel, w.recurrent_kernel) for w in ref.layers]
    est = estimate(
        spec, types, weights, ref.dense_kernel, trained.dataset.length, reuse_factor=4, part=part, circulant=b
    )
    if circulant:
        assert row["size_kb"] * 8 * 1024 == trained.metrics["storage_bits"]["total"]
        assert row["memory_savings"] == pytest.approx(trained.metrics["memory_savings"]["vs_float_model"])
    # the row's accuracy is the float64 reference's, metrics.json float32 Keras': see conftest.py
    ref_logits = ref.logits(trained.dataset.x_test)
    for acc in (row["accuracy"], trained.metrics["accuracy"]["quantized"]):
        assert_accuracy_matches_reference(acc, ref_logits, trained.dataset.y_test, FLIP_TOL, model)
    got = {k: row[k] for k in ("lut", "ff", "dsp", "bram_18k", "latency_cycles", "multipliers")}
    assert got == {
        "lut": est.lut,
        "ff": est.ff,
        "dsp": est.dsp,
        "bram_18k": est.bram_18k,
        "latency_cycles": est.latency_cycles,
        "multipliers": est.multipliers,
    }
    assert (row["hls_weight_bits"], row["bram_18k_resource"]) == (est.weight_bits, est.bram_18k_resource)


# --- Pareto ------------------------------------------------------------------------------------------


def test_pareto_mask_matches_brute_force():
    rng = np.random.default_rng(11)
    x = rng.integers(0, 6, size=(60, 3)).astype(float)  # small integers: many ties and duplicates
    maximize = (True, False, False)
    mask = pareto_mask(x, maximize)
    sign = np.array([1, -1, -1])
    for i in range(len(x)):
        dominated = any(
            all(sign * x[j] >= sign * x[i]) and any(sign * x[j] > sign * x[i]) for j in range(len(x))
        )
        assert mask[i] == (not dominated)
    assert mask.any()


# --- running: outputs, resume, process pool, Dask ---------------------------------------------------


class CountingEvaluator:
    """Counts calls in this process (workers=1 evaluates in-process) and can interrupt after n."""

    def __init__(self, interrupt_after: int | None = None):
        self.calls: list[dict] = []
        self.interrupt_after = interrupt_after

    def __call__(self, ctx, point):
        if self.interrupt_after is not None and len(self.calls) >= self.interrupt_after:
            raise KeyboardInterrupt  # as Ctrl-C would, between points
        self.calls.append(point)
        return evaluate_point(ctx, point)


def test_outputs_one_row_per_point(tmp_path):
    config = load_sweep(write_sweep(tmp_path, SMALL))
    result = run_sweep(config, tmp_path / "out", workers=1, progress=False)
    n = len(config.points())
    assert result.complete and result.computed == n and len(result.rows) == n
    folder = tmp_path / "out" / "small"
    with open(folder / "results.csv") as f:
        assert len(list(csv.DictReader(f))) == n
    data = json.loads((folder / "results.json").read_text())
    assert len(data["rows"]) == n and data["points"] == n
    assert len(list((folder / "points").glob("*.json"))) == n
    report = (folder / "report.md").read_text()
    assert "## Best point within 1 point(s)" in report and "| Memory savings |" in report
    assert "estimator-error-table" in report and "**Bar (>= 20x memory savings" in report
    for stem in ("pareto_lut", "pareto_dsp", "pareto_bram", "pareto_latency"):
        assert (folder / f"{stem}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


class FakeSynthesis:
    """Stands in for codesign.synth.command.synthesize (no Yosys in tests): records each call and
    returns a report.json-shaped dict whose counts differ per call."""

    def __init__(self):
        self.calls: list[dict] = []
        self.reports: list[dict] = []

    def __call__(self, files, top, params, board, out_dir, **kwargs) -> dict:
        self.calls.append({"files": files, "top": top, "params": params, "board": board, **kwargs})
        n = len(self.calls)
        self.reports.append({"lut": 1000 * n, "ff": 700 * n, "bram": 1.5 * n, "dsp": 4 * n, "tool": "fake"})
        return self.reports[-1]


def test_synthesize_runs_yosys_flow_on_engine_points_and_caches_it(tmp_path, monkeypatch):
    import codesign.synth.command as synth
    from codesign.compress.pruning import gate_matrix
    from codesign.engine import decode_matrix, load_image
    from codesign.filelist import read_file_list
    from codesign.sweep.evaluate import relative_error
    from codesign.sweep.model import at_bits
    from codesign.sweep.transform import compress_layer
    from codesign.synth.boards import BOARDS

    fake = FakeSynthesis()
    monkeypatch.setattr(synth, "synthesize", fake)
    data = {
        **SMALL,
        "synthesize": True,
        "axes": {
            "bits": [8],
            "sparsity": [0.5],
            "structure": ["unstructured"],
            "target": ["engine", "hls"],
            "num_pe": [4],
            "reuse_factor": [2],
        },
    }
    config = load_sweep(write_sweep(tmp_path, data, "synth"))
    assert config.synthesize
    result = run_sweep(config, tmp_path / "out", workers=1, progress=False)
    engine = [r for r in result.rows if r["target"] == "engine"]
    hls = [r for r in result.rows if r["target"] == "hls"]
    assert len(fake.calls) == len(engine) == 1 and hls
    assert all("yosys_lut" not in r for r in hls)

    call, row = fake.calls[0], engine[0]
    # codesign synth's flow: its top, the engine file list, its parameters for the image on disk.
    assert call["top"] == synth.ENGINE_TOP and call["use_vivado"] is False
    assert call["files"] == read_file_list(synth.ENGINE_FILE_LIST, base=Path.cwd()).files
    mem_dir = Path(call["params"]["MemDir"])
    image = load_image(mem_dir)
    expected = synth.engine_parameters(json.loads((mem_dir / "params.json").read_text()), mem_dir)
    assert {k: v for k, v in expected.items() if k in call["params"]} == call["params"]
    assert call["params"]["NumPe"] == row["num_pe"] and image.config.weight_width == row["weight_width"]
    # The estimate's geometry is the built image's: table output and accumulator widths as the encoder
    # derived them (a wider table output would cost each activation table more block RAM).
    assert (row["gate_width"], row["acc_width"]) == (image.types.gate.width, image.types.acc.width)
    # The image holds the point's pruned, quantized matrices (the reference model the row scored).
    base = load_base(load_spec(JV))
    p = base.spec.precision
    point = {k: row[k] for k in config.points()[0]}
    layers = [(*compress_layer(k, r, point), b) for k, r, b in base.layers]
    model = reference_model(
        base.spec,
        layers,
        base.dense,
        at_bits(p.kernel, 8),
        at_bits(p.recurrent_kernel, 8),
        at_bits(p.dense_kernel, 8),
    )
    w = model.layers[0]
    stored = image.types.weight.to_float(decode_matrix(image, 0))  # raw words on the weight grid
    np.testing.assert_array_equal(stored, gate_matrix(w.kernel, w.recurrent_kernel))

    report = fake.reports[0]
    per_18k = {"xc7": 2, "xcu": 2, "ecp5": 1}[BOARDS[config.board].family]
    for key in ("lut", "ff", "dsp"):
        assert row[f"yosys_{key}"] == report[key]
    assert row["yosys_bram"] == report["bram"] and row["yosys_bram_18k"] == row["yosys_bram"] * per_18k
    for key in ("lut", "ff", "bram_18k", "dsp"):
        assert row[f"{key}_rel_error"] == relative_error(row[key], row[f"yosys_{key}"])
    folder = tmp_path / "out" / "synth"
    assert (folder / row["yosys_report"]).parent.parent / "rtl" == mem_dir
    with open(folder / "results.csv") as f:
        csv_rows = list(csv.DictReader(f))
    assert {"yosys_lut", "yosys_ff", "yosys_bram", "yosys_dsp", "lut_rel_error"} <= set(csv_rows[0])
    md = (folder / "report.md").read_text()
    assert "## Yosys synthesis of engine points (pynq-z2)" in md and row["technique"] in md

    # The cache keeps the synthesis: a re-run calls Yosys no more.
    again = run_sweep(config, tmp_path / "out", workers=1, progress=False)
    assert len(fake.calls) == 1 and again.computed == 0 and again.rows == result.rows


def test_relative_error():
    from codesign.sweep.evaluate import relative_error

    assert relative_error(110, 100) == pytest.approx(0.1)
    assert relative_error(90, 100) == pytest.approx(-0.1)
    assert relative_error(0, 0) == 0.0
    assert relative_error(3, 0) is None and relative_error(None, 5) is None


def test_board_excess_names_what_does_not_fit():
    from codesign.sweep.report import board_excess
    from codesign.synth.boards import BOARDS

    b = BOARDS["pynq-z2"]  # block RAM in RAMB36 tiles: two RAMB18 each
    row = {"lut": b.lut + 1, "ff": b.ff, "dsp": b.dsp, "bram_18k": 2 * b.bram}
    assert board_excess(row, "pynq-z2") == [f"LUT {b.lut + 1} > {b.lut}"]
    assert board_excess({**row, "lut": b.lut}, "pynq-z2") == []
    assert board_excess({**row, "lut": b.lut, "bram_18k": 2 * b.bram + 1}, "pynq-z2") == [
        f"BRAM18 {2 * b.bram + 1} > {2 * b.bram:g}"
    ]


def test_interrupted_sweep_resumes_without_recomputing(tmp_path):
    config = load_sweep(write_sweep(tmp_path, SMALL))
    n = len(config.points())
    first = CountingEvaluator(interrupt_after=3)
    with pytest.raises(KeyboardInterrupt):
        run_sweep(config, tmp_path / "out", workers=1, progress=False, evaluate=first)
    assert len(first.calls) == 3
    assert len(list((tmp_path / "out" / "small" / "points").glob("*.json"))) == 3
    second = CountingEvaluator()
    result = run_sweep(config, tmp_path / "out", workers=1, progress=False, evaluate=second)
    assert len(second.calls) == n - 3
    assert not any(p in first.calls for p in second.calls)
    assert result.cached == 3 and result.computed == n - 3 and len(result.rows) == n
    third = CountingEvaluator()
    again = run_sweep(config, tmp_path / "out", workers=1, progress=False, evaluate=third)
    assert third.calls == [] and again.rows == result.rows


def test_a_new_engine_model_recomputes_cached_points(tmp_path, monkeypatch):
    """The cache key holds the estimator's coefficients and the cycle model's parameters (a hash): after a
    re-fit or a cycle-model change every point is computed again, with no version bump by hand."""
    from codesign.sweep import evaluate

    config = load_sweep(write_sweep(tmp_path, SMALL))
    n = len(config.points())
    run_sweep(config, tmp_path / "out", workers=1, progress=False, evaluate=CountingEvaluator())
    same = CountingEvaluator()
    run_sweep(config, tmp_path / "out", workers=1, progress=False, evaluate=same)
    assert same.calls == []
    monkeypatch.setattr(evaluate, "engine_model_fingerprint", lambda: "another engine model")
    refit = CountingEvaluator()
    result = run_sweep(config, tmp_path / "out", workers=1, progress=False, evaluate=refit)
    assert len(refit.calls) == n and result.cached == 0


def test_process_pool_with_limit_then_resume(tmp_path):
    data = {**SMALL, "axes": {**SMALL["axes"], "structure": ["unstructured"], "target": ["engine"]}}
    config = load_sweep(write_sweep(tmp_path, data, "pool"))
    n = len(config.points())
    part = run_sweep(config, tmp_path / "out", workers=2, progress=False, limit=2)
    assert not part.complete and part.computed == 2 and len(part.rows) == 2
    done = run_sweep(config, tmp_path / "out", workers=2, progress=False)
    assert done.complete and done.cached == 2 and done.computed == n - 2
    serial = run_sweep(config, tmp_path / "serial", workers=1, progress=False)
    assert strip_timing([{k: v for k, v in r.items() if k != "key"} for r in done.rows]) == strip_timing(
        [{k: v for k, v in r.items() if k != "key"} for r in serial.rows]
    )


def test_dask_local_cluster(tmp_path):
    distributed = pytest.importorskip("distributed")
    data = {**SMALL, "axes": {**SMALL["axes"], "bits": [8], "structure": ["balanced", "circulant"]}}
    config = load_sweep(write_sweep(tmp_path, data, "dask"))
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=False,
        dashboard_address=None,
        host="127.0.0.1",
        protocol="tcp",  # a real tcp:// address on loopback, as --scheduler takes
    ) as cluster:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        result = run_sweep(config, tmp_path / "out", scheduler=cluster.scheduler_address, progress=False)
    serial = run_sweep(config, tmp_path / "serial", workers=1, progress=False)
    assert result.complete and result.computed == len(config.points())
    assert strip_timing(result.rows) == strip_timing(serial.rows)


def test_cli_stage(tmp_path, capsys):
    path = write_sweep(tmp_path, {**SMALL, "axes": {"bits": [8], "sparsity": [0.5]}}, "cli")
    parser = argparse.ArgumentParser()
    command.configure(parser)
    args = parser.parse_args([str(path), "--out", str(tmp_path / "out"), "--workers", "1"])
    assert command.run(args) == 0
    out = capsys.readouterr().out
    assert "1 of 1 points (1 computed, 0 cached)" in out
    with pytest.raises(CodesignError, match="--workers 0"):
        command.run(parser.parse_args([str(path), "--out", str(tmp_path / "out"), "--workers", "0"]))


def test_parse_sweep_defaults(tmp_path):
    config = parse_sweep({"model": str(JV), "axes": {}}, tmp_path / "defaults.yml")
    assert config.name == "defaults" and config.mode == "analytic" and config.clock_mhz > 0
    assert len(config.points()) == 1


def test_delta_threshold_axis_is_engine_only_and_absent_at_zero(tmp_path):
    data = {"model": str(JV), "axes": {"target": ["engine", "hls"], "delta_threshold": [0, 0.125]}}
    points = load_sweep(write_sweep(tmp_path, data)).points()
    engine = [p for p in points if p["target"] == "engine"]
    assert [p.get("delta_threshold") for p in engine] == [
        None,
        0.125,
    ]  # 0 leaves the point (and cache) as it was
    assert all("delta_threshold" not in p for p in points if p["target"] == "hls")
    bad = {"model": str(JV), "axes": {"delta_threshold": [-1]}}
    with pytest.raises(CodesignError, match=r"axes\.delta_threshold\[0\]"):
        load_sweep(write_sweep(tmp_path, bad, "bad"))


def _dense_engine_point(**axes) -> dict:
    """An unpruned 8-bit engine point at 8 PEs, with `axes` set."""
    point = {
        "target": "engine",
        "structure": "unstructured",
        "bits": 8,
        "sparsity": 0.0,
        "num_pe": 8,
        "reuse_factor": None,
        "block": None,
        "circulant_block": None,
    }
    return point | axes


def test_analytic_delta_point_measures_temporal_sparsity_and_cycles(base):
    """A delta point: accuracy of the reference with the thresholds (whole LSBs), temporal sparsity as
    codesign.delta counts it, and the engine's cycle model on the test split, with and without delta."""
    from codesign.delta import temporal_sparsity
    from codesign.delta import threshold_lsbs as delta_lsbs
    from codesign.sweep.evaluate import SweepContext

    ctx = SweepContext(base, "analytic", 100.0, 0.01, 4, 0, 0, "xc7z020clg400-1")
    point = _dense_engine_point(delta_threshold=0.125)
    row = evaluate_point(ctx, point)
    p = base.spec.precision
    lsbs = delta_lsbs(base.spec, 0.125)
    assert (row["delta_threshold_x_lsb"], row["delta_threshold_h_lsb"]) == lsbs
    model = reference_model(
        base.spec, list(base.layers), base.dense, p.kernel, p.recurrent_kernel, p.dense_kernel,
        (lsbs[0] * p.input.lsb, lsbs[1] * p.state.lsb),
    )  # fmt: skip
    trace = model.trace(base.x_test)
    assert row["accuracy"] == np.mean(trace.logits.argmax(1) == base.y_test)
    s = temporal_sparsity(trace)
    assert (row["temporal_sparsity_x"], row["temporal_sparsity_h"]) == (s["x"], s["h"])
    assert (
        row["measured_cycles_per_step"] < row["measured_cycles_per_step_no_delta"] <= row["cycles_per_step"]
    )
    assert row["speedup_vs_no_delta"] == pytest.approx(
        row["measured_cycles_per_step_no_delta"] / row["measured_cycles_per_step"]
    )
    assert "delta 0.125" in row["technique"]


# --- finetune mode -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_lstm(tmp_path_factory):
    """An LSTM(4) model folder on JapaneseVowels at 6-bit weights, as initialised (fine-tuning needs no
    trained start to be tested; skipping training keeps the test short)."""
    from codesign.models.train import METRICS, accuracy

    folder, ds, model, float_model = write_untrained_lstm(
        tmp_path_factory.mktemp("models") / "tiny", qat_epochs=1
    )
    metrics = {
        "name": "tiny",
        "accuracy": {
            "float": accuracy(float_model, ds.x_test, ds.y_test),
            "quantized": accuracy(model, ds.x_test, ds.y_test),
        },
    }
    (folder / METRICS).write_text(json.dumps(metrics))
    return folder


def test_finetune_circulant_point_trains_at_its_bits_and_reuses_the_model(tmp_path, tiny_lstm):
    data = {
        "model": str(tiny_lstm / "spec.yml"),
        "mode": "finetune",
        "axes": {"bits": [4], "structure": ["circulant"], "target": ["hls"], "circulant_block": [4]},
    }
    config = load_sweep(write_sweep(tmp_path, data, "ft"))
    result = run_sweep(config, tmp_path / "out", workers=1, progress=False)
    (row,) = result.rows
    models = tmp_path / "out" / "ft" / "models"
    tuned = load_spec(models / row["finetuned_model"] / "spec.yml")
    # QAT ran at the point's precision on every weight the bits axis covers, in circulant form
    p = tuned.precision
    assert p.kernel.bits == p.recurrent_kernel.bits == p.dense_kernel.bits == 4
    assert tuned.compression.method == "circulant" and tuned.compression.block == (4, 4)
    metrics = json.loads((tuned.folder / "metrics.json").read_text())
    # the numpy reference scores the fine-tuned model as Keras did (up to what float32 cannot decide,
    # conftest.py); storage is what compress counted
    assert row["finetuned_keras_accuracy"] == metrics["accuracy"]["quantized"]  # the same recorded figure
    from codesign.models.train import load_trained
    from codesign.reference import ReferenceModel

    trained = load_trained(tuned)
    ref_logits = ReferenceModel.from_keras(tuned, trained.model, quantized=True).logits(
        trained.dataset.x_test
    )
    for acc in (row["accuracy"], metrics["accuracy"]["quantized"]):
        assert_accuracy_matches_reference(acc, ref_logits, trained.dataset.y_test, FLIP_TOL, "finetuned")
    assert row["size_kb"] * 8 * 1024 == metrics["storage_bits"]["total"]
    assert (
        row["baseline_accuracy"] == json.loads((tiny_lstm / "metrics.json").read_text())["accuracy"]["float"]
    )
    assert not (tiny_lstm.parent / row["finetuned_model"]).exists(), "wrote beside the user's model"

    # Another evaluation setting recomputes the row but reuses the trained model.
    stamp = (tuned.folder / "weights.h5").stat().st_mtime_ns
    folders = sorted(p.name for p in models.iterdir())
    again = run_sweep(
        load_sweep(write_sweep(tmp_path, {**data, "tolerance": 0.05}, "ft")),
        tmp_path / "out",
        workers=1,
        progress=False,
    )
    assert again.computed == 1
    assert strip_timing(again.rows)[0]["accuracy"] == row["accuracy"]
    assert sorted(p.name for p in models.iterdir()) == folders
    assert (tuned.folder / "weights.h5").stat().st_mtime_ns == stamp


def test_finetune_delta_point_fine_tunes_the_delta_network(tmp_path, tiny_lstm):
    """finetune mode: the structure's model first, then codesign delta on it; the row's figures are the
    delta model's (the reference with the same thresholds)."""
    import shutil

    from codesign.delta import threshold_lsbs as delta_lsbs

    folder = tmp_path / "tiny_state"
    shutil.copytree(tiny_lstm, folder)
    spec_data = yaml.safe_load((folder / "spec.yml").read_text())
    spec_data["precision"]["state"] = {"bits": 12, "integer": 3}  # delta counts h in state LSBs
    spec_data["model"]["recurrent_activation"] = {"function": "hard_sigmoid", "bits": 6}  # the engine's rule
    (folder / "spec.yml").write_text(yaml.safe_dump(spec_data))
    data = {
        "model": str(folder / "spec.yml"),
        "mode": "finetune",
        "axes": {"bits": [6], "target": ["engine"], "num_pe": [2], "delta_threshold": [0.25]},
    }
    result = run_sweep(
        load_sweep(write_sweep(tmp_path, data, "dft")), tmp_path / "out", workers=1, progress=False
    )
    (row,) = result.rows
    assert row["feasible"], row["note"]
    tuned = load_spec(tmp_path / "out" / "dft" / "models" / row["finetuned_model"] / "spec.yml")
    assert (tuned.delta.threshold_x, tuned.delta.threshold_h) == delta_lsbs(tuned, 0.25)
    assert tuned.delta.base == f"{row['finetuned_model']}-pre"
    metrics = json.loads((tuned.folder / "metrics.json").read_text())
    s = metrics["delta"]["temporal_sparsity"]
    assert (row["temporal_sparsity_x"], row["temporal_sparsity_h"]) == (s["x"], s["h"])
    assert row["accuracy"] == metrics["delta"]["accuracy_reference"]


def test_finetune_circulant_block_must_divide_the_units(tmp_path, base):
    axes = {"structure": ["circulant"], "target": ["hls"], "circulant_block": [8, 6]}
    data = {**SMALL, "mode": "finetune", "axes": axes}
    config = load_sweep(write_sweep(tmp_path, data, "ftbad"))
    with pytest.raises(CodesignError, match=r"ftbad\.yml: axes\.circulant_block\[1\]: 6:"):
        check_against_model(config, base.spec, base.gate_shapes())


def test_gru_engine_delta_point(tmp_path):
    """A reset_after GRU on the engine: rows z, r, n_x, n_h (the engine's own matrices), the cycle model
    with and without delta, and a note that the resource estimate is the LSTM fit's."""
    from codesign.engine.encoder import LayerWeights, gate_matrix
    from codesign.sweep.evaluate import SweepContext

    gru = load_base(load_spec(ROOT / "models" / "basicmotions_gru" / "spec.yml"))
    ctx = SweepContext(gru, "analytic", 100.0, 0.01, 4, 0, 0, "xc7z020clg400-1")
    point = _dense_engine_point(delta_threshold=0.25)
    row = evaluate_point(ctx, point)
    assert row["feasible"] and "fitted on LSTM builds" in row["note"]
    with_delta, without = row["measured_cycles_per_step"], row["measured_cycles_per_step_no_delta"]
    assert with_delta < without <= row["cycles_per_step"]
    assert 0 < row["temporal_sparsity_x"] < 1 and 0 < row["temporal_sparsity_h"] < 1
    rows = [gate_matrix(LayerWeights(k, r, b), "gru") for k, r, b in gru.layers]
    assert row["stored_words"] >= sum(int(np.count_nonzero(m)) for m in rows)
    data = {"model": str(ROOT / "models" / "basicmotions_gru" / "spec.yml"), "axes": {"target": ["engine"]}}
    check_against_model(load_sweep(write_sweep(tmp_path, data, "gru")), gru.spec, [])
