"""Float numpy reference of the classifier: LSTM, GRU and SimpleRNN cells equal to Keras / QKeras.

This is the root of every later golden model (RTL engine, HLS): it reproduces the Keras layers'
arithmetic in plain numpy, vectorised over the batch, so internal states can be compared step by step
without TensorFlow. Conventions follow Keras 2.14 (`keras/src/layers/rnn/{lstm,gru,simple_rnn}.py`)
and QKeras 0.9.0 (`qkeras/qrecurrent.py`, `qkeras/quantizers.py`):

- Weight layout: kernel (X, G*H), recurrent kernel (H, G*H) with gates side by side in Keras order:
  LSTM i, f, c, o; GRU z, r, h. LSTM bias (4H,); GRU bias (2, 3H) = (input, recurrent) when
  reset_after, else (3H,); SimpleRNN bias (H,).
- A QKeras cell applies its state quantizer to h_{t-1} (and c_{t-1}) when a step starts, not to the
  h_t it returns: the output sequence and the final h fed to the dense head are unquantized
  (though built from quantized operands).
- Quantized activations and weights round half to even (tf.round); np.round does the same.

- The QKeras model quantizes its input first (`x_q`, the spec's `precision.input`); so does this one.

Precision: the default is float64. Products and sums of fixed-point values (quantized inputs, weights,
states and activations) are then exact, as in a hardware datapath with wide accumulators, as long as no
value needs more than float64's 53-bit significand (`codesign.hls.exact` checks that for the HLS types),
so the fixed-point golden models derived from this one inherit no accumulation-order noise, and a
difference from Keras is Keras' own float32 rounding. `dtype=np.float32` mimics Keras, but cannot always
equal it (TF's summation order and tanh / sigmoid approximations are not numpy's, and differ between
CPUs). The two differ only where a quantized activation's exact input lies within a float32 rounding
error of a rounding tie: Keras then lands one quantization step away (the README names the one such gate
on the shipped models). Tests therefore compare Keras to this reference by argmax and a tolerance, never
bit for bit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from codesign.delta import hold, threshold_values
from codesign.spec import CELLS, Activation, Precision, Spec

ActivationFn = Callable[[np.ndarray], np.ndarray]
GATES = {"lstm": 4, "gru": 3, "simple_rnn": 1}


# --- quantizers -------------------------------------------------------------------------------------


def quantize_bits(x: np.ndarray | float, bits: int, integer: int) -> np.ndarray:
    """QKeras `quantized_bits(bits, integer, alpha=1)` (signed, not symmetric) in numpy.

    Round half to even on the grid of LSB 2^(integer - bits + 1), then clip to
    [-2^integer, 2^integer - LSB] (ap_fixed's AP_RND_CONV, AP_SAT). Scaling by powers of two is exact,
    so this is exact in any float dtype; the result keeps the input's dtype (float64 for Python scalars
    and integer arrays). QKeras agrees for |x| up to twice the range; further out its straight-through
    form x + (xq - x), rounded in float32, drifts off the grid (it maps 1e30 to 0.0).
    """
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float64)
    m = 2.0 ** (bits - 1)  # one bit is the sign
    m_i = 2.0**integer
    with np.errstate(over="ignore"):  # a huge x scales to inf, which the clip saturates like any large value
        return (m_i * np.clip(np.round(x * m / m_i), -m, m - 1) / m).astype(x.dtype, copy=False)


def quantize(x: np.ndarray, p: Precision) -> np.ndarray:
    """`quantize_bits` with a spec Precision."""
    return quantize_bits(x, p.bits, p.integer)


# --- activations ------------------------------------------------------------------------------------


def sigmoid(x: np.ndarray) -> np.ndarray:
    # exp(-log(1 + e^-x)): no overflow warning for large |x| and full relative accuracy in both tails
    return np.exp(-np.logaddexp(0, -x))


def tanh(x: np.ndarray) -> np.ndarray:
    return np.tanh(x)


def hard_sigmoid(x: np.ndarray) -> np.ndarray:
    """QKeras' hard sigmoid clip(0.5 x + 0.5, 0, 1) (not Keras' slope-0.2 one)."""
    return np.clip(0.5 * x + 0.5, 0.0, 1.0)


def hard_tanh(x: np.ndarray) -> np.ndarray:
    # As QKeras computes it: in float32, 0.5 x + 0.5 drops x's low bits, so not exactly clip(x, -1, 1).
    return 2.0 * hard_sigmoid(x) - 1.0


def quantized_tanh(x: np.ndarray, bits: int, use_real_tanh: bool) -> np.ndarray:
    """QKeras `quantized_tanh(bits, use_real_tanh=...)`: round(p 2^(bits-1)) / 2^(bits-1), clipped to
    [-1, 1 - 2^-(bits-1)], where p is tanh(x) or QKeras' hard tanh (its internal sigmoid is "hard")."""
    m = 2.0 ** (bits - 1)
    p = np.tanh(x) if use_real_tanh else hard_tanh(x)
    return np.clip(np.round(p * m) / m, -1.0, 1.0 - 1.0 / m)


