"""ESE-style sparse-LSTM engine, Python side: types, encoder (model -> per-PE CSC images), bit-exact
golden model and cycle model. The contract with the RTL is docs/engine.md.

Typical use (the RTL testbench does the same from the image folder):

    image = load_image("build/rtl/jvowels_lstm")       # or encode(model_from_trained(spec, qkeras), cfg)
    trace = run_golden(image, x_test)                   # logits / h / c / z raws, every step
    report = predict_cycles(image, trace)               # cycles per step, utilization
"""

from codesign.engine.cycles import CycleParams, CycleReport, predict_cycles
from codesign.engine.encoder import (
    EngineConfig,
    EngineImage,
    EngineModel,
    LayerWeights,
    MatrixImage,
    activation_tables,
    csc_for_pe,
    decode_matrix,
    encode,
    engine_model_from_weights,
    gate_matrix,
    image_params,
    load_image,
    model_from_trained,
    table_index,
    write_image,
)
from codesign.engine.golden import (
    GoldenTrace,
    elementwise,
    matrix_vector_from_memory,
    quantize_input,
    run_golden,
    run_golden_from_memory,
)
from codesign.engine.synthetic import random_model
from codesign.engine.types import EngineTypes, accumulator_type, weight_type

__all__ = [
    "CycleParams",
    "CycleReport",
    "EngineConfig",
    "EngineImage",
    "EngineModel",
    "EngineTypes",
    "GoldenTrace",
    "LayerWeights",
    "MatrixImage",
    "accumulator_type",
    "activation_tables",
    "csc_for_pe",
    "decode_matrix",
    "elementwise",
    "encode",
    "engine_model_from_weights",
    "gate_matrix",
    "image_params",
    "load_image",
    "matrix_vector_from_memory",
    "model_from_trained",
    "predict_cycles",
    "quantize_input",
    "random_model",
    "run_golden",
    "run_golden_from_memory",
    "table_index",
    "weight_type",
    "write_image",
]
