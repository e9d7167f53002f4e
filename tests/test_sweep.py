"""codesign.sweep: sweep files and their errors, points, circulant projection, Pareto fronts, the per-point
cache and resume, local processes and a local Dask cluster, and the outputs (CSV, JSON, MD, PNG)."""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from codesign.errors import CodesignError
from codesign.spec import load_spec
from codesign.sweep import command, load_sweep, pareto_mask, run_sweep
from codesign.sweep.config import TARGET_STRUCTURES, check_against_model, parse_sweep
from codesign.sweep.evaluate import evaluate_point
from codesign.sweep.model import accuracy, load_base, reference_model
from codesign.sweep.transform import circulant_projection

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
        ({"mode": "finetune"}, "axes.structure[2]"),  # circulant cannot be fine-tuned yet
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
    assert accuracy(model, base.x_test, base.y_test) == base.quantized_accuracy


def test_circulant_projection_is_the_nearest_block_circulant():
    rng = np.random.default_rng(3)
    b, w = 4, rng.normal(size=(8, 12))
    c = circulant_projection(w, b)
    for r0 in range(0, 8, b):
        for c0 in range(0, 12, b):
            tile = c[r0 : r0 + b, c0 : c0 + b]
            for i in range(b):
                for j in range(b):
                    assert tile[i, j] == pytest.approx(tile[(i + 1) % b, (j + 1) % b])
    np.testing.assert_allclose(circulant_projection(c, b), c)
    # Least squares: the residual is orthogonal to every block-circulant matrix.
    other = circulant_projection(rng.normal(size=(8, 12)), b)
    assert float(np.sum((w - c) * other)) == pytest.approx(0.0, abs=1e-9)


def test_unpruned_point_equals_the_committed_model(base):
    from codesign.sweep.evaluate import SweepContext

    ctx = SweepContext(base, "analytic", 100.0, 0.01, 4, 0, 0)
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
    assert row["accuracy"] == base.quantized_accuracy
    # The engine stores every non-zero weight (some round to 0 at 8 bits) and every bias.
    p = base.spec.precision
    model = reference_model(
        base.spec, list(base.layers), base.dense, p.kernel, p.recurrent_kernel, p.dense_kernel
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
    assert "estimator-error-table" in report
    for stem in ("pareto_lut", "pareto_dsp", "pareto_bram", "pareto_latency"):
        assert (folder / f"{stem}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


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
