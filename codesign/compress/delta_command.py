"""`codesign delta`: a trained model's delta network (thresholds in LSBs), fine-tuned, in its own folder."""

from __future__ import annotations

import argparse


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", help="the trained base model: models/<name>/spec.yml (LSTM or GRU)")
    parser.add_argument(
        "--threshold-x", type=int, required=True, help="layer 0's input threshold, in LSBs of precision.input"
    )
    parser.add_argument(
        "--threshold-h",
        type=int,
        required=True,
        help="threshold of every h a layer reads, in LSBs of precision.state",
    )
    parser.add_argument("--name", default=None, help="new model name (default <base>-delta<X>-<H>)")
    parser.add_argument(
        "--epochs",
        type=int,
        default=None,
        help="fine-tuning epochs, early-stopped (default: training.qat_epochs)",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    from codesign.compress.delta_finetune import delta_finetune
    from codesign.outputs import read_json
    from codesign.spec import load_spec

    spec = load_spec(args.spec)
    new = delta_finetune(
        spec, args.threshold_x, args.threshold_h, name=args.name, epochs=args.epochs, progress=not args.quiet
    )
    metrics = read_json(new.folder / "metrics.json")
    d, base = metrics["delta"], metrics["base"]
    print(f"{new.name}: delta x {d['threshold_x']} LSB, h {d['threshold_h']} LSB, from {base['name']}")
    print(f"  {'model':<32} {'accuracy':>8} {'skipped dx':>10} {'skipped dh':>10}")
    print(f"  {base['name']:<32} {base['accuracy']['quantized']:>8.4f} {'-':>10} {'-':>10}")
    s = d["temporal_sparsity"]
    print(f"  {new.name:<32} {d['accuracy_reference']:>8.4f} {s['x']:>10.3f} {s['h']:>10.3f}")
    print("  (test split, float64 reference; every step the hardware runs counts, pre-padding included)")
    return 0
