"""Gradual pruning with retraining, then QAT fine-tuning with the final mask held fixed.

Zhu & Gupta's recipe on the QKeras model itself, so quantization stays in the loop throughout: at each
step of the polynomial schedule the masks are recomputed from the current latent weights at that
step's sparsity and the model trains a few epochs; at the final sparsity the mask is frozen and the
model fine-tunes with the spec's QAT settings (Adam, clipnorm, early stopping on validation loss).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from codesign.compress.pruning import layer_masks
from codesign.compress.schedule import sparsity_schedule
from codesign.data import Dataset
from codesign.errors import CodesignError
from codesign.spec import Spec

import tensorflow as tf  # noqa: E402  isort: skip

from codesign.models.train import EpochBar, compile_model  # noqa: E402  (the same per-epoch bar as training)


@dataclass(frozen=True)
class PruningSchedule:
    """How the sparsity ramps up: `steps` mask updates, `epochs_per_step` epochs of training after each."""

    steps: int = 16
    epochs_per_step: int = 4
    initial_sparsity: float = 0.0

    def __post_init__(self) -> None:
        if isinstance(self.steps, bool) or not isinstance(self.steps, int) or self.steps < 1:
            raise CodesignError(f"steps: {self.steps!r} pruning steps, need an integer >= 1")
        if (
            isinstance(self.epochs_per_step, bool)
            or not isinstance(self.epochs_per_step, int)
            or self.epochs_per_step < 0
        ):
            raise CodesignError(f"epochs_per_step: {self.epochs_per_step!r}, need an integer >= 0")
        if not 0.0 <= self.initial_sparsity < 1.0:
            raise CodesignError(f"initial_sparsity: {self.initial_sparsity} is outside [0, 1)")


@dataclass
class PrunedLayer:
    """One recurrent layer's weight variables, their precisions' LSBs and the current masks."""

    name: str
    kernel: tf.Variable
    recurrent_kernel: tf.Variable
    kernel_lsb: float
    recurrent_lsb: float
    kernel_mask: np.ndarray | None = None
    recurrent_mask: np.ndarray | None = None


def _hold(variable: tf.Variable, mask: np.ndarray, lsb: float) -> None:
    # Pruned weights are set to 0 (they quantize to 0). Kept weights are held at least one LSB away from
    # 0, so each quantizes to a non-zero: the stored non-zeros are exactly the mask, and the per-PE
    # counts balanced pruning equalised stay equal in the engine's memories.
    v = variable.numpy()
    kept = np.where(v >= 0, np.maximum(v, lsb), np.minimum(v, -lsb))
    variable.assign(np.where(mask, kept, 0.0).astype(v.dtype))


class HoldMasks(tf.keras.callbacks.Callback):
    """Re-applies the masks after every batch, so the optimizer's updates never revive a pruned weight."""

    def __init__(self, layers: list[PrunedLayer]):
        super().__init__()
        self.layers = layers

    def apply(self) -> None:
        for layer in self.layers:
            if layer.kernel_mask is None:
                continue
            _hold(layer.kernel, layer.kernel_mask, layer.kernel_lsb)
            _hold(layer.recurrent_kernel, layer.recurrent_mask, layer.recurrent_lsb)

    def on_train_batch_end(self, batch, logs=None):
        self.apply()


def recurrent_layers(spec: Spec, model: tf.keras.Model) -> list[PrunedLayer]:
    """The layers pruning applies to: every recurrent layer's kernel and recurrent kernel (as one W).

    Biases stay dense (a handful of values, one per row, added once per step), and so does the dense
    head: it is a small fraction of the weights and of the work (classes x H once per sequence, against
    4H x (X + H) every step), and pruning it would only cost accuracy.
    """
    p = spec.precision
    out = []
    for layer in model.layers:
        if layer.name.startswith("rnn"):
            out.append(
                PrunedLayer(
                    layer.name,
                    layer.cell.kernel,
                    layer.cell.recurrent_kernel,
                    p.kernel.fixed_type().lsb,
                    p.recurrent_kernel.fixed_type().lsb,
                )
            )
    return out


def update_masks(
    layers: list[PrunedLayer],
    method: str,
    sparsity: float,
    num_pe: int | None,
    block: tuple[int, int] | None,
) -> None:
    for layer in layers:
        layer.kernel_mask, layer.recurrent_mask = layer_masks(
            layer.kernel.numpy(), layer.recurrent_kernel.numpy(), method, sparsity, num_pe, block
        )


@dataclass
class PruningResult:
    layers: list[PrunedLayer]
    sparsities: list[float]  # the schedule's steps
    ramp_epochs: int
    final_epochs: int
    history: list[dict] = field(default_factory=list)  # per schedule step: sparsity, val accuracy


def prune_and_finetune(
    spec: Spec,
    model: tf.keras.Model,
    ds: Dataset,
    method: str,
    sparsity: float,
    *,
    num_pe: int | None = None,
    block: tuple[int, int] | None = None,
    schedule: PruningSchedule = PruningSchedule(),
    final_epochs: int | None = None,
    progress: bool = True,
    log: Callable[[str], None] = lambda *_: None,
) -> PruningResult:
    """Prunes `model` (a trained QKeras model) in place; returns its final masks and what was run.

    `final_epochs` bounds the fine-tuning with the frozen mask (default: the spec's qat_epochs; early
    stopping on validation loss with the spec's patience ends it sooner).
    """
    t = spec.training
    tf.keras.utils.set_random_seed(t.seed + 2)
    tf.config.experimental.enable_op_determinism()
    compile_model(model, spec, t.qat_learning_rate)
    layers = recurrent_layers(spec, model)
    hold = HoldMasks(layers)
    fit = dict(
        x=ds.x_train,
        y=ds.y_train,
        validation_data=(ds.x_val, ds.y_val),
        batch_size=t.batch_size,
        shuffle=True,
        verbose=0,
    )
    sparsities = sparsity_schedule(sparsity, schedule.steps, schedule.initial_sparsity)
    result = PruningResult(layers, sparsities, 0, 0)
    for step, s in enumerate(sparsities, start=1):
        update_masks(layers, method, s, num_pe, block)
        hold.apply()
        logs = {}
        if schedule.epochs_per_step:
            bar = EpochBar(schedule.epochs_per_step, f"{spec.name} prune {step}/{len(sparsities)}", progress)
            h = model.fit(epochs=schedule.epochs_per_step, callbacks=[hold, bar], **fit)
            logs = {k: v[-1] for k, v in h.history.items()}
            result.ramp_epochs += len(h.history["loss"])
        result.history.append({"step": step, "sparsity": s, "val_accuracy": logs.get("val_accuracy")})
        log(f"  step {step}: sparsity {s:.4f}, val accuracy {logs.get('val_accuracy', float('nan')):.4f}")

    epochs = t.qat_epochs if final_epochs is None else final_epochs
    if epochs:
        # The final mask is the one the last step computed (at the target sparsity); from here it is fixed.
        stop = tf.keras.callbacks.EarlyStopping(
            monitor="val_loss", patience=t.patience, restore_best_weights=True
        )
        bar = EpochBar(epochs, f"{spec.name} fine-tune", progress)
        h = model.fit(epochs=epochs, callbacks=[hold, stop, bar], **fit)
        result.final_epochs = len(h.history["loss"])
    hold.apply()  # idempotent; guarantees the returned weights carry the mask whatever restored them
    return result
