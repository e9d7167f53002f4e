"""Fit the engine's resource estimator on Yosys runs and check it on held-out configurations.

One command, re-runnable whenever codesign/rtl/ changes:

    .venv/bin/python bench/fit_estimator.py [--jobs 2] [--family xc7]

1. Synthesizes codesign/rtl/sparse_lstm_engine.sv (Yosys synth_xilinx, no place-and-route) at every
   configuration of codesign.sweep.fit.design_of_experiments(), `--jobs` at a time with a progress bar.
   Each run's result (cell counts, resource counts, seconds) is cached in
   build/fit/<family>/<key>/result.json; the key hashes the RTL sources and the parameters, so a re-run
   synthesizes only what changed.
2. Fits the LUT and FF forms on the training configurations, evaluates every resource on the held-out
   ones (never used in fitting), and writes codesign/sweep/engine_cost.json (coefficients, every measured
   point, the held-out error table; committed, read by codesign.sweep.estimate) and
   build/bench/fit_estimator.json (the same figures plus timings). Exit status 3 when a resource's held-out
   error exceeds --bar (10%): the files are still written, so the report shows the truth.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from codesign.outputs import build_root

ROOT = Path(__file__).resolve().parents[1]
TOP = "sparse_lstm_engine"


def bram18(cells: dict[str, int]) -> int:
    """Block RAM in 18 Kbit blocks (what Resources.bram_18k counts): a RAMB36 holds two."""
    return sum(cells.get(k, 0) for k in ("RAMB18E1", "RAMB18E2", "FIFO18E1", "FIFO18E2")) + 2 * sum(
        cells.get(k, 0) for k in ("RAMB36E1", "RAMB36E2", "FIFO36E1", "FIFO36E2")
    )


def memory_mapping(log: Path) -> dict[str, str]:
    """Yosys' choice for every inferred memory (block RAM, LUT RAM or flip-flops), from its log: what the
    estimator's memory rule (codesign.sweep.estimate.xc7_memory) is checked against."""
    import re

    out = {}
    for line in Path(log).read_text(errors="replace").splitlines():
        m = re.match(r"mapping memory (\S+) via (\S+)", line)
        if m:
            out[m.group(1)] = m.group(2)
        m = re.match(r"using FF mapping for memory (\S+)", line)
        if m:
            out[m.group(1)] = "FF"
    return out


def synthesize_config(config, files, defines, include_dirs, family: str, folder: Path) -> dict:
    """One Yosys run into `folder` (staged: a failed or interrupted run leaves no result.json)."""
    from codesign.synth import yosys

    stage = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(stage, ignore_errors=True)
    start = time.perf_counter()
    result = yosys.run_yosys(
        files,
        TOP,
        family,
        stage,
        params=config.rtl_parameters(),
        defines=defines,
        include_dirs=include_dirs,
        netlist=False,
        progress=False,
    )
    seconds = time.perf_counter() - start
    counts = result.counts.as_dict()
    record = {
        "name": config.name,
        "params": config.rtl_parameters(),
        "cells": result.cells,
        "counts": {
            "lut": counts["lut"],
            "ff": counts["ff"],
            "bram_18k": bram18(result.cells),
            "dsp": counts["dsp"],
        },
        "seconds": seconds,
        "memories": memory_mapping(result.log),
        "yosys": result.version,
    }
    (stage / "result.json").write_text(json.dumps(record, indent=2) + "\n")
    shutil.rmtree(folder, ignore_errors=True)
    stage.rename(folder)
    return record


