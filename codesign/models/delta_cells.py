"""QKeras delta cells: QLSTMCell's and QGRUCell's arithmetic with the delta encoder in the loop.

Each cell keeps, beside its own state, the last broadcast input x_hat and the last broadcast
q_state(h) h_hat (codesign.delta gives the rule and the numpy twin, codesign.reference the float64
model these cells must equal). The matrix products read the held vectors; the held values are exact on
the input and state grids, so `u + stop_gradient(held - u)` is the held value exactly in float32, with a
straight-through gradient to the current u (Neil et al. 2017 train delta networks this way).
Keras' RNN layer runs them; the layer's weights are the inner cell's (kernel, recurrent kernel, bias),
so a trained QLSTM / QGRU's weights load into them unchanged.
"""

from __future__ import annotations

import tensorflow as tf
from qkeras import QGRUCell, QLSTMCell

from codesign.models import compat  # noqa: F401  (QGRUCell needs the shim)


def _hold(u, u_hat, threshold: float):
    """(value the cell reads, new held state): entries that moved by more than `threshold` take u."""
    held = tf.where(tf.abs(u - u_hat) > threshold, u, u_hat)
    return u + tf.stop_gradient(held - u), tf.stop_gradient(held)


class _DeltaMixin:
    """Thresholds and the two held vectors appended to the cell's state."""

    def _init_delta(self, threshold_x: float, threshold_h: float) -> None:
        self.threshold_x = float(threshold_x)
        self.threshold_h = float(threshold_h)

    def build(self, input_shape):
        super().build(input_shape)
        # the RNN layer reads state_size after building the cell: own state, then x_hat, h_hat
        self.state_size = [*self._own_state_size, int(input_shape[-1]), self.units]

    def _quantize_state(self, v):
        return self.state_quantizer_internal(v) if self.state_quantizer else v

    def get_config(self) -> dict:
        return {**super().get_config(), "threshold_x": self.threshold_x, "threshold_h": self.threshold_h}


class DeltaQLSTMCell(_DeltaMixin, QLSTMCell):
    def __init__(self, units: int, threshold_x: float, threshold_h: float, **kwargs):
        super().__init__(units, **kwargs)
        self._init_delta(threshold_x, threshold_h)
        self._own_state_size = [units, units]

    def call(self, inputs, states, training=None):
        h, c, x_hat, h_hat = states
        x_in, x_hat = _hold(inputs, x_hat, self.threshold_x)
        h_in, h_hat = _hold(self._quantize_state(h), h_hat, self.threshold_h)
        # h enters an LSTM step only through U h; the cell's state quantizer leaves a held h unchanged
        out, (h, c) = super().call(x_in, [h_in, c], training=training)
        return out, [h, c, x_hat, h_hat]


class DeltaQGRUCell(_DeltaMixin, QGRUCell):
    """reset_after=True only (the spec refuses the other placement): the held h feeds W_h h + b_h, the
    real q_state(h_{t-1}) the update h_t = z h_{t-1} + (1 - z) hh."""

    def __init__(self, units: int, threshold_x: float, threshold_h: float, **kwargs):
        super().__init__(units, **kwargs)
        if not self.reset_after:
            raise ValueError("a delta GRU needs reset_after=True")
        self._init_delta(threshold_x, threshold_h)
        self._own_state_size = [units]

    def call(self, inputs, states, training=None):
        h, x_hat, h_hat = states
        h = self._quantize_state(h)
        x_in, x_hat = _hold(inputs, x_hat, self.threshold_x)
        h_in, h_hat = _hold(h, h_hat, self.threshold_h)
        kernel = self.kernel_quantizer_internal(self.kernel)
        recurrent = self.recurrent_quantizer_internal(self.recurrent_kernel)
        input_bias, recurrent_bias = tf.unstack(self.bias_quantizer_internal(self.bias))
        # QGRUCell's reset_after arithmetic (qkeras/qrecurrent.py), with the held vectors in the products
        x_z, x_r, x_h = tf.split(tf.matmul(x_in, kernel) + input_bias, 3, axis=-1)
        r_z, r_r, r_h = tf.split(tf.matmul(h_in, recurrent) + recurrent_bias, 3, axis=-1)
        z = self.recurrent_activation(x_z + r_z)
        r = self.recurrent_activation(x_r + r_r)
        hh = self.activation(x_h + r * r_h)
        h = z * h + (1 - z) * hh
        return h, [h, x_hat, h_hat]
