"""pytest side of the engine tests: random models through the RTL, bit-exact against the golden model.

Images come from codesign.engine (random_model -> encode -> write_image); the cocotb side
(codesign/engine/tb/sparse_lstm_engine_tb.py, shared with `codesign sim`) loads them through the weight-load
stream and compares every h_t and logit.
One Verilator build per parameter set: NumPe 5 (not a power of two; 26 local rows at 32 units, so zero
runs longer than 15 need padding words) for the random shapes.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from codesign import sim
from codesign.engine import EngineConfig, encode, quantize_input, random_model, write_image
from codesign.engine.sim_command import TB_DIR

TOP = "sparse_lstm_engine"

# Build maxima: every random shape below fits; types are codesign.engine's defaults.
BASE_PARAMS = {
    "MaxInputs": 16,
    "MaxUnits": 32,
    "MaxClasses": 16,
    "MaxLayers": 2,
    "WeightDepth": 4096,
    "AccWidth": 44,
    "FifoDepth": 16,
}

# (seed, inputs, units, classes, density): X and H not multiples of NumPe, 1 and 2 layers,
# 100% density, an all-zero model, default patterns (empty column, dense column, long zero runs).
RANDOM_CASES = [
    (11, 7, (13,), 3, 0.3),
    (12, 12, (32,), 9, 0.15),
    (13, 9, (11, 6), 4, 0.4),
    (14, 3, (6,), 2, 1.0),
    (15, 5, (7,), 3, 0.0),
    (16, 16, (29, 21), 16, 0.25),
]


def engine_params(num_pe: int) -> dict:
    return {"NumPe": num_pe, **BASE_PARAMS}


def write_case(
    folder: Path,
    seed: int,
    inputs: int,
    units,
    classes: int,
    density: float,
    num_pe: int,
    sequences: int = 2,
    steps: int = 4,
    delta: tuple[int, int] | None = None,
    cell: str = "lstm",
) -> dict:
    """A random model's image and inputs; `delta` (thresholds in LSBs of the input and state types) makes
    it a delta network fed slowly varying inputs (a random walk that also stands still)."""
    model = random_model(seed, inputs, tuple(units), classes, density, cell=cell)
    image = encode(dataclasses.replace(model, delta=delta), EngineConfig(num_pe=num_pe))
    img_dir = folder / f"model{seed}"
    img_dir.mkdir(parents=True)
    write_image(image, img_dir)
    rng = np.random.default_rng(seed)
    if delta is None:
        x = rng.normal(0, 1.5, (sequences, steps, inputs))
        x[rng.random(x.shape) < 0.2] = 0.0  # zero activations are skipped by the broadcast
    else:
        moves = rng.normal(0, 0.3, (sequences, steps, inputs))
        moves[rng.random(moves.shape) < 0.3] = 0.0
        x = np.cumsum(moves, axis=1)
    x_raw = quantize_input(image, x)
    np.save(img_dir / "x.npy", x_raw)
    padding = sum(int((w == 0).sum()) for w in image.pe_weight)
    return {"image": str(img_dir), "x": str(img_dir / "x.npy"), "padding_words": padding, "density": density}


def runner_for(case: dict, extra: dict | None = None):
    """The build for a case's image: its types from params.json (shared by every default-typed image),
    with `extra` parameters."""
    from codesign.engine import load_image
    from codesign.engine.sim_command import engine_build_params

    params = engine_build_params(load_image(Path(case["image"])))
    assert {k: params[k] for k in engine_params(5)} == engine_params(params["NumPe"]), "maxima drifted"
    return sim.build(TOP, {**params, **(extra or {})})


def run_cases(
    runner, tmp_path: Path, cases: list[dict], stall: bool, testcase: str, emit_h: bool = True, **extra
) -> list[dict]:
    result = tmp_path / "result.json"
    case_file = tmp_path / "case.json"
    spec = {"cases": cases, "stall": stall, "emit_h": emit_h, "result": str(result), **extra}
    case_file.write_text(json.dumps(spec))
    sim.run(runner, TOP, "sparse_lstm_engine_tb", TB_DIR, {"ENGINE_CASE": str(case_file)}, testcase=testcase)
    return json.loads(result.read_text()) if result.exists() else []


def model_counts(case: dict) -> tuple[int, list[int]]:
    """(steps, busy cycles per PE) the cycle model predicts for a case's sequences: the counters that do
    not depend on when frames arrive or the output is ready."""
    from codesign.engine import load_image, predict_cycles, run_golden

    image = load_image(Path(case["image"]))
    x_raw = np.load(case["x"])
    model = predict_cycles(image, run_golden(image, x_raw, x_is_raw=True))
    return model.sequences * model.steps, model.busy_cycles_per_pe


def test_random_models_bit_exact_with_stalls(tmp_path: Path) -> None:
    cases = [write_case(tmp_path, *c, num_pe=5) for c in RANDOM_CASES]
    assert any(c["padding_words"] for c in cases), "no case exercises padding entries"
    results = run_cases(runner_for(cases[0]), tmp_path, cases, stall=True, testcase="engine_matches_golden")
    assert [r["mismatches"] for r in results] == [0] * len(cases)
    # Stalls move the phases against each other (the overlap), so only the counts that do not depend on
    # timing are the model's (the cycle counters: test_cycle_model_equals_rtl_counters*).
    for case, result in zip(cases, results, strict=True):
        perf = result["perf"]
        got = (perf["steps"], perf["pe_busy"])
        assert got == model_counts(case), f"{case['image']}: RTL (steps, busy) {got}"


def test_input_stalls_during_element_wise(tmp_path: Path) -> None:
    """Frames that stall at every point of the overlapped element-wise phase (the input pauses 11 of
    every 29 cycles), 1 and 2 layers, sequences back to back, outputs always ready: every h_t and logit
    bit-exact, and the timing-free counters (steps, words per PE) the model's."""
    cases = [write_case(tmp_path, *c, num_pe=5, steps=6) for c in RANDOM_CASES[:3]]
    results = run_cases(
        runner_for(cases[0]),
        tmp_path,
        cases,
        stall=False,
        testcase="engine_matches_golden",
        input_gaps=[29, 11],
    )
    assert [r["mismatches"] for r in results] == [0] * len(cases)
    for case, result in zip(cases, results, strict=True):
        perf = result["perf"]
        assert (perf["steps"], perf["pe_busy"]) == model_counts(case)


