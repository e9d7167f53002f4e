"""`codesign` command: one sub-command per stage (docs/architecture.md), and `flow` to run them in order.

User errors (CodesignError) are printed as one line on stderr with exit status 2; internal bugs are not
caught, so their traceback reaches whoever has to fix them.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path

from codesign.errors import CodesignError
from codesign.outputs import BUILD_ENV

# Stages built in their own packages, in flow order: (module, one-line help). Each module has
# `configure(parser)` (cheap to import: no TensorFlow at module top) and `run(args) -> int`.
STAGE_MODULES: dict[str, tuple[str, str]] = {
    "compress": (
        "codesign.compress.command",
        "pruning (magnitude, ESE load-balanced, block) with a gradual schedule and QAT fine-tuning",
    ),
    "delta": (
        "codesign.compress.delta_command",
        "delta network (temporal sparsity): thresholds in LSBs, fine-tuned with the delta encoder",
    ),
    "hls": ("codesign.hls.command", "hls4ml project and C-simulation against QKeras"),
    "rtl": ("codesign.engine.command", "ESE-style sparse-LSTM engine images, golden and cycle model"),
    "sim": (
        "codesign.engine.sim_command",
        "cocotb/Verilator simulation of the engine against the golden model",
    ),
    "synth": ("codesign.synth.command", "synthesis of the engine for a board (Yosys, nextpnr, Vivado)"),
    "sweep": (
        "codesign.sweep.command",
        "precision x sparsity x structure design-space sweep with Pareto reports",
    ),
}


def _quiet_tensorflow() -> None:
    # TensorFlow's C++ start-up lines (CUDA factories, CPU flags) bury the tables people read.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _cmd_train(args: argparse.Namespace) -> int:
    from codesign.flow import print_accuracy_table
    from codesign.models.train import train
    from codesign.spec import load_spec

    spec = load_spec(args.spec)
    trained = train(spec, progress=not args.quiet)
    print_accuracy_table(trained.metrics)
    return 0


def _cmd_flow(args: argparse.Namespace) -> int:
    from codesign.flow import STAGE_NAMES, FlowOptions, run_flow
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="codesign",
        description="Quantization-aware RNNs from training to FPGA hardware, verified bit for bit.",
    )
    parser.add_argument(
        "--build-dir",
        type=Path,
        default=None,
        help=f"where stages write their outputs (default ${BUILD_ENV}, else build/ in the working folder)",
    )
    sub = parser.add_subparsers(dest="command", metavar="STAGE", required=True)

    p = sub.add_parser(
        "train", help="train the float model, then QAT-fine-tune the QKeras model; write metrics.json"
    )
    p.add_argument("spec", help="models/<name>/spec.yml")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    p.set_defaults(run=_cmd_train)

    for stage, (module_name, what) in STAGE_MODULES.items():
        module = importlib.import_module(module_name)
        p = sub.add_parser(stage, help=what, description=module.__doc__)
        module.configure(p)
        p.set_defaults(run=module.run)

    p = sub.add_parser("flow", help="run every stage that exists, in order, and print one summary table")
    p.add_argument("spec", help="models/<name>/spec.yml")
    p.add_argument("--retrain", action="store_true", help="train even when weights are committed")
    p.add_argument("--pes", type=int, default=8, help="engine processing elements (default 8)")
    p.add_argument(
        "--samples",
        type=int,
        default=40,
        help="test sequences through the RTL simulation (0: all; default 40)",
    )
    p.add_argument(
        "--board",
        default="pynq-z2",
        help="synthesis board (default pynq-z2: Yosys counts; ulx3s-85f adds place-and-route and Fmax)",
    )
    p.add_argument(
        "--skip", action="append", default=[], metavar="STAGE", help="leave out a stage (repeatable)"
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    p.set_defaults(run=_cmd_flow)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _quiet_tensorflow()
    if args.build_dir is not None:  # the environment carries it to every stage and worker process
        os.environ[BUILD_ENV] = str(args.build_dir)
    from codesign.models.folder import set_command

    set_command(["codesign", *(sys.argv[1:] if argv is None else argv)])  # provenance of model folders
    try:
        return args.run(args)
    except CodesignError as exc:
        print(f"codesign: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
