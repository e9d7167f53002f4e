"""`codesign sim SPEC --pes N [--samples K]`: the test set through the engine's RTL (cocotb + Verilator).

Uses the images of `codesign rtl` in build/rtl/<name>/ (made first when missing or built for another
NumPe), simulates K test sequences back to back through rtl/sparse_lstm_engine.sv, compares every logit
with the golden model and writes build/rtl/<name>/sim_report.json (samples, mismatches, accuracy_rtl,
accuracy_golden, cycles_per_step, ideal_cycles_per_step, pe_utilization, step_efficiency = ideal / real
cycles per step, and the cycle model beside the RTL counters). A delta model runs twice on the same build,
with delta mode and without: the report adds temporal_sparsity and speedup_vs_no_delta.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass
from pathlib import Path

# The cocotb testbench lives in the package: `codesign sim` runs it for users, the tests reuse it.
TB_DIR = Path(__file__).resolve().parent / "tb"
TOP = "sparse_lstm_engine"

# Build maxima shared with tests/rtl: a model that fits reuses the test suite's Verilator build.
SHARED_MAXIMA = {"MaxInputs": 16, "MaxUnits": 32, "MaxClasses": 16, "MaxLayers": 2, "WeightDepth": 4096}
SHARED_ACC_WIDTH = 44  # the act type holds the exact h_t (jvowels_lstm: acc ap_fixed<39,17>)


def engine_build_params(image) -> dict:
    """RTL parameters for an image (codesign.engine.params): its types, and maxima that fit it (the shared
    ones when they do); no power-up configuration (the load stream sets it)."""
    from codesign.engine.params import TYPE_PARAMETERS, image_rtl_parameters, rtl_defaults

    t = image.types
    fits = (
        image.inputs <= SHARED_MAXIMA["MaxInputs"]
        and max(image.units) <= SHARED_MAXIMA["MaxUnits"]
        and image.classes <= SHARED_MAXIMA["MaxClasses"]
        and image.depth <= SHARED_MAXIMA["WeightDepth"]
        and t.acc.width <= SHARED_ACC_WIDTH
    )
    maxima = dict(SHARED_MAXIMA, AccWidth=SHARED_ACC_WIDTH) if fits else None
    params = image_rtl_parameters(image, config=False, maxima=maxima)
    # types equal to rtl/sparse_lstm_engine.sv's defaults are left out, so that equal builds share a folder
    defaults = rtl_defaults()
    return {k: v for k, v in params.items() if k not in TYPE_PARAMETERS or defaults[k] != v}


def simulate(
    image_dir: Path,
    x_raw,
    result_dir: Path,
    stall: bool = False,
    emit_h: bool = False,
    more_images: tuple[Path, ...] = (),
) -> dict:
    """Run act-raw sequences (N, T, X) through the RTL; returns the testbench's result and timings.
    `more_images` run the same sequences after it on the same build (their results: "tb_more")."""
    import numpy as np

    from codesign import sim
    from codesign.engine.encoder import load_image

    image_dir, result_dir = (
        Path(image_dir).resolve(),
        Path(result_dir).resolve(),
    )  # the simulator runs elsewhere
    image = load_image(image_dir)
    params = engine_build_params(image)
    t0 = time.perf_counter()
    runner = sim.build(TOP, params)
    t_build = time.perf_counter() - t0
    result_dir.mkdir(parents=True, exist_ok=True)
    np.save(result_dir / "x.npy", x_raw)
    result = result_dir / "tb_result.json"
    result.unlink(missing_ok=True)
    images = [image_dir, *(Path(d).resolve() for d in more_images)]
    case = {
        "cases": [{"image": str(d), "x": str(result_dir / "x.npy")} for d in images],
        "stall": stall,
        "emit_h": emit_h,
        "result": str(result),
    }
    (result_dir / "case.json").write_text(json.dumps(case))
    t1 = time.perf_counter()
    sim.run(runner, TOP, "sparse_lstm_engine_tb", TB_DIR, {"ENGINE_CASE": str(result_dir / "case.json")},
            testcase="engine_matches_golden")  # fmt: skip
    t_run = time.perf_counter() - t1
    tb, *more = json.loads(result.read_text())
    timings = {"build_seconds": t_build, "run_seconds": t_run}
    return {"tb": tb, "tb_more": more, "params": params, "image": image, **timings}


def sim_report(image, x_raw, y, tb: dict, emit_h: bool = False) -> dict:
    """sim_report.json from the testbench result, the golden model and the cycle model (`emit_h` as the
    run; the model assumes frames back to back and an output always ready)."""
    import numpy as np

    from codesign.engine.cycles import predict_cycles
    from codesign.engine.golden import run_golden

    trace = run_golden(image, x_raw, x_is_raw=True)
    model = predict_cycles(image, trace, emit_h=emit_h)
    perf = tb["perf"]
    steps = perf["steps"]
    matrix_per_step = perf["matrix_cycles_total"] / steps  # all layers of one step
    useful = model.ideal_cycles_per_step * image.num_pe * steps
    pred = np.asarray(tb["predictions"])
    return {
        "samples": int(len(y)),
        "mismatches": int(tb["mismatches"]),
        "accuracy_rtl": float(np.mean(pred == y)),
        "accuracy_golden": float(np.mean(trace.predictions == y)),
        "cycles_per_step": perf["step_cycles_total"] / steps,
        "ideal_cycles_per_step": model.ideal_cycles_per_step,
        "pe_utilization": useful / (image.num_pe * perf["matrix_cycles_total"]),
        "step_efficiency": useful / image.num_pe / perf["step_cycles_total"],
        "matrix_cycles_per_step": matrix_per_step,
        "busy_cycles_per_pe_per_step": [b / steps for b in perf["pe_busy"]],
        "cycle_model": {
            "cycles_per_step": model.cycles_per_step,
            "matrix_cycles_per_step": model.matrix_cycles_per_step,
            "pe_utilization": model.pe_utilization,
            "step_efficiency": model.step_efficiency,
            "busy_cycles_per_pe_per_step": model.busy_cycles_per_pe_per_step,
            "params": model.params,
            "matrix_cycles_rtl_minus_model": perf["matrix_cycles_total"]
            - round(model.matrix_cycles_per_step * steps),
            "step_cycles_rtl_minus_model": perf["step_cycles_total"] - round(model.cycles_per_step * steps),
            "busy_cycles_rtl_minus_model": np.subtract(perf["pe_busy"], model.busy_cycles_per_pe).tolist(),
            "note": "codesign.engine.cycles, default CycleParams (the RTL pipeline); differences are totals",
        },
        "steps": steps,
        "num_pe": image.num_pe,
    }


def configure(parser: argparse.ArgumentParser) -> None:
    from codesign.options import pe_range

    parser.add_argument("spec", help="models/<name>/spec.yml (a trained LSTM or reset_after GRU)")
    lo, hi = pe_range()
    parser.add_argument("--pes", type=int, required=True, help=f"number of processing elements ({lo}..{hi})")
    parser.add_argument("--samples", type=int, default=None, help="first K test sequences (default: all)")
    parser.add_argument("--stall", action="store_true", help="random valid gaps and ready back-pressure")
    parser.add_argument("--out", type=Path, default=None, help="parent folder of build/rtl/<name>")


@dataclass(frozen=True)
class SimOptions:
    """What `codesign sim` takes besides the spec (the options of the same names)."""

    pes: int
    samples: int | None = None  # the first K test sequences; None: all
    stall: bool = False
    out: Path | None = None  # parent folder of <name>/; default build/rtl

    def validate(self):
        """The EngineConfig of `pes`; a CodesignError names the option that is out of range."""
        from codesign.engine.encoder import EngineConfig
        from codesign.errors import CodesignError

        config = EngineConfig(num_pe=self.pes)
        config.validate()
        if self.samples is not None and self.samples < 1:
            raise CodesignError(f"--samples {self.samples} < 1")
        return config


def mismatches(report: dict) -> int:
    """Logits that differ from the golden model's, in the run and (delta) in the run without delta."""
    return report["mismatches"] + report.get("no_delta_mismatches", 0)


