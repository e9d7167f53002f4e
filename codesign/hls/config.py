"""The hls4ml configuration of a spec's model: every type derived from the spec, so C-simulation is exact.

No per-model tuning and no measurement: each type follows from the spec's precisions, the quantized
weights (for worst-case bounds) and the sequence length. `codesign.hls.exact` derives them: a value's
type is the fraction of its grid and the worst case of its magnitude, propagated through the cell's
arithmetic exactly as QKeras (and `codesign.reference`, the float64 root) computes it.

- Input: the spec's `precision.input`, QKeras' input quantizer (round half to even, saturate).
- Weights and biases: the spec's quantizer, ap_fixed<bits, integer+1> (values are on its grid already).
- State (`state_t`, where the kernel keeps h_{t-1} and c_{t-1} between steps): the state quantizer's type,
  applied where QKeras applies it, when the next step reads them. Without a state quantizer: the exact
  type of h and c after the sequence's last step (their grids grow by the gate's fraction every step).
- Result (the layer's output sequence, the next layer's input, the head's input): the exact h_t, which
  QKeras does not quantize.
- Accumulators: exact for every value the cell keeps in them (pre-activations, gates, c_t, tanh(c_t), and
  a GRU's r * (h U_h + b_rh)).

Where exactness is impossible (unquantized real sigmoid/tanh: hls4ml's tables; no state quantizer with
grids that outgrow MAX_EXACT_WIDTH), `ModelTypes.exact` is False with the reason, and the types fall back
to bounded ones (docs/hls.md gives the error bound).
"""

from __future__ import annotations

import numpy as np

from codesign.hls.block_sparse import block_of
from codesign.hls.exact import derive_types
from codesign.hls.types import Fixed, ModelTypes
from codesign.spec import Spec


def choose_types(spec: Spec, reference, x_train: np.ndarray) -> ModelTypes:
    """Types for every layer from a quantized `codesign.reference.ReferenceModel` (its weights bound the
    accumulators) and the sequence length of the data (`x_train` (N, T, X): only T is read)."""
    return derive_types(spec, reference, timesteps=int(np.shape(x_train)[1]), block_sparse=block_of(spec))


def hls_config(
    types: ModelTypes,
    reuse_factor: int = 1,
    recurrent_reuse_factor: int | None = None,
    strategy: str = "Latency",
    circulant_product: str = "auto",
) -> dict:
    """The `hls_config` dict for `hls4ml.converters.convert_from_keras_model`."""
    from codesign.models import INPUT_QUANTIZER

    # The input quantizer's layer gets the input's own type: hls4ml then drops it as an identity.
    x = {"Precision": {"result": types.input.hls4ml()}}
    layers: dict = {"x": x, INPUT_QUANTIZER: x}
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
        # read by the project's recurrent templates (extensions.py): where h_{t-1} and c_{t-1} are kept
        layers[t.name]["CodesignState"] = t.state.cpp()
        # unquantized hard activations: their exact outputs on the accumulator's grid
        layers[t.name]["CodesignHardQuant"] = Fixed(t.accum.frac + 2, 2, "RND_CONV", "SAT").cpp()
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
