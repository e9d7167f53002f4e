"""Sparse-LSTM engine benchmark: writes build/bench/engine.json (numbers, no timed tests).

For the balanced and the plain magnitude-pruned 90% models and NumPe in {4, 8, 16}:
- cycles per step measured by the RTL counters on the first `--rtl-samples` test sequences, and the
  cycle model (codesign.engine.cycles, which predicts the RTL) on all of them;
- ideal cycles per step (useful MACs / NumPe) and PE utilization;
- dense-equivalent GOPS at the achieved ECP5 Fmax (build/synth/<model>-ulx3s-85f/report.json, from
  `codesign synth SPEC --board ulx3s-85f --pes 8`): 2 ops per MAC of the dense 4H x (X+H) layer
  matrices and the head, per sequence, over the modelled time per sequence;
- Verilator simulated cycles per second (cycles of the run / wall time of the run, build excluded).
The balanced model was pruned for NumPe 8 (equal non-zeros per PE at 8 PEs); at 4 and 16 it is balanced
only as far as 8's balance carries over.

Run: .venv/bin/python bench/engine.py [--rtl-samples 40] [--pes 4 8 16]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from codesign.outputs import build_root

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

MODELS = {
    "balanced90": "models/jvowels_lstm-balanced90/spec.yml",
    "magnitude90": "models/jvowels_lstm-magnitude90/spec.yml",
}
OUT = build_root() / "bench" / "engine.json"
SYNTH_BOARD = "ulx3s-85f"


def ecp5_fmax(name: str) -> tuple[float | None, str | None]:
    """Place-and-route Fmax of this model's engine, else of the balanced model's (same RTL build, other
    $readmemh contents), with the report it came from."""
    for candidate in (name, "jvowels_lstm-balanced90"):
        report = build_root() / "synth" / f"{candidate}-{SYNTH_BOARD}" / "report.json"
        if report.exists():
            return json.loads(report.read_text()).get("fmax_mhz"), str(report)
    return None, None


def dense_macs_per_sequence(image, steps: int) -> int:
    x, units = image.inputs, list(image.units)
    macs, below = 0, x
    for h in units:
        macs += 4 * h * (below + h) * steps
        below = h
    return macs + image.classes * units[-1]


def bench_one(name: str, spec_path: str, pes: int, rtl_samples: int, work: Path) -> dict:
    from codesign.engine import EngineConfig, load_image, predict_cycles, quantize_input, run_golden
    from codesign.engine.command import build_rtl
    from codesign.engine.sim_command import simulate
    from codesign.models.train import load_trained
    from codesign.spec import load_spec

    spec = load_spec(spec_path)
    out_root = work / f"pes{pes}"
    build_rtl(spec, EngineConfig(num_pe=pes), out_root)
    folder = out_root / spec.name
    image = load_image(folder)
    ds = load_trained(spec).dataset
    x_raw = quantize_input(image, ds.x_test)
    model = predict_cycles(image, run_golden(image, x_raw, x_is_raw=True))
    sub = x_raw[:rtl_samples]
    sub_model = predict_cycles(image, run_golden(image, sub, x_is_raw=True))
    run = simulate(folder, sub, work / "runs" / f"{name}-pes{pes}")
    perf = run["tb"]["perf"]
    steps = perf["steps"]
    sim_cycles = perf["step_cycles_total"]  # lower bound of the simulated cycles: the steps alone
    fmax, fmax_source = ecp5_fmax(spec.name)
    seq_steps = x_raw.shape[1]
    ops = 2 * dense_macs_per_sequence(image, seq_steps)
    gops = None if fmax is None else ops / (model.cycles_per_sequence / (fmax * 1e6)) / 1e9
    useful = sub_model.ideal_cycles_per_step * pes * steps
    return {
        "model": name,
        "num_pe": pes,
        "rtl_samples": int(len(sub)),
        "rtl_mismatches": int(run["tb"]["mismatches"]),
        "rtl_cycles_per_step": sim_cycles / steps,
        "rtl_matrix_cycles_per_step": perf["matrix_cycles_total"] / steps,
        "rtl_pe_utilization": useful / (pes * perf["matrix_cycles_total"]),
        "rtl_step_efficiency": useful / pes / sim_cycles,
        "model_on_rtl_samples": {
            "cycles_per_step": sub_model.cycles_per_step,
            "matrix_cycles_per_step": sub_model.matrix_cycles_per_step,
        },
        "model_all": {
            "sequences": model.sequences,
            "cycles_per_step": model.cycles_per_step,
            "matrix_cycles_per_step": model.matrix_cycles_per_step,
            "ideal_cycles_per_step": model.ideal_cycles_per_step,
            "dense_activation_ideal_cycles_per_step": model.dense_activation_ideal_cycles_per_step,
            "pe_utilization": model.pe_utilization,
            "step_efficiency": model.step_efficiency,
            "cycles_per_sequence": model.cycles_per_sequence,
        },
        "ecp5_fmax_mhz": fmax,
        "ecp5_fmax_source": fmax_source,
        "dense_equivalent_gops": gops,
        "verilator_build_seconds": round(run["build_seconds"], 1),
        "verilator_run_seconds": round(run["run_seconds"], 1),
        "verilator_step_cycles_per_second": sim_cycles / run["run_seconds"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rtl-samples", type=int, default=40)
    parser.add_argument("--pes", type=int, nargs="+", default=[4, 8, 16])
    parser.add_argument("--work", type=Path, default=build_root() / "bench" / "engine")
    args = parser.parse_args()
    from tqdm import tqdm

    rows = []
    jobs = [(n, s, p) for p in args.pes for n, s in MODELS.items()]
    t0 = time.perf_counter()
    for name, spec_path, pes in tqdm(jobs, desc="engine bench"):
        rows.append(bench_one(name, spec_path, pes, args.rtl_samples, args.work))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    result = {
        "note": "balanced90 was pruned for NumPe 8; GOPS = dense-equivalent (2 ops per dense MAC) at the "
        "ECP5 place-and-route Fmax over the cycle model's cycles per sequence (element-wise phase, head)",
        "results": rows,
        "seconds": round(time.perf_counter() - t0, 1),
    }
    OUT.write_text(json.dumps(result, indent=2))
    for r in rows:
        print(
            f"{r['model']:12s} NumPe {r['num_pe']:2d}: RTL {r['rtl_cycles_per_step']:.1f} cyc/step (matrix "
            f"{r['rtl_matrix_cycles_per_step']:.1f}, util {r['rtl_pe_utilization']:.3f}); model all "
            f"{r['model_all']['cycles_per_step']:.1f}, ideal {r['model_all']['ideal_cycles_per_step']:.1f}, "
            f"util {r['model_all']['pe_utilization']:.3f}; GOPS {r['dense_equivalent_gops'] or 0:.2f}"
        )
    print(f"-> {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
