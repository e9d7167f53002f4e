"""A spec precision as QKeras sees it: the quantizer, and the constraint that keeps latent weights in its
range. Shared by the model builders (`builders`) and the block-circulant layer (`circulant`)."""

from __future__ import annotations

from codesign.spec import Precision

import tensorflow as tf  # noqa: E402  isort: skip
from qkeras.quantizers import quantized_bits  # noqa: E402


@tf.keras.utils.register_keras_serializable(package="codesign")
class ClipToPrecision(tf.keras.constraints.Constraint):
    """Keeps latent weights inside the quantizer's range during QAT.

    QKeras' straight-through estimator lets a latent weight drift past the range it clips to; keeping
    it inside means a trained model always fits its declared precision, so a later mismatch between
    weights and spec is a real error, not a training artefact.
    """

    def __init__(self, min_value: float, max_value: float):
        self.min_value = float(min_value)
        self.max_value = float(max_value)

    def __call__(self, w):
        return tf.clip_by_value(w, self.min_value, self.max_value)

    def get_config(self) -> dict:
        return {"min_value": self.min_value, "max_value": self.max_value}


def quantizer(p: Precision) -> quantized_bits:
    """QKeras' quantized_bits for a spec precision (= ap_fixed<bits, integer+1, AP_RND_CONV, AP_SAT>)."""
    return quantized_bits(p.bits, p.integer, alpha=1)


def constraint(p: Precision) -> ClipToPrecision:
    """The latent weights' range constraint for a spec precision."""
    return ClipToPrecision(p.min_value, p.max_value)


def recurrent_quantization(p) -> dict:
    """A quantized recurrent layer's quantizer and constraint arguments (QLSTM, QGRU, the circulant and
    delta layers) from the spec's `precision`."""
    return dict(
        kernel_quantizer=quantizer(p.kernel),
        recurrent_quantizer=quantizer(p.recurrent_kernel),
        bias_quantizer=quantizer(p.bias),
        state_quantizer=None if p.state is None else quantizer(p.state),
        kernel_constraint=constraint(p.kernel),
        recurrent_constraint=constraint(p.recurrent_kernel),
        bias_constraint=constraint(p.bias),
    )
