"""Block-circulant LSTM layers (C-LSTM, Wang et al. FPGA 2018; E-RNN, Li et al. HPCA 2019), QKeras-compatible.

W_x and W_h are tiled into b x b circulant blocks, each the circulant matrix of one defining vector (the
layout and its numpy algebra: `codesign.circulant`). The layer's trainable weights are only those vectors:
`kernel_vectors` (4H/b, ceil(X/b), b), the input zero-padded to whole blocks as C-LSTM does, and
`recurrent_vectors` (4H/b, H/b, b), plus the usual bias.
On every call the vectors are expanded into Keras' (X, 4H) / (H, 4H) kernels and QKeras' QLSTMCell does
the rest, so quantization (quantize(expand(v)) = expand(quantize(v)): expansion only copies values),
activations and the state quantizer are exactly QLSTM's, and gradients flow back to the vectors through
the gather (each vector entry collects the gradient of the b entries it defines).

`QCirculantLSTM` is the quantized layer, `CirculantLSTM` its float twin with the same weight layout.
"""

from __future__ import annotations

import math

import numpy as np

from codesign.circulant import GATES, check_block, circulant_index, vector_shapes
from codesign.errors import CodesignError

import tensorflow as tf  # noqa: E402  isort: skip
from qkeras import QLSTM  # noqa: E402
from qkeras.qrecurrent import QLSTMCell  # noqa: E402

from codesign.models.quantizers import recurrent_quantization  # noqa: E402

# keyword arguments of the RNN wrapper; everything else configures the cell
_RNN_KEYS = (
    "return_sequences",
    "return_state",
    "go_backwards",
    "stateful",
    "unroll",
    "time_major",
    "zero_output_for_mask",
    "name",
    "trainable",
    "dtype",
)


class _CirculantWeights:
    """LSTM-cell mixin: trainable defining vectors; `kernel`, `recurrent_kernel` expanded from them."""

    def _init_block(self, units: int, block: int) -> None:
        self.block = check_block(block, units, "block")

    def build(self, input_shape):
        inputs = int(input_shape[-1])
        b = self.block
        kshape, rshape = vector_shapes(inputs, self.units, b)
        # Glorot scale of the dense matrix each expands to: every entry is one of the vector's values.
        klimit = math.sqrt(6.0 / (inputs + GATES * self.units))
        rlimit = math.sqrt(6.0 / (self.units + GATES * self.units))
        self.kernel_vectors = self.add_weight(
            shape=kshape,
            name="kernel_vectors",
            initializer=tf.keras.initializers.RandomUniform(-klimit, klimit),
            constraint=self.kernel_constraint,
        )
        self.recurrent_vectors = self.add_weight(
            shape=rshape,
            name="recurrent_vectors",
            initializer=tf.keras.initializers.RandomUniform(-rlimit, rlimit),
            constraint=self.recurrent_constraint,
        )
        units = self.units

        def bias_initializer(_, *args, **kwargs):  # Keras' unit_forget_bias: forget gate starts at 1
            return tf.keras.backend.concatenate(
                [
                    self.bias_initializer((units,), *args, **kwargs),
                    tf.keras.initializers.get("ones")((units,), *args, **kwargs),
                    self.bias_initializer((units * 2,), *args, **kwargs),
                ]
            )

        self.bias = self.add_weight(
            shape=(GATES * units,),
            name="bias",
            initializer=bias_initializer if self.unit_forget_bias else self.bias_initializer,
            constraint=self.bias_constraint,
        )
        self._index = tf.constant(circulant_index(b), tf.int32)
        self._inputs = inputs
        self.built = True

    def _expand(self, vectors, cols: int):
        blocks = tf.gather(vectors, self._index, axis=2)  # (R, C, b, b) as [i, j, r, c]
        rb, cb = vectors.shape[0], vectors.shape[1]
        w = tf.reshape(tf.transpose(blocks, (0, 2, 1, 3)), (rb * self.block, cb * self.block))
        return tf.transpose(w[:, :cols])

    @property
    def kernel(self):
        if not self.built:
            raise AttributeError("kernel: the layer is not built yet")
        return self._expand(self.kernel_vectors, self._inputs)

    @property
    def recurrent_kernel(self):
        if not self.built:
            raise AttributeError("recurrent_kernel: the layer is not built yet")
        return self._expand(self.recurrent_vectors, self.units)

    def get_config(self):
        return {**super().get_config(), "block": self.block}