def main() -> int:
    from tqdm import tqdm

    from codesign.filelist import read_file_list
    from codesign.outputs import write_json
    from codesign.resources import ENGINE_FILE_LIST
    from codesign.sweep import fit

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2, help="Yosys runs at a time (default 2)")
    parser.add_argument("--family", default="xc7", choices=("xc7",), help="target family")
    parser.add_argument("--file-list", type=Path, default=ENGINE_FILE_LIST)
    parser.add_argument("--cache", type=Path, default=ROOT / build_root() / "fit")
    parser.add_argument("--coefficients", type=Path, default=ROOT / "codesign" / "sweep" / "engine_cost.json")
    parser.add_argument("--out", type=Path, default=ROOT / build_root() / "bench" / "fit_estimator.json")
    parser.add_argument("--bar", type=float, default=0.10, help="held-out relative error bar (issue 5)")
    parser.add_argument("--synth-only", action="store_true", help="synthesize (fill the cache), do not fit")
    args = parser.parse_args()

    file_list = read_file_list(args.file_list, base=ROOT)
    headers = file_list.headers()
    rtl_hash = fit.rtl_fingerprint([*file_list.files, *headers])
    # Synthesize a snapshot: codesign/rtl/ may change while the runs go on, and a result must match its key.
    snapshot = args.cache / f"rtl-{rtl_hash}"
    snapshot.mkdir(parents=True, exist_ok=True)
    for f in [*file_list.files, *headers]:
        shutil.copy2(f, snapshot / Path(f).name)
    sources = [snapshot / Path(f).name for f in file_list.files]
    include_dirs = [snapshot] if headers else []  # the headers' copies, not codesign/rtl/
    configs = fit.design_of_experiments()
    cache = args.cache / args.family
    todo, records = [], {}
    for c in configs:
        folder = cache / fit.config_key(c, rtl_hash, args.family)
        done = folder / "result.json"
        if done.is_file():
            records[c.name] = json.loads(done.read_text())
        else:
            todo.append((c, folder))
    print(f"[fit] RTL {rtl_hash}: {len(configs)} configurations, {len(records)} cached, {len(todo)} to run")
    start = time.perf_counter()
    failures = []
    with (
        ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool,
        tqdm(total=len(todo), desc="yosys synth_xilinx", unit="run", dynamic_ncols=True) as bar,
    ):
        futures = {
            pool.submit(
                synthesize_config,
                c,
                sources,
                file_list.defines,
                include_dirs,
                args.family,
                f,
            ): c
            for c, f in todo
        }
        for fut in as_completed(futures):
            c = futures[fut]
            try:
                rec = fut.result()
                records[c.name] = rec
                bar.set_postfix_str(f"{c.name}: {rec['seconds']:.0f} s", refresh=False)
            except Exception as exc:  # keep the other runs; report at the end
                failures.append(f"{c.name}: {exc}")
            bar.update(1)
    wall = time.perf_counter() - start
    if failures:
        print("\n".join(f"[fit] FAILED {f}" for f in failures), file=sys.stderr)
        return 1
    if args.synth_only:
        return 0

    points = [
        fit.measured_point(
            c, records[c.name]["counts"], records[c.name]["seconds"], records[c.name]["memories"]
        )
        for c in configs
    ]
    result = fit.fit_and_evaluate(points)
    synth_seconds = sum(records[c.name]["seconds"] for c in configs)
    result["rtl"] = {
        "fingerprint": rtl_hash,
        "files": [str(Path(f).relative_to(ROOT)) for f in file_list.files],
    }
    result["family"] = args.family
    result["tool"] = records[configs[0].name]["yosys"] + " synth_xilinx -family xc7 -flatten"
    result["synthesis_seconds_total"] = round(synth_seconds, 1)
    write_json(args.coefficients, result)
    bench = {
        "configurations": len(configs),
        "synthesized_now": len(todo),
        "wall_seconds_synthesis_now": round(wall, 1),
        "synthesis_seconds_total": round(synth_seconds, 1),
        "jobs": args.jobs,
        "heldout": result["heldout"]["summary"],
        "train": result["train"]["summary"],
        "shipped": result["shipped"]["summary"],
        "coefficients": result["coefficients"],
        "rtl": result["rtl"],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_json(args.out, bench)
    for line in fit.error_table(result):
        print(line)
    over = fit.over_bar(result, args.bar)
    if over:
        print(f"[fit] held-out error above {100 * args.bar:g}% for {', '.join(over)}: the forms need work")
        return 3
    print(f"[fit] every resource within {100 * args.bar:g}% on the held-out configurations")
    return 0


if __name__ == "__main__":
    sys.exit(main())
