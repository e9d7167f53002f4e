"""`codesign flow`: every stage that exists, in order, then one summary table.

train (load the committed weights, or train when they are missing) -> hls (hls4ml project, C-simulation
against QKeras) -> rtl (engine images, golden model, cycle model) -> sim (the RTL under Verilator
against the golden model) -> synth (open-source synthesis for a board) -> sweep (a small design-space
sweep around the model). Each stage runs through its entry function (`run_hls`, `run_rtl`, `run_sim`,
`run_synth`, `run_sweep`: what its command calls with the defaults a user would get), writes its own
report.json and returns it; the flow keeps the figures for its table and build/flow/<name>/report.json.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from codesign.errors import CodesignError
from codesign.outputs import build_root, staged_folder, write_json
from codesign.spec import Spec


@dataclass(frozen=True)
class FlowOptions:
    pes: int = 8  # engine processing elements
    sim_samples: int | None = 40  # test sequences through the RTL (None: all); the golden model sees all
    # Yosys counts only; --board ulx3s-85f adds nextpnr place-and-route and Fmax (far slower: README)
    board: str = "pynq-z2"
    skip: frozenset[str] = frozenset()  # stage names not to run


def _train_stage(spec: Spec, retrain: bool, progress: bool, out) -> dict:
    from codesign.models.command import print_accuracy_table
    from codesign.models.train import accuracy, has_weights, load_trained, train

    if retrain or not has_weights(spec):
        out(f"[train] {spec.folder}: {'retraining' if retrain else 'no committed weights, training'}")
        trained = train(spec, progress=progress, log=out)
    else:
        out(f"[train] loading committed weights from {spec.folder}")
        trained = load_trained(spec)
    # Measure again rather than trust metrics.json: the flow proves what the weights do now.
    ds = trained.dataset
    metrics = dict(trained.metrics)
    metrics["accuracy"] = dict(
        metrics["accuracy"],
        float=accuracy(trained.float_model, ds.x_test, ds.y_test),
        quantized=accuracy(trained.model, ds.x_test, ds.y_test),
    )
    print_accuracy_table(metrics, out)
    return metrics


def _sweep_stage(spec: Spec, opts: FlowOptions, progress: bool, out) -> dict:
    from codesign.sweep.command import print_summary, run_sweep
    from codesign.sweep.config import parse_sweep

    # Around the model: a few precisions and sparsities, every structure each target stores, analytic.
    config = parse_sweep(
        {
            "name": f"{spec.name}_flow",
            "model": str(spec.path),
            "mode": "analytic",
            "axes": {
                "bits": [4, 6, 8],
                "sparsity": [0.0, 0.5, 0.8],
                "structure": ["unstructured", "balanced", "block", "circulant"],
                "target": ["engine", "hls"],
                "num_pe": [opts.pes],
                "reuse_factor": [4],
            },
        },
        source=spec.path,
    )
    from codesign.sweep.report import best_within

    result = run_sweep(config, build_root() / "sweep", progress=progress)
    print_summary(result, config.tolerance, out)
    best = best_within(result.rows, config.tolerance)
    return {"folder": str(result.folder), "points": len(result.rows), "best": best}


@dataclass(frozen=True)
class Stage:
    name: str
    report: Callable[[Spec, FlowOptions], Path]  # where the stage's report.json lands
    argv: Callable[[Spec, FlowOptions], list[str]]  # the same run as a command line (announced)
    run: Callable[[Spec, FlowOptions], dict]  # the stage's entry function; returns its report
    applies: Callable[[Spec], str | None]  # None when the stage applies, else why it is skipped


def _hls_argv(spec: Spec, o: FlowOptions) -> list[str]:
    return ["hls", str(spec.path), "-q"]


def _run_hls(spec: Spec, o: FlowOptions) -> dict:
    from codesign.hls.command import HlsOptions, run_hls

    return run_hls(spec, HlsOptions(quiet=True))


def _rtl_argv(spec: Spec, o: FlowOptions) -> list[str]:
    return ["rtl", str(spec.path), "--pes", str(o.pes), "-q"]


def _run_rtl(spec: Spec, o: FlowOptions) -> dict:
    from codesign.engine.command import RtlOptions, run_rtl

    return run_rtl(spec, RtlOptions(pes=o.pes, quiet=True))


def _sim_argv(spec: Spec, o: FlowOptions) -> list[str]:
    samples = [] if o.sim_samples is None else ["--samples", str(o.sim_samples)]
    return ["sim", str(spec.path), "--pes", str(o.pes), *samples]


def _run_sim(spec: Spec, o: FlowOptions) -> dict:
    from codesign.engine.sim_command import SimOptions, mismatches, run_sim

    report = run_sim(spec, SimOptions(pes=o.pes, samples=o.sim_samples))
    if mismatches(report):  # the flow stops, and its exit status says so
        raise CodesignError(f"codesign {' '.join(_sim_argv(spec, o))} exited with status 1")
    return report


def _synth_argv(spec: Spec, o: FlowOptions) -> list[str]:
    return ["synth", str(spec.path), "--board", o.board, "--pes", str(o.pes), "-q"]


def _run_synth(spec: Spec, o: FlowOptions) -> dict:
    from codesign.synth.command import SynthOptions, run_synth

    return run_synth(spec, SynthOptions(board=o.board, pes=o.pes, quiet=True))


def _engine_model(spec: Spec) -> str | None:
    """None when the engine's encoder, golden and cycle model take the spec (LSTM or GRU, quantized
    activations, a state quantizer), else why not."""
    from codesign.engine.encoder import check_spec
    from codesign.errors import CodesignError

    try:
        check_spec(spec)
    except CodesignError as e:
        return str(e)
    return None


def _hls_only(spec: Spec) -> str | None:
    if spec.model.cell == "simple_rnn":
        return "the project's HLS kernels cover LSTM and GRU"
    if spec.delta is not None:
        return "hls4ml has no delta cell (the engine runs delta networks)"
    return None


STAGES = [
    Stage("hls", lambda s, o: build_root() / "hls" / s.name / "report.json", _hls_argv, _run_hls, _hls_only),
    Stage(
        "rtl", lambda s, o: build_root() / "rtl" / s.name / "report.json", _rtl_argv, _run_rtl, _engine_model
    ),
    Stage(
        "sim",
        lambda s, o: build_root() / "rtl" / s.name / "sim_report.json",
        _sim_argv,
        _run_sim,
        _engine_model,
    ),
    Stage(
        "synth",
        lambda s, o: build_root() / "synth" / f"{s.name}-{o.board}" / "report.json",
        _synth_argv,
        _run_synth,
        _engine_model,
    ),
]
STAGE_NAMES = ("hls", "rtl", "sim", "synth", "sweep")


def _summary_lines(name: str, report: dict) -> list[str]:
    """The few figures of a stage's report.json that matter at a glance."""
    if name == "hls":
        est = report.get("estimate", {})
        return [
            f"csim accuracy {report['accuracy_csim']:.4f} (QKeras {report['accuracy_keras']:.4f}), "
            f"agreement {report['agreement']:.4f} on {report['samples']} sequences; "
            f"estimate {est.get('dsp')} DSP, {est.get('lut')} LUT, {est.get('latency_cycles')} cycles"
        ]
    if name == "sim":
        # The RTL's counters beside the cycle model's prediction for the very same sequences.
        model = report["cycle_model"]
        return [
            f"{report['samples']} sequences through the RTL: {report['mismatches']} mismatches, "
            f"accuracy {report['accuracy_rtl']:.4f} (golden {report['accuracy_golden']:.4f}); "
            f"cycles/step RTL {report['cycles_per_step']:.1f}, cycle model {model['cycles_per_step']:.1f}; "
            f"PE utilization RTL {report['pe_utilization']:.3f}, cycle model {model['pe_utilization']:.3f}; "
            f"step efficiency {report.get('step_efficiency', 0.0):.3f}"
        ]
    if name == "synth":
        fmax = report.get("fmax_mhz")
        source = "Yosys estimate" if report.get("estimate") else f"{report.get('tool')}"
        return [
            f"{report['board']} ({report['part']}): {report['lut']} LUT, {report['ff']} FF, "
            f"{report['bram']} BRAM, {report['dsp']} DSP"
            + (f", Fmax {fmax:.1f} MHz" if fmax else "")
            + f" [{source}]"
        ]
    if name == "rtl":
        return [
            f"{report['num_pe']} PEs, golden accuracy {report['accuracy_golden']:.4f} "
            f"(QKeras {report['accuracy_keras']:.4f}) on {report['samples']} sequences; cycle model on them "
            f"{report['cycles_per_step']:.1f} cycles/step, ideal {report['ideal_cycles_per_step']:.1f}, "
            f"PE utilization {report['pe_utilization']:.3f}, "
            f"step efficiency {report.get('step_efficiency', 0.0):.3f}"
        ]
    return []


