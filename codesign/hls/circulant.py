"""hls4ml extension layer for `codesign.models.circulant.QCirculantLSTM`: block-circulant W_x, W_h stored as
their defining vectors only (one b-vector per b x b block: O(k) words instead of O(k^2)).

Through hls4ml's extension API (no site-packages patch): a layer class `CirculantLSTM` (a subclass of
hls4ml's LSTM, so the backend gives it the LSTM attributes, init_lstm and the RNN reuse factors), a Keras
handler for the QKeras layer (it reuses the project's QLSTM parser for activations and quantizers, then
replaces the weights by the quantized defining vectors), the project's exact-activation pass extended to
this class, config/function templates, and `hls/include/codesign_circulant.h`.

Block products go through `codesign.hls.fastconv`, an exact fast cyclic convolution (R = 5, 14, 41
multiplies per block for b = 4, 8, 16 instead of b^2), not through an FFT: an FFT needs complex twiddles
rounded to a finite width, an error no longer bounded by the quantizers, so the C-simulation would stop
equalling QKeras. The config carries the algorithm's addition programs and transform-domain types sized
from this model's weights and input type (`codesign.hls.circulant_kernel`), so it is exact.
"""

from __future__ import annotations

import numpy as np

from codesign.hls.circulant_kernel import circulant_layer
from codesign.hls.types import Fixed
from codesign.resources import HLS_INCLUDE_DIR

HEADER = HLS_INCLUDE_DIR / "codesign_circulant.h"
KERAS_CLASSES = ("QCirculantLSTM", "codesign>QCirculantLSTM")
LAYER = "CirculantLSTM"

_registered = False

_config_template = """struct config{index} {{
    typedef {accum_t.name} accum_t;
    typedef {weight_t.name} weight_t;
    typedef {recurrent_weight_t.name} recurrent_weight_t;
    typedef {bias_t.name} bias_t;
    typedef {recr_act_t} ACT_CONFIG_LSTM;
    template<class x_T, class y_T, class config_T>
    using activation_recr = nnet::activation::{recurrent_activation}<x_T, y_T, config_T>;
    typedef {act_t} ACT_CONFIG_T;
    template<class x_T, class y_T, class config_T>
    using activation = nnet::activation::{activation}<x_T, y_T, config_T>;
    static const unsigned n_in = {n_in};
    static const unsigned n_state = {n_state};
    static const unsigned n_sequence = {n_sequence};
    static const unsigned n_sequence_out = {n_sequence_out};
    static const unsigned block = {block};  // b: each b x b block is circulant
    static const unsigned n_in_blocks = {n_in_blocks};  // ceil(n_in / b): the input is zero-padded
    static const unsigned n_state_blocks = {n_state_blocks};
    static const unsigned n_gate_blocks = {n_gate_blocks};  // 4 n_state / b
    static const unsigned reuse_factor = {reuse};
    static const unsigned recurrent_reuse_factor = {recurrent_reuse_factor};
    typedef {fast} fast;  // the exact fast block product (fastconv.py, circulant_kernel.py)
    static const bool fast_input = {fast_input};  // x W_x by it (else b^2 direct multiplies per block)
    static const bool fast_recurrent = {fast_recurrent};
}};\n"""

_activation_template = """struct {type}_config{index}{suffix} : nnet::activ_config {{
    static const unsigned n_in = {n_in};
    static const unsigned table_size = {table_size};
    static const unsigned io_type = nnet::{iotype};
    static const unsigned reuse_factor = {reuse};
    typedef {table_t.name} table_t;{quant}
}};\n"""

_function_template = (
    "nnet::codesign_circulant_lstm_stack<{input_t}, {output_t}, {config}>({input}, {output}, {w}, {wr}, {b});"
)


def circulant_block(spec) -> int | None:
    """The block size b of a block-circulant spec (compression method circulant), else None."""
    c = spec.compression
    return c.block[0] if c is not None and c.method == "circulant" else None


def _fixed(precision) -> Fixed:
    """hls4ml's FixedPrecisionType as a signed `Fixed` (an unsigned type gets its sign bit)."""
    sign = 0 if precision.signed else 1
    return Fixed(precision.width + sign, precision.integer + sign)


def _layer_class():
    from hls4ml.model.layers import LSTM, Attribute

    class CirculantLSTM(LSTM):
        """LSTM whose weight / recurrent_weight are the flattened defining vectors (gate blocks, column
        blocks, b), row = gate output: W[i b + r, j b + c] = v[(i C + j) b + (r - c) mod b]."""

        _expected_attributes = [Attribute("block", value_type=int)]

        def initialize(self):
            # keras_to_hls splits an `activation` key of any non-RNN class into its own layer, so the
            # handler parks it under another name.
            self.set_attr("activation", self.get_attr("circulant_activation"))
            if self.get_attr("return_sequences"):
                shape = [self.get_attr("n_timesteps"), self.get_attr("n_out")]
            else:
                shape = [self.get_attr("n_out")]
            self.add_output_variable(shape)
            self.add_weights_variable(name="weight", var_name="w{index}")
            self.add_weights_variable(name="recurrent_weight", var_name="wr{index}")
            self.add_weights_variable(name="bias", var_name="b{index}")
            # hls4ml's LSTM declares a recurrent bias; Keras has none, and the kernel takes none
            self.add_weights_variable(name="recurrent_bias", var_name="br{index}", data=np.zeros(1))

    return CirculantLSTM