def run(args: argparse.Namespace) -> int:
    from codesign.spec import load_spec

    options = SimOptions(pes=args.pes, samples=args.samples, stall=args.stall, out=args.out)
    options.validate()  # every option is checked before anything is announced or built
    report = run_sim(load_spec(args.spec), options)
    return 0 if mismatches(report) == 0 else 1


def run_sim(spec, options: SimOptions) -> dict:
    """The sim stage on `spec`: the test set through the RTL (the images built first when missing or
    stale), compared with the golden model; writes and returns sim_report.json's content."""
    from codesign.engine.command import build_rtl
    from codesign.engine.encoder import FORMAT_VERSION, check_rtl_spec, load_image
    from codesign.engine.golden import quantize_input
    from codesign.outputs import build_root, write_json

    config = options.validate()
    pes = options.pes
    check_rtl_spec(spec)
    out_root = build_root() / "rtl" if options.out is None else Path(options.out)
    folder = out_root / spec.name
    params_file = folder / "params.json"
    old = json.loads(params_file.read_text()) if params_file.exists() else {}
    if old.get("num_pe") != pes or old.get("format") != FORMAT_VERSION:  # missing, other NumPe or stale
        print(f"{spec.name}: encoding for {pes} PEs (codesign rtl) ...")
        build_rtl(spec, config, out_root)
    from codesign.models.train import load_trained

    ds = load_trained(spec).dataset
    image = load_image(folder)
    x, y = ds.x_test, ds.y_test
    if options.samples is not None:
        x, y = x[: options.samples], y[: options.samples]
    x_raw = quantize_input(image, x)
    more = ()
    if image.delta is not None:  # the same weights without delta, on the same build: the speedup's base
        more = (write_plain_image(image, folder / "no_delta"),)
        print(f"{spec.name}: simulating {len(y)} sequences through the RTL ({pes} PEs), with delta mode "
              "and without ...")  # fmt: skip
    else:
        print(f"{spec.name}: simulating {len(y)} sequences through the RTL ({pes} PEs) ...")
    runs = build_root() / "sim" / "runs" / spec.name
    out = simulate(folder, x_raw, runs, stall=options.stall, more_images=more)
    report = sim_report(image, x_raw, y, out["tb"])
    if image.delta is not None:
        report |= delta_sim_report(image, x_raw, y, report, out["tb_more"][0])
    report |= {"build_seconds": round(out["build_seconds"], 1), "run_seconds": round(out["run_seconds"], 1)}
    report["rtl_parameters"] = out["params"]
    write_json(folder / "sim_report.json", report)
    print(
        f"  {report['samples']} samples, {report['mismatches']} mismatches, accuracy RTL "
        f"{report['accuracy_rtl']:.4f} / golden {report['accuracy_golden']:.4f}; cycles/step "
        f"{report['cycles_per_step']:.1f} (ideal {report['ideal_cycles_per_step']:.1f}), "
        f"PE utilization {report['pe_utilization']:.3f}, step efficiency {report['step_efficiency']:.3f} "
        f"-> {folder / 'sim_report.json'}"
    )
    if "temporal_sparsity" in report:
        ts = report["temporal_sparsity"]
        print(
            f"  delta: skipped dx {ts['x']:.3f}, dh {ts['h']:.3f}; {report['speedup_vs_no_delta']:.2f}x "
            f"fewer cycles/step than without delta ({report['cycles_per_step_no_delta']:.1f}, "
            f"{report['no_delta_mismatches']} mismatches)"
        )
    return report


