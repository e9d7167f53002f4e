"""The hls4ml configuration of a spec's model: types from the QKeras quantizers and measured ranges.

No per-model tuning: every type follows from the spec, the trained weights and the training data.

- Weights and biases: the spec's quantizer, ap_fixed<bits, integer+1> (values are on its grid already).
- Input: `input_bits` wide (a project default, the one free choice: QKeras sees float inputs), with as
  many integer bits as the largest |x| of the training data needs; it rounds and saturates.
- State (the LSTM/GRU result type, where hls4ml keeps h and c): the state quantizer's type,
  ap_fixed<bits, integer+1, AP_RND_CONV, AP_SAT>, which is what QKeras applies to h and c at each step.
  Without a state quantizer: 18 bits, integer bits from the largest |c| / |h| measured on training data.
- Accumulators: exact. Fractional bits = the widest product (input or state frac + weight frac; a GRU
  also multiplies a sum by the reset gate), integer bits from a worst-case bound
  sum_i |w_ij| max|x_i| + sum_i |u_ij| max|h_i| + |b_j| over the trained weights, so no sum can overflow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from codesign.spec import Precision, Spec

DEFAULT_INPUT_BITS = 16
MIN_ACCUM_INTEGER = 4  # the gate activations' level boundaries reach |x| ~ 6.2 for 8 bits: keep range +-8


@dataclass(frozen=True)
class Fixed:
    """A signed fixed-point type: `width` bits, `integer` of them (sign included) before the point."""

    width: int
    integer: int
    rounding: str = "TRN"
    overflow: str = "WRAP"

    @property
    def frac(self) -> int:
        return self.width - self.integer

    def hls4ml(self) -> str:
        if (self.rounding, self.overflow) == ("TRN", "WRAP"):
            return f"fixed<{self.width},{self.integer}>"
        return f"fixed<{self.width},{self.integer},{self.rounding},{self.overflow}>"

    def cpp(self) -> str:
        return f"ap_fixed<{self.width},{self.integer},AP_{self.rounding},AP_{self.overflow}>"


def of_precision(p: Precision, rounding: str = "RND_CONV", overflow: str = "SAT") -> Fixed:
    return Fixed(p.bits, p.integer + 1, rounding, overflow)


def integer_bits_for(bound: float) -> int:
    """Integer bits (sign included) of a signed type holding [-bound, bound]."""
    return max(1, math.floor(math.log2(bound)) + 2) if bound > 0 else 1


def exact_accumulator(bound: float, frac: int, min_integer: int = 1) -> Fixed:
    integer = max(integer_bits_for(bound), min_integer)
    return Fixed(integer + frac, integer)


@dataclass(frozen=True)
class LayerTypes:
    name: str
    weight: Fixed
    recurrent_weight: Fixed | None
    bias: Fixed
    accum: Fixed
    result: Fixed
    input_bound: float


@dataclass(frozen=True)
class ModelTypes:
    input: Fixed
    layers: list[LayerTypes]
    head: LayerTypes
    # block-pruned recurrent kernels (spec compression.block): stored as non-zero blocks, see block_sparse.py
    block_sparse: tuple[int, int] | None = None


def state_type(spec: Spec, measured_bound: float) -> Fixed:
    if spec.precision.state is not None:
        return of_precision(spec.precision.state)
    integer = integer_bits_for(measured_bound)
    return Fixed(18, integer, "RND_CONV", "SAT")


def _gate_frac(spec: Spec) -> int:
    """Fractional bits of a gate/state activation's output (its quantizer grid; 0 for float ones)."""
    fracs = []
    for a, kind in ((spec.model.activation, "state"), (spec.model.recurrent_activation, "gate")):
        if a.bits is not None:
            fracs.append(a.bits - 1 if kind == "state" else a.bits)
        elif a.function.startswith("hard"):
            fracs.append(1)
    return max(fracs, default=0)


