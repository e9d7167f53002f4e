"""Keras models from a spec: the QKeras classifier and its float twin with the same weight layout.

The QKeras classifier is `Input(length, channels) -> input quantizer -> 1..3 recurrent layers -> dense head`
and its float twin the same without the input quantizer, both producing logits (no softmax:
argmax needs none, and the hardware computes none). Layer names are shared (`rnn1`, `rnn2`, ...,
`head`) so weights move between the two with get_weights / set_weights.
"""

from __future__ import annotations

import numpy as np

from codesign.models import INPUT_QUANTIZER
from codesign.spec import Activation, Precision, Spec

# Importing TensorFlow is slow; this module is only imported by stages that need Keras.
import tensorflow as tf  # noqa: E402  isort: skip
from qkeras import QGRU, QLSTM, QActivation, QDense, QSimpleRNN  # noqa: E402
from qkeras.quantizers import hard_sigmoid, hard_tanh, quantized_sigmoid, quantized_tanh  # noqa: E402

from codesign.models import compat  # noqa: E402, F401  (must precede any QGRU/QSimpleRNN call)
from codesign.models.quantizers import constraint, quantizer, recurrent_quantization  # noqa: E402


def state_activation(a: Activation, quantized: bool):
    if quantized and a.bits is not None:
        # use_real_tanh=False computes 2 * hard_sigmoid(x) - 1, QKeras' hard tanh
        return quantized_tanh(a.bits, use_real_tanh=a.function == "tanh")
    return "tanh" if a.function == "tanh" else hard_tanh


def gate_activation(a: Activation, quantized: bool):
    if quantized and a.bits is not None:
        return quantized_sigmoid(a.bits, use_real_sigmoid=a.function == "sigmoid")
    return "sigmoid" if a.function == "sigmoid" else hard_sigmoid


def _delta_layer(spec: Spec, index: int, quantization: dict, common: dict) -> tf.keras.layers.RNN:
    """Layer `index` of a delta network (codesign.models.delta_cells): the QKeras cell's arithmetic with
    the delta encoder in the loop, thresholds in real units (layer 0 reads x_t, a layer above the h_t
    below it)."""
    from codesign.delta import threshold_values
    from codesign.models.delta_cells import DeltaQGRUCell, DeltaQLSTMCell

    threshold_x, threshold_h = threshold_values(spec)
    layer_args = {k: common[k] for k in ("return_sequences", "name")}
    cell_args = {k: v for k, v in common.items() if k not in layer_args}
    cell_cls = {"lstm": DeltaQLSTMCell, "gru": DeltaQGRUCell}[spec.model.cell]
    cell = cell_cls(
        threshold_x=threshold_x if index == 0 else threshold_h,
        threshold_h=threshold_h,
        **quantization,
        **cell_args,
    )
    return tf.keras.layers.RNN(cell, **layer_args)


def build_model(spec: Spec, length: int, channels: int, num_classes: int, quantized: bool) -> tf.keras.Model:
    """The classifier the spec describes; `quantized=False` gives the float twin (same layout)."""
    m, p = spec.model, spec.precision
    inputs = tf.keras.Input(shape=(length, channels), name="x")
    h = inputs
    if quantized:
        # x_t on the input grid during QAT, as HLS and the engine receive it (spec precision.input)
        h = QActivation(quantizer(p.input), name=INPUT_QUANTIZER)(h)
    for i, units in enumerate(m.units):
        common = dict(
            units=units,
            return_sequences=i < len(m.units) - 1,
            activation=state_activation(m.activation, quantized),
            name=f"rnn{i + 1}",
        )
        if m.cell != "simple_rnn":
            common["recurrent_activation"] = gate_activation(m.recurrent_activation, quantized)
        if m.cell == "gru":
            common["reset_after"] = m.reset_after
        if m.cell == "lstm":
            common["unit_forget_bias"] = True  # QLSTMCell forces it; keep the float twin identical
        if spec.compression is not None and spec.compression.method == "circulant":
            # Block-circulant W_x, W_h: the layer stores one defining vector per b x b block and is
            # trained in that form (codesign/models/circulant.py; same quantizers as QLSTM).
            from codesign.models.circulant import circulant_layer

            h = circulant_layer(spec, quantized, **common)(h)
            continue
        if quantized:
            quantization = recurrent_quantization(p)
            if spec.delta is not None:
                h = _delta_layer(spec, i, quantization, common)(h)
                continue
            layer_cls = {"lstm": QLSTM, "gru": QGRU, "simple_rnn": QSimpleRNN}[m.cell]
            h = layer_cls(**quantization, **common)(h)
        else:
            layer_cls = {
                "lstm": tf.keras.layers.LSTM,
                "gru": tf.keras.layers.GRU,
                "simple_rnn": tf.keras.layers.SimpleRNN,
            }[m.cell]
            h = layer_cls(**common)(h)
    if quantized:
        logits = QDense(
            num_classes,
            kernel_quantizer=quantizer(p.dense_kernel),
            bias_quantizer=quantizer(p.dense_bias),
            kernel_constraint=constraint(p.dense_kernel),
            bias_constraint=constraint(p.dense_bias),
            name="head",
        )(h)
    else:
        logits = tf.keras.layers.Dense(num_classes, name="head")(h)
    return tf.keras.Model(inputs, logits, name=spec.name)


def weight_precisions(spec: Spec, model: tf.keras.Model) -> list[tuple[str, np.ndarray, Precision]]:
    """Each trainable tensor with the spec field that declares its precision, e.g. ('rnn1.kernel', w, p)."""
    p = spec.precision
    out = []
    for layer in model.layers:
        weights = layer.get_weights()
        if layer.name.startswith("rnn"):
            fields = [("kernel", p.kernel), ("recurrent_kernel", p.recurrent_kernel), ("bias", p.bias)]
        elif layer.name == "head":
            fields = [("dense_kernel", p.dense_kernel), ("dense_bias", p.dense_bias)]
        else:
            continue
        for (field_name, precision), w in zip(fields, weights, strict=True):
            out.append((f"{layer.name}.{field_name}", w, precision))
    return out