def write_plain_image(image, folder: Path) -> Path:
    """The delta image's weights as a plain image (delta mode off), for the speedup's base run."""
    import dataclasses

    from codesign.engine.encoder import write_image

    folder.mkdir(parents=True, exist_ok=True)
    write_image(dataclasses.replace(image, delta=None), folder)
    return folder


def delta_sim_report(image, x_raw, y, report: dict, plain_tb: dict) -> dict:
    """sim_report.json's delta figures: the temporal sparsity (fraction of dx and dh entries skipped, from
    the golden model) and the RTL's cycles per step with delta mode against the same weights without it,
    both measured on the same build."""
    import numpy as np

    from codesign.delta import skipped_fractions
    from codesign.engine.golden import run_golden

    trace = run_golden(image, x_raw, x_is_raw=True)
    perf = plain_tb["perf"]
    plain_cycles = perf["step_cycles_total"] / perf["steps"]
    return {
        "temporal_sparsity": skipped_fractions(trace.input_changed, trace.state_changed),
        "thresholds_act_raw": {"x": image.delta[0], "h": image.delta[1]},
        "cycles_per_step_no_delta": plain_cycles,
        "speedup_vs_no_delta": plain_cycles / report["cycles_per_step"],
        "no_delta_mismatches": int(plain_tb["mismatches"]),
        "no_delta_accuracy_rtl": float(np.mean(np.asarray(plain_tb["predictions"]) == np.asarray(y))),
    }