def choose_types(
    spec: Spec, reference, x_train: np.ndarray, input_bits: int = DEFAULT_INPUT_BITS
) -> ModelTypes:
    """Types for every layer from a quantized `codesign.reference.ReferenceModel` and the training data."""
    p = spec.precision
    x_bound = float(np.max(np.abs(x_train)))
    x_type = Fixed(input_bits, integer_bits_for(x_bound), "RND_CONV", "SAT")
    trace = reference.trace(x_train)
    layers = []
    in_type, in_bound = x_type, x_bound
    gate_frac = _gate_frac(spec)
    for i, (w, t) in enumerate(zip(reference.layers, trace.layers, strict=True)):
        measured = float(np.max(np.abs(t.h)))
        if t.c is not None:
            measured = max(measured, float(np.max(np.abs(t.c))))
        result = state_type(spec, measured)
        h_bound = 1.0  # h = o * act(c) (LSTM) or a convex mix of h and act(.) (GRU), act in [-1, 1]
        bias = np.abs(w.bias).reshape(-1, w.recurrent_kernel.shape[1]).sum(axis=0)
        bound = (
            np.abs(w.kernel).sum(axis=0) * in_bound + np.abs(w.recurrent_kernel).sum(axis=0) * h_bound + bias
        )
        frac = max(
            in_type.frac + of_precision(p.kernel).frac,
            result.frac + of_precision(p.recurrent_kernel).frac,
            of_precision(p.bias).frac,
            gate_frac,
        )
        if spec.model.cell == "lstm":
            frac = max(frac, result.frac + gate_frac)  # c_t = f c_{t-1} + i g, held exactly for tanh(c_t)
        if spec.model.cell == "gru":
            frac += gate_frac  # r * (h U_h + b_rh) stays in the accumulator type
        layers.append(
            LayerTypes(
                name=f"rnn{i + 1}",
                weight=of_precision(p.kernel),
                recurrent_weight=of_precision(p.recurrent_kernel),
                bias=of_precision(p.bias),
                accum=exact_accumulator(float(bound.max()), frac, MIN_ACCUM_INTEGER),
                result=result,
                input_bound=in_bound,
            )
        )
        in_type, in_bound = result, h_bound
    head_bound = np.abs(reference.dense_kernel).sum(axis=0) * in_bound + np.abs(reference.dense_bias)
    head_frac = max(in_type.frac + of_precision(p.dense_kernel).frac, of_precision(p.dense_bias).frac)
    accum = exact_accumulator(float(head_bound.max()), head_frac)
    head = LayerTypes(
        name="head",
        weight=of_precision(p.dense_kernel),
        recurrent_weight=None,
        bias=of_precision(p.dense_bias),
        accum=accum,
        result=accum,  # the logits, exactly
        input_bound=in_bound,
    )
    from codesign.hls.block_sparse import block_of

    return ModelTypes(input=x_type, layers=layers, head=head, block_sparse=block_of(spec))


def hls_config(
    types: ModelTypes,
    reuse_factor: int = 1,
    recurrent_reuse_factor: int | None = None,
    strategy: str = "Latency",
    circulant_product: str = "auto",
) -> dict:
    """The `hls_config` dict for `hls4ml.converters.convert_from_keras_model`."""
    layers: dict = {"x": {"Precision": {"result": types.input.hls4ml()}}}
    for t in types.layers:
        layers[t.name] = {
            "Precision": {
                "weight": t.weight.hls4ml(),
                "recurrent_weight": t.recurrent_weight.hls4ml(),
                "bias": t.bias.hls4ml(),
                "recurrent_bias": t.bias.hls4ml(),
                "accum": t.accum.hls4ml(),
                "result": t.result.hls4ml(),
            },
            "ReuseFactor": reuse_factor,
            "RecurrentReuseFactor": recurrent_reuse_factor or reuse_factor,
            "Strategy": strategy,
        }
        if types.block_sparse is not None:
            layers[t.name]["BlockSparse"] = "{}x{}".format(*types.block_sparse)
        layers[t.name]["CirculantProduct"] = circulant_product  # read by circulant layers only
    h = types.head
    layers["head"] = {
        "Precision": {
            "weight": h.weight.hls4ml(),
            "bias": h.bias.hls4ml(),
            "accum": h.accum.hls4ml(),
            "result": h.result.hls4ml(),
        },
        "ReuseFactor": reuse_factor,
        "Strategy": strategy,
    }
    # hls4ml appends a linear activation `head_linear` typed by the model default: keep the logits exact
    layers["head_linear"] = {"Precision": {"result": h.result.hls4ml()}}
    return {
        "Model": {"Precision": h.result.hls4ml(), "ReuseFactor": reuse_factor, "Strategy": strategy},
        "LayerName": layers,
    }
