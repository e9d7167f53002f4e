"""`codesign` command: one sub-command per stage of ARCHITECTURE.md, and `flow` to run them in order.

User errors (CodesignError) are printed as one line on stderr with exit status 2; internal bugs are not
caught, so their traceback reaches whoever has to fix them.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from codesign.errors import CodesignError

# Stages later issues build; until then each says so in one line and exits 2.
PLANNED = {
    "compress": "pruning (magnitude, block, load-balanced), circulant projection and QAT fine-tuning",
    "hls": "hls4ml project and C-simulation against QKeras",
    "rtl": "ESE-style sparse-LSTM engine images and parameters",
    "sim": "cocotb/Verilator simulation of the engine against the golden model",
    "synth": "synthesis of the engine or HLS project for a board",
    "sweep": "precision x sparsity x structure design-space sweep with Pareto reports",
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
    from codesign.flow import run_flow
    from codesign.spec import load_spec

    run_flow(load_spec(args.spec), retrain=args.retrain, progress=not args.quiet)
    return 0


# Stages built in their own packages: each module has `configure(parser)` (cheap: no TensorFlow import)
# and `run(args) -> int`. A stage listed here is no longer "planned".
STAGE_MODULES: dict[str, str] = {
    "compress": "codesign.compress.command",
    "hls": "codesign.hls.command",
    "rtl": "codesign.engine.command",
    "sweep": "codesign.sweep.command",
}


def _stage_module(stage: str):
    module = importlib.import_module(STAGE_MODULES[stage])

    def run(args: argparse.Namespace) -> int:
        return module.run(args)

    return module, run


def _planned(stage: str):
    def run(args: argparse.Namespace) -> int:
        raise CodesignError(f"codesign {stage}: not built yet ({PLANNED[stage]})")

    return run


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="codesign",
        description="Quantization-aware RNNs from training to FPGA hardware, verified bit for bit.",
    )
    sub = parser.add_subparsers(dest="command", metavar="STAGE", required=True)

    p = sub.add_parser(
        "train", help="train the float model, then QAT-fine-tune the QKeras model; write metrics.json"
    )
    p.add_argument("spec", help="models/<name>/spec.yml")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    p.set_defaults(run=_cmd_train)

    for stage, what in PLANNED.items():
        if stage in STAGE_MODULES:
            module, run = _stage_module(stage)
            p = sub.add_parser(stage, help=what, description=module.__doc__)
            module.configure(p)
            p.set_defaults(run=run)
            continue
        p = sub.add_parser(stage, help=f"{what} (not built yet)")
        p.add_argument("args", nargs="*", help=argparse.SUPPRESS)
        p.set_defaults(run=_planned(stage))

    p = sub.add_parser("flow", help="run every stage that exists, in order, and print one summary table")
    p.add_argument("spec", help="models/<name>/spec.yml")
    p.add_argument("--retrain", action="store_true", help="train even when weights are committed")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    p.set_defaults(run=_cmd_flow)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _quiet_tensorflow()
    try:
        return args.run(args)
    except CodesignError as exc:
        print(f"codesign: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