def quantized_sigmoid(x: np.ndarray, bits: int, use_real_sigmoid: bool) -> np.ndarray:
    """QKeras `quantized_sigmoid(bits, use_real_sigmoid=...)`: round(p 2^bits) / 2^bits clipped to
    [0, 1 - 2^-bits], where p is the sigmoid or QKeras' hard sigmoid."""
    m = 2.0**bits
    p = sigmoid(x) if use_real_sigmoid else hard_sigmoid(x)
    return np.clip(np.round(p * m) / m, 0.0, 1.0 - 1.0 / m)


def activation_fn(a: Activation, kind: Literal["state", "gate"], quantized: bool) -> ActivationFn:
    """The callable that `codesign.models.builders` puts in the QKeras model (`quantized=True`) or in
    its float twin (`quantized=False`, which ignores `bits`)."""
    real = {"state": "tanh", "gate": "sigmoid"}[kind]
    hard = {"state": "hard_tanh", "gate": "hard_sigmoid"}[kind]
    if a.function not in (real, hard):
        raise ValueError(f"{a.function!r} is not a {kind} activation ({real} or {hard})")
    use_real = a.function == real
    if quantized and a.bits is not None:
        bits = a.bits
        if kind == "state":
            return lambda x: quantized_tanh(x, bits, use_real)
        return lambda x: quantized_sigmoid(x, bits, use_real)
    if kind == "state":
        return tanh if use_real else hard_tanh
    return sigmoid if use_real else hard_sigmoid


def precision_fn(p: Precision | None) -> ActivationFn | None:
    """A state quantizer callable from a spec Precision (None stays None: states stay float)."""
    if p is None:
        return None
    return lambda x: quantize_bits(x, p.bits, p.integer)


# --- cells ------------------------------------------------------------------------------------------