def run_flow(
    spec: Spec, retrain: bool = False, progress: bool = True, out=print, options: FlowOptions | None = None
) -> dict:
    opts = options or FlowOptions()
    metrics = _train_stage(spec, retrain, progress, out)
    summary: dict[str, object] = {"train": metrics}
    acc = metrics["accuracy"]
    lines = [("train", f"quantized accuracy {acc['quantized']:.4f}, float {acc['float']:.4f}")]
    for stage in STAGES:
        if stage.name in opts.skip:
            continue
        reason = stage.applies(spec)
        if reason is not None:
            out(f"[{stage.name}] skipped: {reason}")
            summary[stage.name] = {"skipped": reason}
            lines.append((stage.name, f"skipped: {reason}"))
            continue
        out(f"[{stage.name}] codesign {' '.join(stage.argv(spec, opts))}")
        report = stage.run(spec, opts)
        report_path = stage.report(spec, opts)
        summary[stage.name] = {"report": str(report_path)}
        lines.extend((stage.name, line) for line in _summary_lines(stage.name, report))
    if "sweep" not in opts.skip:
        out("[sweep] a small analytic sweep around the model")
        sweep = summary["sweep"] = _sweep_stage(spec, opts, progress, out)
        best = sweep["best"]
        lines.append(
            ("sweep", f"{sweep['points']} points -> {sweep['folder']}")
            if best is None
            else (
                "sweep",
                f"{sweep['points']} points; best within 1 point: {best['technique']} "
                f"({best['accuracy']:.4f}, {best['memory_savings']:.1f}x memory) -> {sweep['folder']}",
            )
        )

    with staged_folder(build_root() / "flow" / spec.name) as stage_dir:
        write_json(stage_dir / "report.json", {"name": spec.name, "spec": str(spec.path), "stages": summary})
    out("")
    out(f"{spec.name}: summary")
    for name, line in lines:
        out(f"  {name:<6} {line}")
    return summary


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", help="models/<name>/spec.yml")
    parser.add_argument("--retrain", action="store_true", help="train even when weights are committed")
    parser.add_argument("--pes", type=int, default=8, help="engine processing elements (default 8)")
    parser.add_argument(
        "--samples",
        type=int,
        default=40,
        help="test sequences through the RTL simulation (0: all; default 40)",
    )
    parser.add_argument(
        "--board",
        default="pynq-z2",
        help="synthesis board (default pynq-z2: Yosys counts; ulx3s-85f adds place-and-route and Fmax)",
    )
    parser.add_argument(
        "--skip", action="append", default=[], metavar="STAGE", help="leave out a stage (repeatable)"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    from codesign.options import check_board, check_pes
    from codesign.spec import load_spec

    unknown = sorted(set(args.skip) - set(STAGE_NAMES))
    if unknown:
        raise CodesignError(f"--skip: {unknown[0]!r} is not one of {', '.join(STAGE_NAMES)}")
    check_pes(args.pes)
    if args.samples < 0:
        raise CodesignError(f"--samples {args.samples} < 0 (0 simulates the whole test set)")
    check_board(args.board)  # an unknown board fails before any stage runs
    options = FlowOptions(
        pes=args.pes,
        sim_samples=None if args.samples == 0 else args.samples,
        board=args.board,
        skip=frozenset(args.skip),
    )
    run_flow(load_spec(args.spec), retrain=args.retrain, progress=not args.quiet, options=options)
    return 0
