"""`codesign flow`: every stage that exists, in order, then one summary table.

Today that is: load the committed model (or train it when its weights are missing), evaluate the float
and quantized models on the test split, and write build/flow/<name>/report.json. Later stages (hls,
rtl, sim, synth, sweep) append themselves here.
"""

from __future__ import annotations

from pathlib import Path

from codesign.outputs import staged_folder, write_json
from codesign.spec import Spec

BUILD = Path("build")


def print_accuracy_table(metrics: dict, out=print) -> None:
    acc, size = metrics["accuracy"], metrics["size_bytes"]
    n = metrics["samples"]["test"]
    out(f"{metrics['name']}: {metrics['dataset']}, {metrics['cell']} {metrics['units']}, {n} test sequences")
    out(f"  {'model':<10} {'accuracy':>9} {'params':>7} {'weights':>10}")
    for kind in ("float", "quantized"):
        out(f"  {kind:<10} {acc[kind]:>9.4f} {metrics['params']:>7} {size[kind] / 1024:>7.1f} KB")


def run_flow(spec: Spec, retrain: bool = False, progress: bool = True, out=print) -> dict:
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
    report = {"name": spec.name, "spec": str(spec.path), "stages": {"train": metrics}}
    with staged_folder(BUILD / "flow" / spec.name) as stage:
        write_json(stage / "report.json", report)
    print_accuracy_table(metrics, out)
    return report