# (seed, inputs, units, classes, density, num_pe): a single input channel (X = 1: no frame to prefetch
# the state list under), X and H not multiples of NumPe, 1 and 2 layers, an all-zero model (every list
# entry still takes a broadcast cycle), NumPe 3 to 8. The fast set reuses the NumPe 5 and 8 builds.
COUNTER_CASES = [
    (41, 1, (7,), 3, 0.4, 5),
    (42, 1, (9, 6), 4, 0.35, 5),
    (43, 2, (13,), 5, 0.3, 5),
    (44, 3, (11, 5), 2, 0.0, 5),
    (45, 1, (12,), 3, 0.5, 8),
    (46, 5, (19, 10), 6, 0.3, 8),
    (47, 11, (30,), 9, 0.2, 8),
]
COUNTER_CASES_SLOW = [
    (51, 1, (7,), 3, 0.4, 3),
    (52, 1, (10, 4), 4, 0.3, 3),
    (53, 2, (9,), 2, 0.6, 4),
    (54, 7, (13, 11), 5, 0.25, 4),
    (55, 1, (11,), 3, 0.35, 6),
    (56, 1, (8, 9), 4, 0.4, 6),
    (57, 4, (17,), 7, 0.3, 7),
    (58, 1, (6, 15), 3, 0.5, 7),
    (59, 6, (25,), 16, 0.9, 8),
    (60, 16, (32, 32), 16, 0.1, 8),
]


def check_counters(
    tmp_path: Path,
    cases: list[tuple],
    extra: dict | None = None,
    emit_h: bool = True,
    cell: str = "lstm",
) -> None:
    """Every case through the RTL (inputs back to back, output always ready, as the cycle model assumes):
    outputs bit-exact (every h_t when emit_h) and every counter (steps, the last step's cycles, step and
    matrix totals, each PE's busy cycles) equal to `codesign.engine.cycles`. `cell`: the cases' layers."""
    from codesign.engine import load_image, predict_cycles, run_golden

    by_pe: dict[int, list[dict]] = {}
    for seed, inputs, units, classes, density, num_pe, *delta in cases:  # (a 7th entry: delta thresholds)
        folder = tmp_path / f"pe{num_pe}"
        folder.mkdir(exist_ok=True)
        thresholds = delta[0] if delta else None
        case = write_case(folder, seed, inputs, units, classes, density, num_pe, 2, 5, thresholds, cell)
        by_pe.setdefault(num_pe, []).append(case)
    diffs = []
    for num_pe, pe_cases in by_pe.items():
        results = run_cases(
            runner_for(pe_cases[0], extra),
            tmp_path / f"pe{num_pe}",
            pe_cases,
            stall=False,
            testcase="engine_matches_golden",
            emit_h=emit_h,
        )
        assert [r["mismatches"] for r in results] == [0] * len(pe_cases)
        for case, result in zip(pe_cases, results, strict=True):
            image = load_image(Path(case["image"]))
            model = predict_cycles(image, run_golden(image, np.load(case["x"]), x_is_raw=True), emit_h=emit_h)
            perf = result["perf"]
            got = (perf["steps"], perf["last_step_cycles"], perf["step_cycles_total"],
                   perf["matrix_cycles_total"], perf["pe_busy"])  # fmt: skip
            want = (model.sequences * model.steps, model.last_step_cycles, model.step_cycles_total,
                    model.matrix_cycles_total, model.busy_cycles_per_pe)  # fmt: skip
            if got != want:
                diffs.append((case["image"], got, want))
    assert not diffs, diffs