def _parse(keras_layer, input_names, input_shapes, data_reader):
    from qkeras.quantizers import get_quantizer

    from codesign.hls.extensions import parse_qrnn

    config = keras_layer["config"]
    if config.get("return_state") or config.get("go_backwards"):
        raise ValueError(f"{config['name']}: return_state / go_backwards are not supported for {LAYER}")
    # The QLSTM path gives activations, quantizers and the quantized bias; the kernels are not there.
    layer, output_shape = parse_qrnn(
        {**keras_layer, "class_name": "QLSTM"}, input_names, input_shapes, data_reader
    )
    b = int(config["block"])
    name = layer["name"]
    for data_key, var, quantizer_key in (
        ("weight_data", "kernel_vectors", "kernel_quantizer"),
        ("recurrent_weight_data", "recurrent_vectors", "recurrent_quantizer"),
    ):
        vectors = np.asarray(data_reader.get_weights_data(name, var), np.float32)
        quantizer = get_quantizer(config[quantizer_key]) if config.get(quantizer_key) else None
        if quantizer is not None:
            vectors = np.asarray(quantizer(vectors))
        layer[data_key] = np.asarray(vectors, np.float64).reshape(-1)
    layer["class_name"] = LAYER
    layer["block"] = b
    layer["circulant_activation"] = layer.pop("activation")
    return layer, output_shape


def _optimizer_pass():
    from codesign.hls.extensions import recurrent_pass

    class CodesignCirculant(recurrent_pass()):
        """The exact activations and recurrent reuse factor of `codesign_recurrent`, for CirculantLSTM."""

        def match(self, node):
            return (
                node.class_name == LAYER
                and node.get_attr("codesign_activations") is not None
                and not node.get_attr("codesign_done", False)
            )

    return CodesignCirculant


def _templates(layer_cls):
    from hls4ml.backends.template import FunctionCallTemplate, LayerConfigTemplate

    class CirculantConfig(LayerConfigTemplate):
        def __init__(self):
            super().__init__(layer_cls)
            self.name = "codesign_circulant_lstm_config_template"

        def format(self, node):
            if node.model.config.get_config_value("IOType") != "io_parallel":
                raise ValueError(f"{node.name}: {LAYER} is implemented for io_parallel only")
            params = self._default_config_params(node)
            n_in = int(node.get_input_variable().shape[-1])
            n_state = int(node.get_attr("n_out"))
            b = int(node.get_attr("block"))
            n_gate_blocks = 4 * n_state // b
            layer = circulant_layer(
                b,
                node.get_weights("weight").data.reshape(n_gate_blocks, -(-n_in // b), b),
                node.get_weights("recurrent_weight").data.reshape(n_gate_blocks, n_state // b, b),
                n_in,
                _fixed(node.get_input_variable().type.precision),
                Fixed.from_cpp(node.get_attr("codesign_state_t")),  # h_{t-1} as the kernel keeps it
                _fixed(node.get_weights("weight").type.precision),
                _fixed(node.get_weights("recurrent_weight").type.precision),
                node.model.config.get_layer_config(node).get("CirculantProduct", "auto"),
            )
            params["fast"] = f"config{node.index}_fast"
            params["fast_input"] = str(layer.input.fast).lower()
            params["fast_recurrent"] = str(layer.recurrent.fast).lower()
            structs = layer.fast_struct(params["fast"]) + "\n"
            params.update(
                n_in=n_in,
                n_state=n_state,
                n_sequence=int(node.get_input_variable().shape[0]),
                n_sequence_out=int(node.get_attr("n_timesteps")) if node.get_attr("return_sequences") else 1,
                block=b,
                n_in_blocks=-(-n_in // b),
                n_state_blocks=n_state // b,
                n_gate_blocks=4 * n_state // b,
                recurrent_reuse_factor=node.get_attr("recurrent_reuse_factor"),
                recr_act_t=f"{node.get_attr('recurrent_activation')}_config{node.index}_recr",
                act_t=f"{node.get_attr('activation')}_config{node.index}",
            )
            text = ""
            for key, suffix, n in (
                ("recurrent_activation", "_recr", 3 * n_state),
                ("activation", "", n_state),
            ):
                quant = node.get_attr(f"codesign_{key}_quant_t")
                act = self._default_config_params(node)
                act.update(
                    type=node.get_attr(key),
                    suffix=suffix,
                    n_in=n,
                    quant="" if quant is None else f"\n    typedef {quant} quant_t;",
                )
                text += _activation_template.format(**act) + "\n"
            from codesign.hls.extensions import add_kernel_config

            return text + structs + add_kernel_config(_config_template.format(**params), node)

    class CirculantFunction(FunctionCallTemplate):
        def __init__(self):
            super().__init__(layer_cls, include_header=[f"nnet_utils/{HEADER.name}"])
            self.name = "codesign_circulant_lstm_function_template"

        def format(self, node):
            params = self._default_function_params(node)
            params["w"] = node.get_weights("weight").name
            params["wr"] = node.get_weights("recurrent_weight").name
            params["b"] = node.get_weights("bias").name
            return _function_template.format(**params)

    return CirculantConfig, CirculantFunction


def register() -> None:
    """Install the layer, handler, pass, templates and header into hls4ml (idempotent, process-wide)."""
    global _registered
    if _registered:
        return
    import hls4ml  # noqa: F401
    from hls4ml.backends import get_backend
    from hls4ml.converters.keras_v2_to_hls import get_layer_handlers
    from hls4ml.model.layers import register_layer

    import codesign.models.circulant  # noqa: F401  (registers the Keras classes for model.to_json)

    layer_cls = _layer_class()
    register_layer(LAYER, layer_cls)
    handlers = get_layer_handlers()
    for name in KERAS_CLASSES:
        handlers[name] = _parse
    vivado = get_backend("Vivado")
    vivado.register_pass("codesign_circulant", _optimizer_pass(), flow="vivado:optimize")
    for template in _templates(layer_cls):
        vivado.register_template(template)
    for backend in ("Vivado", "Vitis"):
        get_backend(backend).register_source(HEADER)
    _registered = True
