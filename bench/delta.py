"""Delta networks on the engine: temporal sparsity x weight sparsity, measured on real data.

For each base model (the JapaneseVowels LSTM and the BasicMotions GRU, each dense and balanced-90%
pruned for 8 PEs) and each threshold: `codesign delta` fine-tunes the delta network (thresholds in LSBs:
the same real value `--thresholds` for x, in input LSBs, and for h, in state LSBs), then the engine's
encoder, golden model and cycle model run every test sequence at NumPe 8, with and without delta (the same
weights). Each row: accuracy (golden = the float64 reference, exactly), the base's accuracy, temporal
sparsity of dx and dh, cycles per step and the speedup over no delta. Cycles are the cycle model's, which
equals the RTL's counters (delta mode included: tests/rtl/sparse_lstm_engine, and `codesign sim` on the
committed delta models).

Fine-tuned models are cached under build/bench/delta/models/ (delete to retrain). Writes
build/bench/delta.json and prints the markdown table (`--table` prints it again from the JSON).

Run: .venv/bin/python bench/delta.py [--thresholds 0.0625 0.125 0.25] [--pes 8] [--table]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

from codesign.outputs import build_root

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ROOT = Path(__file__).resolve().parents[1]
OUT = build_root() / "bench" / "delta.json"
WORK = build_root() / "bench" / "delta" / "models"
BASES = ("jvowels_lstm", "jvowels_lstm-balanced90", "basicmotions_gru", "basicmotions_gru-balanced90")
PRUNE_PES = 8  # balanced pruning of the bases that are not committed pruned


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def base_spec(name: str):
    """A private copy of the base model folder under WORK (the delta folders are written beside it);
    a balanced-90% base not in models/ is pruned here with codesign compress."""
    from codesign.spec import load_spec

    WORK.mkdir(parents=True, exist_ok=True)
    target = WORK / name
    if not (target / "metrics.json").is_file():
        if (ROOT / "models" / name).is_dir():
            shutil.copytree(ROOT / "models" / name, target, dirs_exist_ok=True)
        else:
            from codesign.compress import compress

            base, _ = name.rsplit("-balanced", 1)
            log(f"[delta bench] pruning {base} to balanced 90% for {PRUNE_PES} PEs")
            compress(base_spec(base), "balanced", 0.9, num_pe=PRUNE_PES, progress=False, log=log)
    return load_spec(target / "spec.yml")


def measure(spec, pes: int) -> dict:
    """Golden + cycle model of a (delta) model on every test sequence at `pes` PEs."""
    import numpy as np

    from codesign.engine.command import delta_report
    from codesign.engine.cycles import predict_cycles
    from codesign.engine.encoder import EngineConfig, encode, model_from_trained
    from codesign.engine.golden import run_golden
    from codesign.models.train import load_trained

    trained = load_trained(spec)
    ds = trained.dataset
    image = encode(model_from_trained(spec, trained.model), EngineConfig(num_pe=pes))
    trace = run_golden(image, ds.x_test)
    cycles = predict_cycles(image, trace)
    row = {
        "accuracy": float(np.mean(trace.predictions == ds.y_test)),
        "errors": int(np.sum(trace.predictions != ds.y_test)),
        "sequences": int(len(ds.y_test)),
        "cycles_per_step": cycles.cycles_per_step,
        "step_efficiency": cycles.step_efficiency,
    }
    if image.delta is not None:
        row.update(delta_report(image, trace, ds.x_test, cycles))
    return row


def run(thresholds: list[float], pes: int, epochs: int | None) -> dict:
    from codesign.compress.delta_finetune import delta_finetune, delta_name
    from codesign.delta import threshold_lsbs
    from codesign.spec import load_spec

    rows = []
    t0 = time.perf_counter()
    for base_name in BASES:
        base = base_spec(base_name)
        plain = measure(base, pes)
        log(
            f"[delta bench] {base_name}: accuracy {plain['accuracy']:.4f}, "
            f"{plain['cycles_per_step']:.1f} cycles/step"
        )
        for threshold in thresholds:
            tx, th = threshold_lsbs(base, threshold)
            folder = WORK / delta_name(base, tx, th)
            if (folder / "metrics.json").is_file():
                spec = load_spec(folder / "spec.yml")
            else:
                spec = delta_finetune(base, tx, th, epochs=epochs, progress=False, log=log)
            m = measure(spec, pes)
            rows.append(
                {
                    "base": base_name,
                    "model": spec.name,
                    "threshold": threshold,
                    "threshold_x_lsb": tx,
                    "threshold_h_lsb": th,
                    "num_pe": pes,
                    "base_accuracy": plain["accuracy"],
                    "base_errors": plain["errors"],
                    "base_cycles_per_step": plain["cycles_per_step"],
                    **m,
                }
            )
            log(
                f"  threshold {threshold:g}: accuracy {m['accuracy']:.4f}, skipped dx "
                f"{m['temporal_sparsity']['x']:.3f} dh {m['temporal_sparsity']['h']:.3f}, "
                f"{m['speedup_vs_no_delta']:.2f}x"
            )
    return {
        "note": f"NumPe {pes}; cycles from the cycle model (equal to the RTL's counters); accuracy of the "
        "golden model (= float64 reference) on every test sequence; thresholds in real units, as LSBs of "
        "precision.input (x) and precision.state (h); speedup = cycles/step of the same weights without "
        "delta over cycles/step with it",
        "rows": rows,
        "seconds": round(time.perf_counter() - t0, 1),
    }


def table_lines(result: dict) -> list[str]:
    lines = [
        "| model | threshold (x / h LSB) | accuracy (base) | errors (base) | skipped dx | skipped dh "
        "| cycles/step (no delta) | speedup |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in result["rows"]:
        s = r["temporal_sparsity"]
        lines.append(
            f"| {r['base']} | {r['threshold']:g} ({r['threshold_x_lsb']} / {r['threshold_h_lsb']}) "
            f"| {r['accuracy']:.4f} ({r['base_accuracy']:.4f}) | {r['errors']} ({r['base_errors']}) "
            f"| {s['x']:.3f} | {s['h']:.3f} "
            f"| {r['cycles_per_step']:.1f} ({r['cycles_per_step_no_delta']:.1f}) "
            f"| {r['speedup_vs_no_delta']:.2f}x |"
        )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--thresholds", type=float, nargs="+", default=[0.0625, 0.125, 0.25, 0.5])
    parser.add_argument("--pes", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=None, help="fine-tuning epochs (default: the spec's)")
    parser.add_argument("--table", action="store_true", help="print the table of the last run and exit")
    args = parser.parse_args()
    if args.table:
        print("\n".join(table_lines(json.loads(OUT.read_text()))))
        return 0
    result = run(args.thresholds, args.pes, args.epochs)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2))
    print("\n".join(table_lines(result)))
    print(f"-> {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
