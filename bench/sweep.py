"""Benchmark: a 100-point analytic sweep on models/jvowels_lstm (cached model, no retraining).

Writes JSON (default build/bench/sweep.json): the wall time of the whole sweep from an empty cache
(goal: under 60 s on 2 cores), the resume check (a run stopped after `--interrupt-after` points, then
rerun: finished points must come from the cache, not be recomputed), the time of a fully cached rerun,
and the best point within the tolerance. Run: .venv/bin/python bench/sweep.py [--workers N]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from pathlib import Path

from codesign.outputs import build_root
from codesign.sweep import load_sweep, run_sweep
from codesign.sweep.report import best_within

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sweep", type=Path, default=ROOT / "sweeps" / "jvowels_100.yml")
    parser.add_argument("--workers", type=int, default=None, help="default: every core")
    parser.add_argument("--interrupt-after", type=int, default=40)
    parser.add_argument("--out", type=Path, default=ROOT / build_root() / "bench" / "sweep.json")
    parser.add_argument("-q", "--quiet", action="store_true")
    args = parser.parse_args()

    config = load_sweep(args.sweep)
    work = args.out.parent / "sweep_runs"
    shutil.rmtree(work, ignore_errors=True)
    progress = not args.quiet

    start = time.perf_counter()
    full = run_sweep(config, work / "full", workers=args.workers, progress=progress)
    full_seconds = time.perf_counter() - start

    part = run_sweep(
        config, work / "resume", workers=args.workers, progress=progress, limit=args.interrupt_after
    )
    start = time.perf_counter()
    resumed = run_sweep(config, work / "resume", workers=args.workers, progress=progress)
    resume_seconds = time.perf_counter() - start
    first_keys = {r["key"] for r in part.rows}
    start = time.perf_counter()
    cached = run_sweep(config, work / "full", workers=args.workers, progress=progress)
    cached_seconds = time.perf_counter() - start

    strip = lambda rows: [{k: v for k, v in r.items() if k != "seconds"} for r in rows]  # noqa: E731
    best = best_within(full.rows, config.tolerance)
    result = {
        "sweep": str(args.sweep.relative_to(ROOT) if args.sweep.is_relative_to(ROOT) else args.sweep),
        "points": full.total,
        "workers": args.workers or os.cpu_count(),
        "cpu_count": os.cpu_count(),
        "wall_seconds": round(full_seconds, 2),
        "goal_seconds": 60,
        "meets_goal": full_seconds < 60,
        "point_seconds_mean": round(sum(r["seconds"] for r in full.rows) / len(full.rows), 4),
        "resume": {
            "interrupted_after": part.computed,
            "rerun_computed": resumed.computed,
            "rerun_cached": resumed.cached,
            "recomputed_finished_points": len(first_keys & set(resumed.computed_keys)),
            "rows_equal_to_uninterrupted_run": strip(resumed.rows) == strip(full.rows),
            "rerun_seconds": round(resume_seconds, 2),
            "ok": part.computed == args.interrupt_after
            and not first_keys & set(resumed.computed_keys)
            and resumed.cached == part.computed
            and resumed.computed == full.total - part.computed,
        },
        "cached_rerun": {"computed": cached.computed, "seconds": round(cached_seconds, 2)},
        "best_within_tolerance": None
        if best is None
        else {
            k: best[k]
            for k in (
                "technique",
                "accuracy",
                "baseline_accuracy",
                "size_kb",
                "memory_savings",
                "compute_savings",
                "flag",
                "lut",
                "ff",
                "bram_18k",
                "dsp",
                "latency_us",
            )
        },
        "max_memory_savings_any_accuracy": max(r["memory_savings"] for r in full.rows),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
