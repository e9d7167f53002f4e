"""`codesign train SPEC`: the float model first, then QKeras QAT fine-tuning from its weights; writes the
model folder (weights.h5, float.weights.h5, metrics.json) and prints the accuracy table."""

from __future__ import annotations

import argparse


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", help="models/<name>/spec.yml")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars")


def print_accuracy_table(metrics: dict, out=print) -> None:
    acc, size = metrics["accuracy"], metrics["size_bytes"]
    n = metrics["samples"]["test"]
    out(f"{metrics['name']}: {metrics['dataset']}, {metrics['cell']} {metrics['units']}, {n} test sequences")
    out(f"  {'model':<10} {'accuracy':>9} {'params':>7} {'weights':>10}")
    for kind in ("float", "quantized"):
        out(f"  {kind:<10} {acc[kind]:>9.4f} {metrics['params']:>7} {size[kind] / 1024:>7.1f} KB")


def run_train(spec, progress: bool = True, log=print) -> dict:
    """The train stage on `spec`: trains, writes the model folder, returns metrics.json's content."""
    from codesign.models.train import train

    trained = train(spec, progress=progress, log=log)
    print_accuracy_table(trained.metrics, log)
    return trained.metrics


def run(args: argparse.Namespace) -> int:
    from codesign.spec import load_spec

    run_train(load_spec(args.spec), progress=not args.quiet)
    return 0
