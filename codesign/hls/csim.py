"""Convert a spec's QKeras model with hls4ml, compile it with g++ and C-simulate the whole test set.

The C-simulation is compared with QKeras on argmax (`agreement`) and with the float64 reference of the
quantized model (`codesign.reference`) on logits: where the types are exact (`ModelTypes.exact`, see
`codesign.hls.exact`) the logits are equal, bit for bit (`max_logit_error` 0). QKeras itself computes in
float32, so its logits differ from both by float32 rounding; argmax can differ only on a near-tie.
"""

from __future__ import annotations

import re
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from codesign.errors import CodesignError
from codesign.hls.config import choose_types, hls_config
from codesign.hls.types import ModelTypes
from codesign.spec import Spec

BACKENDS = {"vitis": "Vitis", "vivado": "Vivado"}
IO_TYPES = {"parallel": "io_parallel", "stream": "io_stream"}


def project_name(model_name: str) -> str:
    """The hls4ml project (= C++ top function) name of a model: `jvowels_lstm-block75` is no C++ name."""
    return re.sub(r"\W", "_", model_name)


@dataclass
class CsimResult:
    samples: int
    accuracy_keras: float
    accuracy_csim: float
    agreement: float
    logits_csim: np.ndarray
    logits_keras: np.ndarray
    max_logit_error: float  # vs the float64 reference of the quantized model
    mean_logit_error: float
    types: ModelTypes
    seconds: dict = field(default_factory=dict)
    hls_model: object = None


def convert(
    spec: Spec,
    keras_model,
    types: ModelTypes,
    output_dir: Path,
    backend: str = "vitis",
    io: str = "parallel",
    reuse_factor: int = 1,
    recurrent_reuse_factor: int | None = None,
    strategy: str = "Latency",
    part: str | None = None,
    circulant_product: str = "auto",
):
    """The hls4ml model (not yet written or compiled) with the project's extensions installed."""
    if backend not in BACKENDS:
        raise CodesignError(f"--backend: {backend!r} is not one of {', '.join(BACKENDS)}")
    if io not in IO_TYPES:
        raise CodesignError(f"--io: {io!r} is not one of {', '.join(IO_TYPES)}")
    if spec.model.cell == "simple_rnn":
        raise CodesignError(
            f"{spec.path}: model.cell: simple_rnn has no hls4ml QKeras path here (lstm or gru)"
        )
    import hls4ml

    from codesign.hls import registry

    registry.register()
    # hls4ml serialises QKeras quantizers through keras.constraints.serialize (model.to_json, the project
    # writer), which warns once per layer although the quantizer config it reads back is complete.
    warnings.filterwarnings(
        "ignore", message=r"The `keras\.constraints\.serialize\(\)` API", category=UserWarning
    )
    cfg = hls_config(types, reuse_factor, recurrent_reuse_factor, strategy, circulant_product)
    kwargs = {"part": part} if part else {}
    return hls4ml.converters.convert_from_keras_model(
        keras_model,
        hls_config=cfg,
        backend=BACKENDS[backend],
        io_type=IO_TYPES[io],
        output_dir=str(output_dir),
        project_name=project_name(spec.name),
        **kwargs,
    )


def run_csim(
    trained,
    output_dir: Path,
    backend: str = "vitis",
    io: str = "parallel",
    limit: int | None = None,
    reuse_factor: int = 1,
    recurrent_reuse_factor: int | None = None,
    log=print,
    circulant_product: str = "auto",
) -> CsimResult:
    """Types, conversion, g++ compile and C-simulation of `trained` (a `load_trained` result)."""
    from codesign.reference import ReferenceModel

    spec, ds, model = trained.spec, trained.dataset, trained.model
    x_test, y_test = ds.x_test[:limit], ds.y_test[:limit]
    seconds = {}
    start = time.perf_counter()
    reference = ReferenceModel.from_keras(spec, model, quantized=True)
    types = choose_types(spec, reference, ds.x_train)
    hls_model = convert(
        spec,
        model,
        types,
        output_dir,
        backend,
        io,
        reuse_factor,
        recurrent_reuse_factor,
        circulant_product=circulant_product,
    )
    seconds["convert"] = time.perf_counter() - start

    start = time.perf_counter()
    log(f"[hls] compiling {output_dir} with g++")
    hls_model.compile()
    seconds["compile"] = time.perf_counter() - start

    start = time.perf_counter()
    # float64 in and out: the logits' exact type is wider than float32's 24-bit significand (the inputs are
    # float32 data, so the conversion to the input type sees the same values QKeras does)
    logits_csim = np.asarray(hls_model.predict(np.ascontiguousarray(x_test, dtype=np.float64)), np.float64)
    logits_csim = logits_csim.reshape(len(x_test), -1)
    seconds["csim"] = time.perf_counter() - start

    logits_keras = np.asarray(model.predict(x_test, batch_size=512, verbose=0), np.float64)
    error = np.abs(logits_csim - reference.logits(x_test))
    return CsimResult(
        samples=len(y_test),
        accuracy_keras=float(np.mean(logits_keras.argmax(1) == y_test)),
        accuracy_csim=float(np.mean(logits_csim.argmax(1) == y_test)),
        agreement=float(np.mean(logits_csim.argmax(1) == logits_keras.argmax(1))),
        logits_csim=logits_csim,
        logits_keras=logits_keras,
        max_logit_error=float(error.max()),
        mean_logit_error=float(error.mean()),
        types=types,
        seconds=seconds,
        hls_model=hls_model,
    )
