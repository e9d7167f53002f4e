"""`codesign sweep SWEEP.yml`: precision x sparsity x structure x NumPe / reuse factor x target.

Every point: accuracy (the numpy reference model on the test split, after pruning / projection and
quantization of the cached model; no retraining in analytic mode), the survey's metrics (model size
with index overhead, memory and compute savings, relative performance, E/S) and analytic resources and
latency; with `synthesize: true` also Yosys' counts for every buildable engine point (images and runs
under build/sweep/<name>/synth/). Writes build/sweep/<name>/: results.csv, results.json, report.md,
pareto_*.png, and points/ (the per-point cache that lets an interrupted sweep resume).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("sweep", help="sweeps/<name>.yml")
    parser.add_argument("--workers", type=int, default=None, help="local processes (default: every core)")
    parser.add_argument("--scheduler", default=None, help="a Dask scheduler address, tcp://host:port")
    parser.add_argument("--limit", type=int, default=None, help="evaluate at most N new points, then stop")
    parser.add_argument("--out", type=Path, default=None, help="parent folder of the output")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar, no summary")


@dataclass
class SweepResult:
    folder: Path
    rows: list[dict]
    computed: int
    cached: int
    complete: bool
    total: int
    computed_keys: list[str]  # points evaluated by this run
    cached_keys: list[str]  # points read back from the cache


def run_sweep(
    config,
    out_root: Path | None = None,
    workers: int | None = None,
    scheduler=None,
    progress: bool = True,
    limit: int | None = None,
    on_result=None,
    evaluate=None,
) -> SweepResult:
    """Load the base model, run (or resume) every point, write the outputs; see `run_points`."""
    from codesign.errors import CodesignError
    from codesign.outputs import build_root, staged_folder, write_json
    from codesign.spec import load_spec
    from codesign.sweep.config import check_against_model
    from codesign.sweep.evaluate import SweepContext, evaluate_point
    from codesign.sweep.executor import run_points
    from codesign.sweep.model import load_base
    from codesign.sweep.report import report_markdown, write_csv, write_plots
    from codesign.synth.boards import BOARDS

    if workers is not None and workers < 1:
        raise CodesignError(f"--workers {workers}: need at least 1")
    if limit is not None and limit < 0:
        raise CodesignError(f"--limit {limit}: need 0 or more")
    folder = (build_root() / "sweep" if out_root is None else Path(out_root)) / config.name
    spec = load_spec(config.model)
    if config.mode == "finetune":
        spec = load_spec(_private_copy(spec.folder, folder / "models"))
    base = load_base(spec)
    check_against_model(config, spec, base.gate_shapes())
    ctx = SweepContext(
        base=base,
        mode=config.mode,
        clock_mhz=config.clock_mhz,
        tolerance=config.tolerance,
        index_width=config.engine.index_width,
        step_overhead=config.engine.step_overhead,
        head_overhead=config.engine.head_overhead,
        part=BOARDS[config.board].part,
        synth_board=config.board if config.synthesize else None,
        synth_dir=str((folder / "synth").resolve()) if config.synthesize else None,
    )
    points = config.points()
    run = run_points(
        points,
        ctx,
        folder / "points",
        workers=workers,
        scheduler=scheduler,
        progress=progress,
        limit=limit,
        on_result=on_result,
        evaluate=evaluate or evaluate_point,
    )
    with staged_folder(folder) as stage:
        for old in stage.glob("pareto_*.png"):
            old.unlink()
        write_csv(stage / "results.csv", run.rows)
        write_json(
            stage / "results.json",
            {
                "name": config.name,
                "sweep": str(config.source),
                "model": str(config.model),
                "mode": config.mode,
                "board": config.board,
                "clock_mhz": config.clock_mhz,
                "tolerance": config.tolerance,
                "baseline_accuracy": base.baseline_accuracy,
                "quantized_accuracy": base.quantized_accuracy,
                "points": len(points),
                "complete": run.complete,
                "rows": run.rows,
            },
        )
        (stage / "report.md").write_text(report_markdown(config, run.rows, run.complete, len(points)))
        if run.rows:
            write_plots(stage, run.rows, config.tolerance, config.name)
    return SweepResult(
        folder,
        run.rows,
        len(run.computed),
        len(run.cached),
        run.complete,
        len(points),
        run.computed,
        run.cached,
    )


def _private_copy(model_folder: Path, models: Path) -> Path:
    """Finetune mode: codesign.compress writes each new model beside its base, so the sweep works on a
    copy of the base under build/sweep/<name>/models/ and never adds folders to models/."""
    import shutil

    target = models / model_folder.name
    if not target.is_dir():
        models.mkdir(parents=True, exist_ok=True)
        shutil.copytree(model_folder, target)
    return target / "spec.yml"


def print_summary(result: SweepResult, tolerance: float, out=print) -> None:
    from codesign.sweep.report import best_within

    out(
        f"sweep: {len(result.rows)} of {result.total} points "
        f"({result.computed} computed, {result.cached} cached) -> {result.folder}"
    )
    best = best_within(result.rows, tolerance)
    if best is None:
        out(f"  no buildable point within {100 * tolerance:g} point(s) of the float baseline")
    else:
        out(
            f"  best within {100 * tolerance:g} point(s): {best['technique']}: "
            f"accuracy {best['accuracy']:.4f}, {best['size_kb']:.2f} KB, "
            f"{best['memory_savings']:.1f}x memory, {best['compute_savings']:.1f}x compute"
        )


def run(args: argparse.Namespace) -> int:
    from codesign.sweep.config import load_sweep

    config = load_sweep(args.sweep)
    result = run_sweep(
        config,
        args.out,
        workers=args.workers,
        scheduler=args.scheduler,
        progress=not args.quiet,
        limit=args.limit,
    )
    if not args.quiet:
        print_summary(result, config.tolerance)
    return 0