def lstm_step(
    x: np.ndarray,
    h: np.ndarray,
    c: np.ndarray,
    kernel: np.ndarray,
    recurrent_kernel: np.ndarray,
    bias: np.ndarray,
    activation: ActivationFn,
    recurrent_activation: ActivationFn,
    state_quantizer: ActivationFn | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """One LSTM step on a batch: x (N, X), h and c (N, H) -> (h, c), as QLSTMCell / LSTMCell."""
    if state_quantizer is not None:
        h, c = state_quantizer(h), state_quantizer(c)
    # QLSTMCell's implementation=1 order: (x W + b) + h U per gate.
    z = (x @ kernel + bias) + h @ recurrent_kernel
    z_i, z_f, z_c, z_o = np.split(z, 4, axis=-1)
    i = recurrent_activation(z_i)
    f = recurrent_activation(z_f)
    c = f * c + i * activation(z_c)
    o = recurrent_activation(z_o)
    return o * activation(c), c


def gru_step(
    x: np.ndarray,
    h: np.ndarray,
    kernel: np.ndarray,
    recurrent_kernel: np.ndarray,
    bias: np.ndarray,
    activation: ActivationFn,
    recurrent_activation: ActivationFn,
    reset_after: bool,
    state_quantizer: ActivationFn | None = None,
    h_held: np.ndarray | None = None,
) -> np.ndarray:
    """One GRU step on a batch: x (N, X), h (N, H) -> h, as QGRUCell / GRUCell.

    reset_after=True (bias (2, 3H)): hh = act(x W_h + b_ih + r * (h U_h + b_rh));
    reset_after=False (bias (3H,)): hh = act(x W_h + b_h + (r * h) U_h). Then h = z h + (1 - z) hh.
    `h_held` (a delta GRU's held q_state(h), codesign.delta) replaces h in the matrix products only.
    """
    if state_quantizer is not None:
        h = state_quantizer(h)
    h_mat = h if h_held is None else h_held
    units = h.shape[-1]
    if reset_after:
        if bias.shape != (2, 3 * units):
            raise ValueError(f"GRU reset_after=True needs bias shape (2, {3 * units}), got {bias.shape}")
        input_bias, recurrent_bias = bias[0], bias[1]
    else:
        if bias.shape != (3 * units,):
            raise ValueError(f"GRU reset_after=False needs bias shape ({3 * units},), got {bias.shape}")
        input_bias, recurrent_bias = bias, None
    x_z, x_r, x_h = np.split(x @ kernel + input_bias, 3, axis=-1)
    u_zr, u_h = recurrent_kernel[:, : 2 * units], recurrent_kernel[:, 2 * units :]
    inner = h_mat @ u_zr
    if recurrent_bias is not None:
        inner = inner + recurrent_bias[: 2 * units]
    rec_z, rec_r = np.split(inner, 2, axis=-1)
    z = recurrent_activation(x_z + rec_z)
    r = recurrent_activation(x_r + rec_r)
    if reset_after:
        rec_h = r * (h_mat @ u_h + recurrent_bias[2 * units :])
    elif h_held is not None:
        raise ValueError("a delta GRU needs reset_after=True: (r * h) U cannot take a held h")
    else:
        rec_h = (r * h) @ u_h
    hh = activation(x_h + rec_h)
    return z * h + (1 - z) * hh


def simple_rnn_step(
    x: np.ndarray,
    h: np.ndarray,
    kernel: np.ndarray,
    recurrent_kernel: np.ndarray,
    bias: np.ndarray,
    activation: ActivationFn,
    state_quantizer: ActivationFn | None = None,
) -> np.ndarray:
    """One SimpleRNN step on a batch: h = act((x W + b) + h U), as QSimpleRNNCell / SimpleRNNCell."""
    if state_quantizer is not None:
        h = state_quantizer(h)
    return activation((x @ kernel + bias) + h @ recurrent_kernel)


# --- layers and the classifier ----------------------------------------------------------------------


@dataclass(frozen=True)
class LayerWeights:
    kernel: np.ndarray  # (X, G*H)
    recurrent_kernel: np.ndarray  # (H, G*H)
    bias: np.ndarray  # (G*H,), or (2, 3H) for a reset_after GRU

    @property
    def units(self) -> int:
        return self.recurrent_kernel.shape[0]


@dataclass(frozen=True)
class LayerTrace:
    """Every step of one recurrent layer: h[:, t] and (LSTM) c[:, t] as the cell returns them, i.e.
    before the state quantizer, which the next step applies."""

    h: np.ndarray  # (N, T, H)
    c: np.ndarray | None  # (N, T, H) for LSTM, else None
    # a delta layer (codesign.delta): which entries of the input (N, T, X) and of q_state(h_{t-1})
    # (N, T, H) changed by more than the threshold at each step, i.e. were broadcast; else None
    input_changed: np.ndarray | None = None
    state_changed: np.ndarray | None = None


@dataclass(frozen=True)
class Trace:
    layers: list[LayerTrace]
    logits: np.ndarray  # (N, classes)


def _check_layer(cell: str, weights: LayerWeights, inputs: int, reset_after: bool) -> None:
    if cell not in CELLS:
        raise ValueError(f"unknown cell {cell!r} (known: {', '.join(CELLS)})")
    units, gates = weights.units, GATES[cell]
    expect = {
        "kernel": (inputs, gates * units),
        "recurrent_kernel": (units, gates * units),
        "bias": (2, 3 * units) if cell == "gru" and reset_after else (gates * units,),
    }
    for name, shape in expect.items():
        got = getattr(weights, name).shape
        if got != shape:
            raise ValueError(
                f"{cell} layer with {inputs} inputs and {units} units: {name} is {got}, expected {shape}"
            )


def trace_layer(
    cell: str,
    x_seq: np.ndarray,
    weights: LayerWeights,
    activation: ActivationFn,
    recurrent_activation: ActivationFn | None = None,
    reset_after: bool = True,
    state_quantizer: ActivationFn | None = None,
    delta: tuple[float, float] | None = None,
) -> LayerTrace:
    """Run one recurrent layer from zero state over x_seq (N, T, X) and keep every step.

    `delta` = (input threshold, h threshold) makes it a delta layer (codesign.delta): the cell reads the
    held input and the held q_state(h_{t-1}) in its matrix products (it needs a state quantizer)."""
    x_seq = np.asarray(x_seq)
    n, steps, inputs = x_seq.shape
    _check_layer(cell, weights, inputs, reset_after)
    if cell != "simple_rnn" and recurrent_activation is None:
        raise ValueError(f"a {cell} layer needs a recurrent_activation")
    dtype = np.result_type(x_seq, weights.kernel)
    if delta is not None and (cell == "simple_rnn" or state_quantizer is None):
        raise ValueError("a delta layer needs an lstm or gru cell and a state quantizer")
    h = np.zeros((n, weights.units), dtype)
    c = np.zeros_like(h)
    x_held, h_held = np.zeros((n, inputs), dtype), np.zeros_like(h)
    hs, cs, x_changed, h_changed = [], [], [], []
    w = (weights.kernel, weights.recurrent_kernel, weights.bias)
    for t in range(steps):
        x = x_seq[:, t]
        if delta is not None:
            x_held, changed = hold(x, x_held, delta[0])
            x_changed.append(changed)
            h_held, changed = hold(state_quantizer(h), h_held, delta[1])
            h_changed.append(changed)
            x = x_held
        if cell == "lstm":
            # h enters an LSTM step only through its matrix product: the held h stands in for it
            h_in = h if delta is None else h_held
            h, c = lstm_step(x, h_in, c, *w, activation, recurrent_activation, state_quantizer)
            cs.append(c)
        elif cell == "gru":
            held = None if delta is None else h_held
            h = gru_step(x, h, *w, activation, recurrent_activation, reset_after, state_quantizer, held)
        else:
            h = simple_rnn_step(x, h, *w, activation, state_quantizer)
        hs.append(h)
    return LayerTrace(
        np.stack(hs, axis=1),
        np.stack(cs, axis=1) if cs else None,
        np.stack(x_changed, axis=1) if x_changed else None,
        np.stack(h_changed, axis=1) if h_changed else None,
    )


def run_layer(
    cell: str,
    x_seq: np.ndarray,
    weights: LayerWeights,
    activation: ActivationFn,
    recurrent_activation: ActivationFn | None = None,
    reset_after: bool = True,
    state_quantizer: ActivationFn | None = None,
    return_sequences: bool = False,
) -> np.ndarray:
    """One recurrent layer over x_seq (N, T, X): h for every step (N, T, H) or the last one (N, H)."""
    h = trace_layer(cell, x_seq, weights, activation, recurrent_activation, reset_after, state_quantizer).h
    return h if return_sequences else h[:, -1]


@dataclass(frozen=True)
class ReferenceModel:
    """The spec's classifier (recurrent layers, then a dense head giving logits) in numpy."""

    cell: str
    layers: Sequence[LayerWeights]
    dense_kernel: np.ndarray  # (H_last, classes)
    dense_bias: np.ndarray  # (classes,)
    activation: ActivationFn
    recurrent_activation: ActivationFn | None
    reset_after: bool = True
    state_quantizer: ActivationFn | None = None
    dtype: type = np.float64
    input_quantizer: ActivationFn | None = None  # QKeras' input quantizer (spec precision.input)
    delta: tuple[float, float] | None = None  # (x, h) thresholds of a delta network (codesign.delta)

    @classmethod
    def from_keras(cls, spec: Spec, keras_model, quantized: bool, dtype: type = np.float64) -> ReferenceModel:
        """Weights of a model from `codesign.models.builders.build_model(spec, ...)` (layers `rnn1`..,
        `head`). `quantized=True` reproduces the QKeras model: the spec's weight quantizers, state
        quantizer and quantized activations; `quantized=False` reproduces the float twin."""
        p, m = spec.precision, spec.model

        def weight(w: np.ndarray, precision: Precision) -> np.ndarray:
            # QKeras casts latent weights to float32 before quantizing; grid values are exact in any dtype.
            w = np.asarray(w, np.float32)
            return (quantize(w, precision) if quantized else w).astype(dtype)

        layers = []
        # get_weights gives the latent weights; the QKeras layers quantize them on every call (QGRUCell
        # would use the *input* kernel as recurrent kernel if it had no recurrent quantizer, a QKeras
        # 0.9.0 bug that builders.build_model never triggers: it always sets one).
        for i in range(len(m.units)):
            layer = keras_model.get_layer(f"rnn{i + 1}")
            # a compressed layer that stores other tensors (block-circulant vectors) gives its dense view
            dense = getattr(layer, "dense_weights", layer.get_weights)
            kernel, recurrent_kernel, bias = dense()
            layers.append(
                LayerWeights(
                    weight(kernel, p.kernel),
                    weight(recurrent_kernel, p.recurrent_kernel),
                    weight(bias, p.bias),
                )
            )
        dense_kernel, dense_bias = keras_model.get_layer("head").get_weights()
        return cls(
            cell=m.cell,
            layers=tuple(layers),
            dense_kernel=weight(dense_kernel, p.dense_kernel),
            dense_bias=weight(dense_bias, p.dense_bias),
            activation=activation_fn(m.activation, "state", quantized),
            recurrent_activation=(
                None if m.cell == "simple_rnn" else activation_fn(m.recurrent_activation, "gate", quantized)
            ),
            reset_after=m.reset_after,
            state_quantizer=precision_fn(p.state) if quantized else None,
            dtype=dtype,
            input_quantizer=precision_fn(p.input) if quantized else None,
            delta=threshold_values(spec) if quantized and spec.delta is not None else None,
        )

    def trace(self, x: np.ndarray) -> Trace:
        """Every layer's per-step states and the logits for x (N, T, channels)."""
        h = np.asarray(x).astype(self.dtype, copy=False)
        if self.input_quantizer is not None:
            h = self.input_quantizer(h)
        traces = []
        for index, weights in enumerate(self.layers):
            # layer 0 reads x_t (threshold_x); a layer above reads the h_t below it (threshold_h)
            delta = (
                None
                if self.delta is None
                else (self.delta[0] if index == 0 else self.delta[1], self.delta[1])
            )
            layer = trace_layer(
                self.cell,
                h,
                weights,
                self.activation,
                self.recurrent_activation,
                self.reset_after,
                self.state_quantizer,
                delta,
            )
            traces.append(layer)
            h = layer.h
        # The head sees the last layer's final h as the cell returned it (QKeras quantizes it only on
        # the way into a next step, which never comes).
        logits = h[:, -1] @ self.dense_kernel + self.dense_bias
        return Trace(traces, logits)

    def logits(self, x: np.ndarray) -> np.ndarray:
        """(N, classes) logits for x (N, T, channels)."""
        return self.trace(x).logits