def test_cycle_model_equals_rtl_counters(tmp_path: Path) -> None:
    check_counters(tmp_path, COUNTER_CASES)


def test_cycle_model_equals_rtl_counters_without_h_output(tmp_path: Path) -> None:
    """Without emit_h (as `codesign sim`): the next step's element-wise phase may follow at once."""
    check_counters(tmp_path, COUNTER_CASES, emit_h=False)


@pytest.mark.slow
def test_cycle_model_equals_rtl_counters_more_shapes(tmp_path: Path) -> None:
    """Also the shared activation tables (two PEs per dual-port table; odd NumPe: a last PE alone)."""
    check_counters(tmp_path, COUNTER_CASES_SLOW, {"ShareTables": 1})


# GRU (reset_after) layers, gru_eltwise in every PE (the build's Gru = 1 and the GRU's types): X and H not
# multiples of NumPe, 1 and 2 layers; slow: more shapes, an all-zero model, the shared tables.
GRU_CASES = [
    (61, 7, (13,), 3, 0.3, 5),
    (62, 6, (11, 7), 4, 0.4, 5),
]
GRU_CASES_SLOW = [
    (63, 1, (9,), 3, 0.5, 3),
    (64, 3, (10, 5), 2, 0.0, 3),
    (65, 5, (19, 10), 6, 0.3, 8),
    (66, 16, (32, 32), 16, 0.15, 8),
]


def test_gru_bit_exact_and_cycle_model_equals_rtl_counters(tmp_path: Path) -> None:
    check_counters(tmp_path, GRU_CASES, cell="gru")


@pytest.mark.slow
def test_gru_more_shapes_shared_tables_and_stalls(tmp_path: Path) -> None:
    (tmp_path / "counters").mkdir()
    check_counters(tmp_path / "counters", GRU_CASES_SLOW, {"ShareTables": 1}, emit_h=False, cell="gru")
    (tmp_path / "stalls").mkdir()
    cases = [write_case(tmp_path / "stalls", *c[:5], num_pe=5, cell="gru") for c in GRU_CASES]
    results = run_cases(
        runner_for(cases[0]), tmp_path / "stalls", cases, stall=True, testcase="engine_matches_golden"
    )
    assert [r["mismatches"] for r in results] == [0] * len(cases)
    for case, result in zip(cases, results, strict=True):
        perf = result["perf"]
        assert (perf["steps"], perf["pe_busy"]) == model_counts(case)


def test_reset_mid_sequence(tmp_path: Path) -> None:
    cases = [write_case(tmp_path, 21, 6, (9, 5), 3, 0.5, num_pe=5)]
    run_cases(runner_for(cases[0]), tmp_path, cases, stall=True, testcase="reset_mid_sequence")


# Delta mode (docs/engine.md "Delta mode"): thresholds in LSBs of the input and state types that skip part
# of dx and dh; threshold 0 broadcasts every change. 1 and 2 layers, X = 1, X and H not multiples of NumPe.
DELTA_CASES = [  # (seed, inputs, units, classes, density, (threshold_x, threshold_h))
    (31, 7, (13,), 3, 0.3, (50, 60)),
    (32, 9, (11, 6), 4, 0.4, (80, 100)),
    (33, 1, (6, 15), 3, 0.5, (0, 0)),
    (34, 12, (32,), 9, 0.15, (30, 20)),
]


def _delta_cases(folder: Path, num_pe: int, steps: int = 6, cell: str = "lstm") -> list[dict]:
    return [
        write_case(folder, *c[:5], num_pe=num_pe, sequences=3, steps=steps, delta=c[5], cell=cell)
        for c in DELTA_CASES
    ]


def test_delta_bit_exact_with_stalls(tmp_path: Path) -> None:
    """Delta images on a Delta build, sequences back to back with random stalls, every h_t and logit exact;
    then a plain image on the same build (the load stream turns delta mode off)."""
    cases = _delta_cases(tmp_path, num_pe=5)
    cases.append(write_case(tmp_path, *RANDOM_CASES[2], num_pe=5))
    results = run_cases(runner_for(cases[0]), tmp_path, cases, stall=True, testcase="engine_matches_golden")
    assert [r["mismatches"] for r in results] == [0] * len(cases)
    for case, result in zip(cases, results, strict=True):
        perf = result["perf"]
        assert (perf["steps"], perf["pe_busy"]) == model_counts(case), case["image"]


