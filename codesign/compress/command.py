"""Prune a trained model's recurrent layers (magnitude, ESE load-balanced, or block), fine-tune it with
quantization in the loop, and write the result as a new model folder models/<name>-<variant>/."""

from __future__ import annotations

import argparse
import re

from codesign.errors import CodesignError

_BLOCK_RE = re.compile(r"^\s*(\d+)\s*[xX]\s*(\d+)\s*$")


def parse_block(text: str) -> tuple[int, int]:
    """'4x4' -> (4, 4); anything else is a CodesignError naming --block."""
    match = _BLOCK_RE.match(text)
    if not match or int(match.group(1)) < 1 or int(match.group(2)) < 1:
        raise CodesignError(f"--block: {text!r} is not ROWSxCOLS with positive integers (e.g. 4x4)")
    return int(match.group(1)), int(match.group(2))


def configure(parser: argparse.ArgumentParser) -> None:
    from codesign.options import pe_range

    lo, hi = pe_range()
    parser.add_argument("spec", help="the trained base model: models/<name>/spec.yml")
    parser.add_argument(
        "--method",
        required=True,
        choices=("magnitude", "balanced", "block", "circulant"),
        help="magnitude: unstructured; balanced: equal non-zeros per PE (ESE); block: Narang; "
        "circulant: block-circulant projection + QAT fine-tuning (--block BxB)",
    )
    parser.add_argument("--sparsity", type=float, default=None, help="fraction of zero weights, in [0, 1)")
    parser.add_argument(
        "--pes",
        type=int,
        default=None,
        dest="num_pe",
        help=f"PEs the engine deals rows to, {lo}..{hi} (required for balanced; otherwise reported only)",
    )
    parser.add_argument("--block", default=None, help="block shape ROWSxCOLS of W = [W_x W_h], e.g. 4x4")
    parser.add_argument("--name", default=None, help="new model name (default <base>-<method><percent>)")
    parser.add_argument("--steps", type=int, default=None, help="pruning steps of the schedule (default 16)")
    parser.add_argument(
        "--epochs-per-step", type=int, default=None, help="epochs after each step (default 4)"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars")


def print_compression_table(metrics: dict, out=print) -> None:
    base = metrics["base"]
    c = metrics["compression"]
    pes = f", {c['num_pe']} PEs" if c.get("num_pe") else ""
    block = f", blocks {c['block'][0]}x{c['block'][1]}" if c.get("block") else ""
    out(f"{metrics['name']}: {c['method']} pruning of {base['name']} to {c['sparsity']}{pes}{block}")
    out(f"  {'model':<28} {'sparsity':>8} {'nnz':>6} {'float':>7} {'quantized':>9}")
    for label, m in ((base["name"], base), (metrics["name"], metrics)):
        acc = m["accuracy"]
        out(
            f"  {label:<28} {m['sparsity']:>8.4f} {m['nnz']:>6} {acc['float']:>7.4f} {acc['quantized']:>9.4f}"
        )
    if "nnz_per_pe" in metrics:
        p = metrics["nnz_per_pe"]
        out(f"  non-zeros per PE ({p['num_pe']} PEs): max {p['max']}, min {p['min']}")
    out("  (sparsity and nnz over the recurrent kernels as stored; biases and the dense head stay dense)")


def run(args: argparse.Namespace) -> int:
    from codesign.compress.finetune import PruningSchedule
    from codesign.compress.stage import compress
    from codesign.outputs import read_json
    from codesign.spec import load_spec

    block = None if args.block is None else parse_block(args.block)
    if args.steps is not None and args.steps < 1:
        raise CodesignError(f"--steps {args.steps} < 1")
    if args.epochs_per_step is not None and args.epochs_per_step < 0:
        raise CodesignError(f"--epochs-per-step {args.epochs_per_step} < 0")
    spec = load_spec(args.spec)
    defaults = PruningSchedule()
    schedule = PruningSchedule(
        steps=defaults.steps if args.steps is None else args.steps,
        epochs_per_step=defaults.epochs_per_step if args.epochs_per_step is None else args.epochs_per_step,
    )
    new = compress(
        spec,
        args.method,
        args.sparsity,
        num_pe=args.num_pe,
        block=block,
        name=args.name,
        schedule=schedule,
        progress=not args.quiet,
    )
    if args.method == "circulant":
        from codesign.compress.circulant import print_circulant_table

        print_circulant_table(read_json(new.folder / "metrics.json"))
        return 0
    print_compression_table(read_json(new.folder / "metrics.json"))
    return 0
