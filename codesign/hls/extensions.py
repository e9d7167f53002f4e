"""What the project adds to hls4ml 1.3.0 for QKeras recurrent layers, through its public extension points.

hls4ml's QLSTM/QGRU path loses the QKeras model on the way (docs/hls.md has the measurements):

1. `LSTM.initialize` / `GRU.initialize` add their weights without the layer's quantizers (only `Dense`
   passes them), so the C++ multiplies by the *latent* float weights, not the quantized ones QKeras uses;
   the GRU's recurrent bias is not even typed by the bias quantizer.
2. The quantized activations are parsed into `activation_quantizer` attributes that nothing reads:
   `quantized_tanh(8)` becomes hls4ml's float tanh table, and the hard ones are refused outright.
3. The state quantizer lands in `accum_quantizer`, also unread; h and c live in the layer's result type.
4. The recurrent reuse factor is overwritten with the layer's.

The fix, without touching site-packages: a QLSTM/QGRU parser that wraps hls4ml's (quantizes the weights
with the layer's own QKeras quantizers, records the activation quantizers), an optimizer pass that maps
them to the exact activations of `hls/include/codesign_activations.h` and restores a separate recurrent reuse
factor, and config/function templates that add the quantizer's output type to the activation configs and
include the header. Types (state = state quantizer, exact accumulators) come from `codesign.hls.config`.
"""

from __future__ import annotations

import re

import numpy as np

from codesign.resources import HLS_INCLUDE_DIR

HEADER = HLS_INCLUDE_DIR / "codesign_activations.h"
RNN_CLASSES = ("QLSTM", "QGRU")

_registered = False


def activation_of(config) -> tuple[str, int | None]:
    """(function, bits) of a recurrent layer's (recurrent_)activation as Keras serialises it.

    function is tanh | sigmoid | hard_tanh | hard_sigmoid; bits is None for an unquantized one. A plain
    'hard_sigmoid' string is QKeras' clip(x/2 + 1/2, 0, 1) here: codesign builds hard activations from
    qkeras.quantizers, never Keras' slope-0.2 one.
    """
    if isinstance(config, dict) and config.get("class_name") == "function":
        config = config["config"]  # a plain function (QKeras' hard_tanh) serialises as its name
    if isinstance(config, str):
        name = config.rsplit(">", 1)[-1]
        if name not in ("tanh", "sigmoid", "hard_tanh", "hard_sigmoid"):
            raise ValueError(f"unsupported recurrent activation {config!r}")
        return name, None
    from qkeras.quantizers import get_quantizer

    quantizer = get_quantizer(config)
    kind = type(quantizer).__name__
    if kind == "quantized_tanh":
        return ("tanh" if quantizer.use_real_tanh else "hard_tanh"), int(quantizer.bits)
    if kind == "quantized_sigmoid":
        return ("sigmoid" if quantizer.use_real_sigmoid else "hard_sigmoid"), int(quantizer.bits)
    raise ValueError(f"unsupported recurrent activation quantizer {kind}")


def quant_type(function: str, bits: int | None) -> str | None:
    """The C++ type of a quantized activation's output grid (None: not quantized)."""
    if bits is None:
        return None
    if function in ("tanh", "hard_tanh"):  # round(p 2^(b-1)) / 2^(b-1), clipped to [-1, 1 - 2^(1-b)]
        return f"ap_fixed<{bits},1,AP_RND_CONV,AP_SAT>"
    return f"ap_ufixed<{bits},0,AP_RND_CONV,AP_SAT>"  # round(p 2^b) / 2^b, clipped to [0, 1 - 2^-b]


def parse_qrnn(keras_layer, input_names, input_shapes, data_reader):
    from hls4ml.converters.keras.qkeras import parse_qrnn_layer

    config = dict(keras_layer["config"])
    activations = {}
    for key in ("activation", "recurrent_activation"):
        if key in config:
            function, bits = activation_of(config[key])
            activations[key] = (function, bits)
            # hls4ml's parser asserts on hard activations; it gets the plain name, this pass the rest
            config[key] = function if function in ("tanh", "sigmoid") else "linear"
    layer, output_shape = parse_qrnn_layer(
        {**keras_layer, "config": config}, input_names, input_shapes, data_reader
    )
    if layer.get("apply_reset_gate") == "before":
        # hls4ml splits the bias as if it were (2, 3H); a reset-before GRU has one (3H,) input-side bias
        from hls4ml.converters.keras_v2_to_hls import get_weights_data

        bias = np.asarray(get_weights_data(data_reader, layer["name"], "bias"))
        layer["bias_data"], layer["recurrent_bias_data"] = bias, np.zeros_like(bias)
    # QKeras multiplies by quantizer(latent weight); hls4ml's RNN layers would use the latent weight.
    for data_key, quantizer_key in (
        ("weight_data", "weight_quantizer"),
        ("recurrent_weight_data", "recurrent_weight_quantizer"),
        ("bias_data", "bias_quantizer"),
        ("recurrent_bias_data", "bias_quantizer"),  # a GRU's (2, 3H) bias is one QKeras tensor
    ):
        quantizer = layer.get(quantizer_key)
        if quantizer is not None and layer.get(data_key) is not None:
            layer[data_key] = np.asarray(quantizer(np.asarray(layer[data_key], np.float32)), np.float64)
    layer["codesign_activations"] = activations
    return layer, output_shape


