"""`codesign train`: float pre-training, then quantization-aware fine-tuning, then metrics.json.

The float model is trained first and its weights initialise the QKeras model: the float accuracy is
the baseline every compression is judged against (the survey's "relative performance"), and QAT from
a trained start converges in a few epochs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from codesign.data import Dataset, load_dataset
from codesign.errors import CodesignError
from codesign.outputs import read_json
from codesign.spec import Spec

import tensorflow as tf  # noqa: E402  isort: skip
from tqdm.auto import tqdm  # noqa: E402

from codesign.models.builders import build_model, weight_precisions  # noqa: E402
from codesign.models.folder import FLOAT_WEIGHTS, METRICS, WEIGHTS, write_model_folder  # noqa: E402


@dataclass
class TrainedModel:
    spec: Spec
    dataset: Dataset
    float_model: tf.keras.Model
    model: tf.keras.Model  # the quantized (QKeras) model
    metrics: dict


class EpochBar(tf.keras.callbacks.Callback):
    """One progress bar per fit, one tick per epoch (Keras' own bar is per batch and noisy)."""

    def __init__(self, total: int, desc: str, enabled: bool):
        super().__init__()
        self.bar = tqdm(total=total, desc=desc, unit="epoch", disable=not enabled, leave=False)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        self.bar.set_postfix(loss=f"{logs.get('loss', 0):.3f}", val_acc=f"{logs.get('val_accuracy', 0):.3f}")
        self.bar.update(1)

    def on_train_end(self, logs=None):
        self.bar.close()


def accuracy(model: tf.keras.Model, x: np.ndarray, y: np.ndarray) -> float:
    logits = model.predict(x, batch_size=512, verbose=0)
    return float(np.mean(np.argmax(logits, axis=1) == y))


def compile_model(model: tf.keras.Model, spec: Spec, learning_rate: float) -> None:
    """The spec's optimizer with gradient-norm clipping; logits in, cross-entropy out."""
    t = spec.training
    if t.optimizer == "adam":
        optimizer = tf.keras.optimizers.Adam(learning_rate, clipnorm=t.clipnorm)
    else:
        optimizer = tf.keras.optimizers.SGD(learning_rate, momentum=0.9, clipnorm=t.clipnorm)
    model.compile(
        optimizer=optimizer,
        loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )


def fit_early_stopped(
    model, ds: Dataset, spec: Spec, learning_rate: float, epochs: int, desc: str, progress: bool, callbacks=()
) -> int:
    """Compile and fit on the training split, early-stopped on the validation loss (best weights restored);
    `callbacks` run before the stop and the bar. Returns the epochs run."""
    t = spec.training
    compile_model(model, spec, learning_rate)
    stop = tf.keras.callbacks.EarlyStopping(
        monitor="val_loss", patience=t.patience, restore_best_weights=True
    )
    history = model.fit(
        ds.x_train,
        ds.y_train,
        validation_data=(ds.x_val, ds.y_val),
        batch_size=t.batch_size,
        epochs=epochs,
        shuffle=True,
        verbose=0,
        callbacks=[*callbacks, stop, EpochBar(epochs, desc, progress)],
    )
    return len(history.history["loss"])


def set_seed(seed: int) -> None:
    tf.keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def model_size_bytes(spec: Spec, model: tf.keras.Model) -> dict:
    """Weight storage: 4 bytes per float parameter, `bits` per quantized one (no sparse indices here)."""
    tensors = weight_precisions(spec, model)
    return {
        "float": int(sum(w.size for _, w, _ in tensors) * 4),
        "quantized": float(sum(w.size * p.bits for _, w, p in tensors) / 8),
    }


def model_metrics(name: str, spec: Spec, float_model, model, ds: Dataset) -> dict:
    """The metrics.json keys every model folder has (train and compress both write them)."""
    return {
        "name": name,
        "dataset": spec.dataset,
        "cell": spec.model.cell,
        "units": list(spec.model.units),
        "accuracy": {
            "float": accuracy(float_model, ds.x_test, ds.y_test),
            "quantized": accuracy(model, ds.x_test, ds.y_test),
            "float_val": accuracy(float_model, ds.x_val, ds.y_val),
            "quantized_val": accuracy(model, ds.x_val, ds.y_val),
        },
        "params": int(model.count_params()),
        "size_bytes": model_size_bytes(spec, model),
    }


def train(spec: Spec, progress: bool = True, log=print) -> TrainedModel:
    t = spec.training
    ds = load_dataset(spec.dataset, t.validation_fraction, t.seed)
    start = time.perf_counter()
    set_seed(t.seed)
    float_model = build_model(spec, ds.length, ds.channels, ds.num_classes, quantized=False)
    float_epochs = fit_early_stopped(
        float_model, ds, spec, t.learning_rate, t.epochs, f"{spec.name} float", progress
    )

    set_seed(t.seed + 1)
    model = build_model(spec, ds.length, ds.channels, ds.num_classes, quantized=True)
    # Start QAT inside each tensor's representable range (the constraints keep it there from then on).
    clipped = []
    for (_, _, precision), w in zip(weight_precisions(spec, model), float_model.get_weights(), strict=True):
        clipped.append(np.clip(w, precision.min_value, precision.max_value))
    model.set_weights(clipped)
    qat_epochs = 0
    if t.qat_epochs:
        qat_epochs = fit_early_stopped(
            model, ds, spec, t.qat_learning_rate, t.qat_epochs, f"{spec.name} QAT", progress
        )
    seconds = time.perf_counter() - start

    metrics = {
        **model_metrics(spec.name, spec, float_model, model, ds),
        "samples": {"train": len(ds.y_train), "val": len(ds.y_val), "test": len(ds.y_test)},
        "epochs": {"float": float_epochs, "qat": qat_epochs},
        "train_seconds": round(seconds, 1),
        "seed": t.seed,
    }
    write_model_folder(spec.folder, metrics, model, float_model)
    metrics = read_json(spec.folder / METRICS)
    log(f"trained {spec.name} in {seconds:.0f} s -> {spec.folder}")
    return TrainedModel(spec, ds, float_model, model, metrics)


def has_weights(spec: Spec) -> bool:
    return all((spec.folder / f).is_file() for f in (FLOAT_WEIGHTS, WEIGHTS, METRICS))


def check_weights_fit(spec: Spec, model: tf.keras.Model, source: Path) -> None:
    """Refuse weights that the spec's precisions cannot hold (e.g. a spec narrowed after training)."""
    for name, w, p in weight_precisions(spec, model):
        field = f"precision.{name.split('.', 1)[1]}"
        # ClipToPrecision kept trained weights in range; allow float32 rounding slack only.
        slack = 1e-6 * max(1.0, abs(p.min_value))
        if w.size and (w.max() > p.max_value + slack or w.min() < p.min_value - slack):
            worst = float(w.max()) if w.max() > p.max_value else float(w.min())
            raise CodesignError(
                f"{spec.path}: {field}: bits={p.bits} integer={p.integer} "
                f"(range [{p.min_value}, {p.max_value}]) "
                f"cannot hold the trained {name} weights of {source} (value {worst:.4g}); "
                "widen the precision or retrain"
            )


def load_trained(spec: Spec) -> TrainedModel:
    """The committed model: float twin and QKeras model with their weights, checked against the spec."""
    if not has_weights(spec):
        missing = [f for f in (FLOAT_WEIGHTS, WEIGHTS, METRICS) if not (spec.folder / f).is_file()]
        raise CodesignError(
            f"{spec.folder}: no trained model ({', '.join(missing)} missing); run codesign train"
        )
    t = spec.training
    ds = load_dataset(spec.dataset, t.validation_fraction, t.seed)
    float_model = build_model(spec, ds.length, ds.channels, ds.num_classes, quantized=False)
    model = build_model(spec, ds.length, ds.channels, ds.num_classes, quantized=True)
    for m, name in ((float_model, FLOAT_WEIGHTS), (model, WEIGHTS)):
        try:
            m.load_weights(spec.folder / name)
        except (ValueError, OSError) as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise CodesignError(
                f"{spec.folder / name}: does not match the model in {spec.path} ({first}); "
                "retrain with codesign train"
            ) from None
    check_weights_fit(spec, model, spec.folder / WEIGHTS)
    return TrainedModel(spec, ds, float_model, model, read_json(spec.folder / METRICS))
