"""`codesign` command: one sub-command per stage (docs/architecture.md), and `flow` to run them in order.
Argument parsing only: each sub-command's module parses its options and calls the stage's entry function.

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

# Every sub-command, in flow order, flow last: (module, one-line help). Each module has
# `configure(parser)` (cheap to import: no TensorFlow at module top) and `run(args) -> int`, a thin shell
# around the stage's typed entry function (`run_hls(spec, options) -> report`, ...).
STAGE_MODULES: dict[str, tuple[str, str]] = {
    "train": (
        "codesign.models.command",
        "train the float model, then QAT-fine-tune the QKeras model; write metrics.json",
    ),
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
    "flow": ("codesign.flow", "run every stage that exists, in order, and print one summary table"),
}


def _quiet_tensorflow() -> None:
    # TensorFlow's C++ start-up lines (CUDA factories, CPU flags) bury the tables people read.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="codesign",
        description="Quantization-aware RNNs from training to FPGA hardware, verified bit for bit.",
    )
    parser.add_argument(
        "--build-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help=f"where stages write their outputs (default ${BUILD_ENV}, else build/ in the working folder)",
    )
    sub = parser.add_subparsers(dest="command", metavar="STAGE", required=True)

    for stage, (module_name, what) in STAGE_MODULES.items():
        module = importlib.import_module(module_name)
        p = sub.add_parser(stage, help=what, description=module.__doc__)
        module.configure(p)
        p.set_defaults(run=module.run)
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