def recurrent_pass():
    from hls4ml.model.optimizer import OptimizerPass

    class CodesignRecurrent(OptimizerPass):
        """Exact quantized/hard activations and a recurrent reuse factor of its own for LSTM/GRU nodes."""

        def match(self, node):
            return (
                node.class_name in ("LSTM", "GRU")
                and node.get_attr("codesign_activations") is not None
                and not node.get_attr("codesign_done", False)
            )

        def transform(self, model, node):
            layer_config = model.config.get_layer_config(node)
            if "CodesignState" not in layer_config:
                raise ValueError(f"{node.name}: no CodesignState type; convert through codesign.hls.csim")
            # where the kernel keeps h_{t-1} and c_{t-1}: the state quantizer's type (config.py)
            node.set_attr("codesign_state_t", layer_config["CodesignState"])
            for key, (function, bits) in node.get_attr("codesign_activations").items():
                if bits is None and function in ("tanh", "sigmoid"):
                    node.set_attr(key, function)  # hls4ml's own table
                    continue
                node.set_attr(key, f"codesign_{function}")
                # an unquantized hard activation is exact on the accumulator's grid (config.py)
                quant = quant_type(function, bits) or layer_config["CodesignHardQuant"]
                node.set_attr(f"codesign_{key}_quant_t", quant)
            if "RecurrentReuseFactor" in layer_config:
                node.set_attr("recurrent_reuse_factor", int(layer_config["RecurrentReuseFactor"]))
            node.set_attr("codesign_done", True)
            return False

    return CodesignRecurrent


def recurrent_templates():
    from hls4ml.backends.vivado.passes.recurrent_templates import (
        RecurrentConfigTemplate,
        RecurrentFunctionTemplate,
        recr_include_list,
    )

    class CodesignRecurrentConfig(RecurrentConfigTemplate):
        """hls4ml's LSTM/GRU config plus `quant_t` (the quantizer's output type) in each activation config."""

        def __init__(self):
            super().__init__()
            self.name = "codesign_recurrent_config_template"

        def format(self, node):
            text = add_kernel_config(super().format(node), node)
            for key, suffix in (("activation", ""), ("recurrent_activation", "_recr")):
                quant = node.get_attr(f"codesign_{key}_quant_t")
                if quant is None:
                    continue
                head = f"struct {node.get_attr(key)}_config{node.index}{suffix} : nnet::activ_config {{\n"
                if head not in text:
                    raise RuntimeError(
                        f"{node.name}: activation config {head.strip()!r} not in hls4ml's template"
                    )
                text = text.replace(head, f"{head}    typedef {quant} quant_t;\n", 1)
            return text

    class CodesignRecurrentFunction(RecurrentFunctionTemplate):
        """hls4ml's LSTM/GRU call, with the project's activation header included."""

        def __init__(self):
            super().__init__()
            self.name = "codesign_recurrent_function_template"
            self.include_header = [*recr_include_list, f"nnet_utils/{HEADER.name}"]

        def format(self, node):
            text = super().format(node)
            if node.get_attr("pass_initial_states", False):
                raise ValueError(f"{node.name}: initial states are not supported")
            # The project's stacks keep h_{t-1}, c_{t-1} in state_t and output the exact h_t (hls4ml's
            # keep both in the output type, which rounds the next layer's input).
            for cell in ("lstm", "gru"):
                text = text.replace(f"nnet::{cell}_stack<", f"nnet::codesign_{cell}_stack<", 1)
            return text

    return CodesignRecurrentConfig, CodesignRecurrentFunction


def add_kernel_config(text: str, node) -> str:
    """A recurrent layer's config struct with what the project's kernels read: `state_t` (the type of the
    state kept between steps) and, for a GRU, where its reset gate applies and how the weights are laid out
    (hls4ml transposes them for the Resource strategy)."""
    head = re.search(rf"struct config{node.index}(?: : [\w:]+)? \{{\n", text)
    if head is None:
        raise RuntimeError(f"{node.name}: layer config struct config{node.index} not in the template")
    lines = f"    typedef {node.get_attr('codesign_state_t')} state_t;\n"
    if node.class_name == "GRU":
        reset_after = node.get_attr("apply_reset_gate", "after") == "after"
        transposed = node.get_attr("strategy", "").lower() in ("resource", "resource_unrolled")
        lines += f"    static const bool reset_after = {str(reset_after).lower()};\n"
        lines += f"    static const bool weights_transposed = {str(transposed).lower()};\n"
    return text[: head.end()] + lines + text[head.end() :]


def register() -> None:
    """Install the parser, pass, templates and header into hls4ml (idempotent, process-wide). The layers
    built on these (block-sparse, circulant) install theirs after it: `codesign.hls.registry.register`.

    Templates go to the Vivado backend: Vitis runs `vivado:apply_templates` after its own, and ours,
    registered last, format last. The pass joins `vivado:optimize` (after init_layers, which overwrites
    the recurrent reuse factor; before the type and template flows).
    """
    global _registered
    if _registered:
        return
    import hls4ml  # noqa: F401  (registers the backends and handlers first)
    from hls4ml.backends import get_backend
    from hls4ml.converters.keras_v2_to_hls import get_layer_handlers

    handlers = get_layer_handlers()
    for name in RNN_CLASSES:
        # hls4ml's registry refuses a second handler for a class name; replacing the entry is the only way
        handlers[name] = parse_qrnn
    vivado = get_backend("Vivado")
    vivado.register_pass("codesign_recurrent", recurrent_pass(), flow="vivado:optimize")
    for template in recurrent_templates():
        vivado.register_template(template)
    for backend in ("Vivado", "Vitis"):
        get_backend(backend).register_source(HEADER)
    _registered = True


def activation_struct_names(text: str) -> list[str]:
    """Names of the activation config structs in a generated parameters.h (for tests and reports)."""
    return re.findall(r"struct (\w+) : nnet::activ_config", text)
