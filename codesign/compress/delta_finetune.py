"""`delta_finetune(spec, ...)`: a trained model -> its delta network (codesign.delta), fine-tuned with the
delta encoder in the loop, in its own model folder models/<base>-delta<x>-<h>/.

The QAT model's weights start the delta model (the same tensors: codesign.models.delta_cells), which is
then fine-tuned at the spec's QAT learning rate, early-stopped on validation loss. A pruned base keeps
its zeros (the pruning stage's mask hold). The float twin stays the base's float model: it is the
baseline the delta network's accuracy is judged against. metrics.json gains `delta`: the thresholds, the
temporal sparsity of dx and dh on the test split (float64 reference) and the accuracy before fine-tuning.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import yaml

from codesign.errors import CodesignError
from codesign.spec import Spec, load_spec, parse_spec


def delta_name(spec: Spec, threshold_x: int, threshold_h: int) -> str:
    return f"{spec.name}-delta{threshold_x}-{threshold_h}"


def delta_spec_text(spec: Spec, threshold_x: int, threshold_h: int) -> str:
    """The base spec plus a `delta:` section (the base's comments kept when its mapping is kept)."""
    text = spec.path.read_text()
    data = yaml.safe_load(text)
    delta = {"threshold_x": threshold_x, "threshold_h": threshold_h, "base": spec.folder.name}
    header = f"# Written by codesign delta from {spec.folder.name}: the base spec plus `delta`.\n"
    section = yaml.safe_dump({"delta": delta}, sort_keys=False, default_flow_style=None)
    if "name" in data:
        data.pop("name")
        return header + yaml.safe_dump(data, sort_keys=False, default_flow_style=None) + section
    return header + text.rstrip("\n") + "\n" + section


def check_options(spec: Spec, threshold_x: int, threshold_h: int, name: str | None) -> tuple[Spec, str, str]:
    """Validate before anything slow runs; returns (delta spec, its text, model name)."""
    if spec.delta is not None:
        raise CodesignError(
            f"{spec.path}: delta: {spec.name} is already a delta network; start from {spec.delta.base}"
        )
    for option, value in (("--threshold-x", threshold_x), ("--threshold-h", threshold_h)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise CodesignError(f"{option} {value!r}: expected a whole number of LSBs >= 0")
    name = name or delta_name(spec, threshold_x, threshold_h)
    if not name.replace("-", "_").isidentifier():
        raise CodesignError(f"--name {name!r} is not a usable model name (letters, digits, _ and -)")
    if name == spec.folder.name:
        raise CodesignError(f"--name {name!r} is the base model's own folder; pick another name")
    text = delta_spec_text(spec, threshold_x, threshold_h)
    target = spec.folder.parent / name / "spec.yml"
    # the spec's own checks (a state quantizer, an lstm or gru cell, ...) name the field, as for any spec
    return parse_spec(yaml.safe_load(text), str(target), target), text, name


def reference_figures(spec: Spec, model, ds) -> tuple[float, dict]:
    """(accuracy, temporal sparsity) of the delta model on the test split, by the float64 reference."""
    from codesign.delta import temporal_sparsity
    from codesign.reference import ReferenceModel

    trace = ReferenceModel.from_keras(spec, model, quantized=True).trace(ds.x_test)
    return float(np.mean(np.argmax(trace.logits, axis=1) == ds.y_test)), temporal_sparsity(trace)


def _val_loss(model, ds, batch_size: int) -> float:
    return float(model.evaluate(ds.x_val, ds.y_val, batch_size=batch_size, verbose=0)[0])


def delta_finetune(
    spec: Spec,
    threshold_x: int,
    threshold_h: int,
    name: str | None = None,
    epochs: int | None = None,
    progress: bool = True,
    log: Callable[[str], None] = print,
) -> Spec:
    """Fine-tune the delta network of the trained model `spec`; returns the new model's Spec."""
    dspec, text, name = check_options(spec, threshold_x, threshold_h, name)
    if epochs is not None and (isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 0):
        raise CodesignError(f"--epochs {epochs!r}: expected an integer >= 0")

    import tensorflow as tf

    from codesign.compress.finetune import HoldMasks, recurrent_layers
    from codesign.models.builders import build_model
    from codesign.models.folder import write_model_folder
    from codesign.models.train import (
        accuracy,
        compile_model,
        fit_early_stopped,
        load_trained,
        model_metrics,
    )
    from codesign.reference import quantize

    t = spec.training
    base = load_trained(spec)
    ds = base.dataset
    tf.keras.utils.set_random_seed(t.seed + 2)
    model = build_model(dspec, ds.length, ds.channels, ds.num_classes, quantized=True)
    model.set_weights(base.model.get_weights())

    hold = HoldMasks(recurrent_layers(dspec, model))
    if spec.compression is not None and spec.compression.method != "circulant":
        p = spec.precision
        for layer in hold.layers:  # a pruned base keeps exactly its stored zeros
            layer.kernel_mask = quantize(layer.kernel.numpy(), p.kernel) != 0
            layer.recurrent_mask = quantize(layer.recurrent_kernel.numpy(), p.recurrent_kernel) != 0

    before_accuracy, before_sparsity = reference_figures(dspec, model, ds)
    target = spec.folder.parent / name
    log(
        f"[delta] {spec.name} with thresholds x {threshold_x} LSB, h {threshold_h} LSB -> {target}: "
        f"before fine-tuning accuracy {before_accuracy:.4f}, temporal sparsity "
        f"x {before_sparsity['x']:.3f} h {before_sparsity['h']:.3f}"
    )
    epochs = t.qat_epochs if epochs is None else epochs
    done = 0
    if epochs:
        compile_model(model, dspec, t.qat_learning_rate)  # to measure the starting validation loss
        start, start_loss = model.get_weights(), _val_loss(model, ds, t.batch_size)
        desc = f"{name} fine-tune"
        done = fit_early_stopped(model, ds, dspec, t.qat_learning_rate, epochs, desc, progress, [hold])
        if _val_loss(model, ds, t.batch_size) >= start_loss:
            # a delta model started from a good QAT model can be best as it starts: fine-tuning must not
            # make it worse on the validation split (EarlyStopping only restores epochs it has seen)
            model.set_weights(start)
            log(f"[delta] no epoch lowered the validation loss {start_loss:.4f}: starting weights kept")
        hold.apply()  # the restored best weights carry the mask too
    after_accuracy, sparsity = reference_figures(dspec, model, ds)

    base_accuracy = {
        "float": accuracy(base.float_model, ds.x_test, ds.y_test),
        "quantized": accuracy(base.model, ds.x_test, ds.y_test),
    }
    metrics = {
        **model_metrics(name, dspec, base.float_model, model, ds),
        "delta": {
            "threshold_x": threshold_x,
            "threshold_h": threshold_h,
            "threshold_values": {
                "x": threshold_x * spec.precision.input.lsb,
                "h": threshold_h * spec.precision.state.lsb,
            },
            "temporal_sparsity": sparsity,
            "accuracy_reference": after_accuracy,
            "before_fine_tune": {"accuracy_reference": before_accuracy, "temporal_sparsity": before_sparsity},
            "split": "test",
        },
        "base": {"name": spec.name, "accuracy": base_accuracy},
        "samples": {"train": len(ds.y_train), "val": len(ds.y_val), "test": len(ds.y_test)},
        "epochs": {"float": 0, "qat": done, "fine_tune": done},
        "seed": t.seed,
    }
    log(
        f"[delta] {name}: accuracy {after_accuracy:.4f} (base {base_accuracy['quantized']:.4f}), "
        f"temporal sparsity x {sparsity['x']:.3f} h {sparsity['h']:.3f}, {done} epochs"
    )
    return load_spec(write_model_folder(target, metrics, model, base.float_model, spec_text=text))