def test_delta_cycle_model_equals_rtl_counters(tmp_path: Path) -> None:
    """The cycle model broadcasts exactly the RTL's changes: every counter equal."""
    check_counters(tmp_path, [(*c[:5], n, c[5]) for c, n in zip(DELTA_CASES, (3, 5, 4, 8), strict=True)])


def test_delta_gru_bit_exact_and_counters(tmp_path: Path) -> None:
    """Delta GRUs (gru_eltwise takes the real q_state(h_{t-1}); the matrices the held one): exact with
    stalls, and every counter equal to the cycle model without them."""
    folder = tmp_path / "stalls"
    cases = _delta_cases(folder, num_pe=5, cell="gru")
    results = run_cases(runner_for(cases[0]), folder, cases, stall=True, testcase="engine_matches_golden")
    assert [r["mismatches"] for r in results] == [0] * len(cases)
    for case, result in zip(cases, results, strict=True):
        perf = result["perf"]
        assert (perf["steps"], perf["pe_busy"]) == model_counts(case), case["image"]
    shapes = [(*c[:5], n, c[5]) for c, n in zip(DELTA_CASES, (4, 5, 3, 8), strict=True)]
    (tmp_path / "counters").mkdir()
    check_counters(tmp_path / "counters", shapes, cell="gru")


def test_delta_reset_mid_sequence(tmp_path: Path) -> None:
    """A reset mid-sequence clears the held vectors and the M memories (the next sequence starts from 0)."""
    cases = _delta_cases(tmp_path, num_pe=5)[1:2]
    run_cases(runner_for(cases[0]), tmp_path, cases, stall=True, testcase="reset_mid_sequence")


JVOWELS = Path(__file__).resolve().parents[3] / "models"


def _jvowels_model() -> Path:
    """The balanced 90%-sparse model when it exists, else the dense reference model."""
    balanced = JVOWELS / "jvowels_lstm-balanced90" / "spec.yml"
    return balanced if balanced.exists() else JVOWELS / "jvowels_lstm" / "spec.yml"


def _jvowels_sim(tmp_path: Path, samples: int | None) -> dict:
    from codesign.engine.command import build_rtl
    from codesign.engine.encoder import load_image
    from codesign.engine.sim_command import sim_report, simulate
    from codesign.models.train import load_trained
    from codesign.spec import load_spec

    spec = load_spec(_jvowels_model())
    build_rtl(spec, EngineConfig(num_pe=8), tmp_path)
    image_dir = tmp_path / spec.name
    image = load_image(image_dir)
    ds = load_trained(spec).dataset
    x, y = (ds.x_test, ds.y_test) if samples is None else (ds.x_test[:samples], ds.y_test[:samples])
    x_raw = quantize_input(image, x)
    out = simulate(image_dir, x_raw, tmp_path / "run")
    return sim_report(image, x_raw, y, out["tb"])


def test_jvowels_end_to_end_short(tmp_path: Path) -> None:
    """The one full end-to-end engine simulation of `make test`: trained model -> encoder -> RTL."""
    report = _jvowels_sim(tmp_path, samples=8)
    assert report["mismatches"] == 0
    assert report["accuracy_rtl"] == report["accuracy_golden"]
    assert report["cycle_model"]["matrix_cycles_rtl_minus_model"] == 0
    assert report["cycle_model"]["step_cycles_rtl_minus_model"] == 0


@pytest.mark.slow
def test_jvowels_whole_test_set(tmp_path: Path) -> None:
    """All 370 JapaneseVowels test sequences at NumPe 8: 0 mismatches, RTL accuracy = golden accuracy."""
    report = _jvowels_sim(tmp_path, samples=None)
    assert report["samples"] == 370
    assert report["mismatches"] == 0
    assert report["accuracy_rtl"] == report["accuracy_golden"]


def test_codesign_sim_delta_model(tmp_path: Path, monkeypatch) -> None:
    """`codesign sim` on the committed delta LSTM (first 8 test sequences): exact with delta mode and,
    on the same build, without it; the report carries the temporal sparsity and the measured speedup."""
    from codesign import cli

    spec = JVOWELS / "jvowels_lstm-delta128-256" / "spec.yml"
    monkeypatch.chdir(tmp_path)
    assert cli.main(["sim", str(spec), "--pes", "8", "--samples", "8", "--out", str(tmp_path / "rtl")]) == 0
    report = json.loads((tmp_path / "rtl" / spec.parent.name / "sim_report.json").read_text())
    assert report["mismatches"] == 0 and report["no_delta_mismatches"] == 0
    assert report["cycle_model"]["step_cycles_rtl_minus_model"] == 0
    assert set(report["temporal_sparsity"]) == {"x", "h"} and 0 < report["temporal_sparsity"]["h"] < 1
    speedup = report["cycles_per_step_no_delta"] / report["cycles_per_step"]
    assert report["speedup_vs_no_delta"] == speedup and speedup > 1