@tf.keras.utils.register_keras_serializable(package="codesign")
class QCirculantLSTMCell(_CirculantWeights, QLSTMCell):
    def __init__(self, units: int, block: int, **kwargs):
        self._init_block(units, block)
        super().__init__(units, **kwargs)


@tf.keras.utils.register_keras_serializable(package="codesign")
class CirculantLSTMCell(_CirculantWeights, tf.keras.layers.LSTMCell):
    def __init__(self, units: int, block: int, **kwargs):
        self._init_block(units, block)
        super().__init__(units, **kwargs)


def _split(kwargs: dict) -> tuple[dict, dict]:
    rnn = {k: kwargs.pop(k) for k in _RNN_KEYS if k in kwargs}
    kwargs.pop("activity_regularizer", None)
    return rnn, kwargs


class _DenseView:
    def dense_weights(self) -> list[np.ndarray]:
        """Latent [kernel (X, 4H), recurrent kernel (H, 4H), bias] as a dense LSTM stores them (for
        codesign.reference and anything else that reads an LSTM's matrices)."""
        return [self.cell.kernel.numpy(), self.cell.recurrent_kernel.numpy(), self.cell.bias.numpy()]


@tf.keras.utils.register_keras_serializable(package="codesign")
class QCirculantLSTM(_DenseView, QLSTM):
    """QLSTM with block-circulant W_x and W_h (block size `block`); its weights are the defining vectors."""

    def __init__(self, units: int, block: int, **kwargs):
        rnn, cell_kwargs = _split(dict(kwargs))
        cell = QCirculantLSTMCell(
            units, block, dtype=rnn.get("dtype"), trainable=rnn.get("trainable", True), **cell_kwargs
        )
        tf.keras.layers.RNN.__init__(self, cell, **rnn)
        self.input_spec = [tf.keras.layers.InputSpec(ndim=3)]

    @property
    def block(self) -> int:
        return self.cell.block

    def get_prunable_weights(self):
        return [self.cell.kernel_vectors, self.cell.recurrent_vectors]

    def get_config(self):
        return {**super().get_config(), "block": self.block}


@tf.keras.utils.register_keras_serializable(package="codesign")
class CirculantLSTM(_DenseView, tf.keras.layers.RNN):
    """The float twin of QCirculantLSTM (same weights, no quantizers)."""

    def __init__(self, units: int, block: int, **kwargs):
        rnn, cell_kwargs = _split(dict(kwargs))
        cell_kwargs.pop("cell", None)
        cell = CirculantLSTMCell(
            units, block, dtype=rnn.get("dtype"), trainable=rnn.get("trainable", True), **cell_kwargs
        )
        super().__init__(cell, **rnn)
        self.input_spec = [tf.keras.layers.InputSpec(ndim=3)]

    @property
    def units(self) -> int:
        return self.cell.units

    @property
    def block(self) -> int:
        return self.cell.block

    def get_config(self):
        cell = self.cell.get_config()
        base = super().get_config()
        base.pop("cell", None)
        return {**base, **cell}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def circulant_layer(spec, quantized: bool, **common) -> tf.keras.layers.Layer:
    """The recurrent layer `builders.build_model` makes for a spec compressed with method 'circulant'."""
    if spec.model.cell != "lstm":
        raise CodesignError(
            f"{spec.path}: model.cell: {spec.model.cell!r} has no block-circulant layer (lstm only)"
        )
    block = spec.compression.block
    if block is None or block[0] != block[1]:
        raise CodesignError(
            f"{spec.path}: compression.block: circulant blocks are square [b, b], got {block!r}"
        )
    check_block(block[0], common["units"], f"{spec.path}: compression.block")
    if not quantized:
        return CirculantLSTM(block=block[0], **common)
    p = spec.precision
    return QCirculantLSTM(block=block[0], **recurrent_quantization(p), **common)
