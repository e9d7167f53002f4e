"""Block-circulant compression: project a trained dense LSTM onto block-circulant W_x, W_h, then QAT
fine-tune in circulant form (C-LSTM / E-RNN), and write models/<base>-circulant<b>/.

The projection (least squares over the real, unpadded entries) is `codesign.circulant.circulant_vectors`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import yaml

from codesign.circulant import check_block, circulant_weights
from codesign.compress.spec_text import compressed_spec_text
from codesign.errors import CodesignError
from codesign.spec import Spec, load_spec, parse_spec

FLOAT_BITS = 32


def variant_name(b: int, weight_bits: int | None = None) -> str:
    return f"circulant{b}" + (f"-w{weight_bits}" if weight_bits is not None else "")


def _spec_text(spec: Spec, b: int, weight_bits: int | None) -> str:
    compression = {"method": "circulant", "sparsity": 0.0, "block": [b, b], "base": spec.folder.name}
    text = compressed_spec_text(spec, compression)
    if weight_bits is None:
        return text
    data = yaml.safe_load(text)
    for field in ("kernel", "recurrent_kernel"):
        data["precision"][field]["bits"] = weight_bits
    header = (
        f"# Written by codesign compress from {spec.folder.name}: the base spec plus `compression`, "
        f"W_x / W_h at {weight_bits} bits.\n"
    )
    return header + yaml.safe_dump(data, sort_keys=False, default_flow_style=None)


def _storage_bits(spec: Spec, model, bits: int | None = None) -> dict:
    """Bits of what the hardware stores: each tensor at its precision (`bits` overrides it, e.g. 32 for
    a float model); for a circulant layer that is its defining vectors."""
    from codesign.models.builders import weight_precisions

    tensors = [(n, w.size * (bits or p.bits)) for n, w, p in weight_precisions(spec, model)]
    recurrent = sum(size for n, size in tensors if n.split(".")[1] in ("kernel", "recurrent_kernel"))
    return {"recurrent_weights": int(recurrent), "total": int(sum(size for _, size in tensors))}


def _projected(dense_model, spec: Spec, b: int) -> list[np.ndarray]:
    """The dense model's weights with each recurrent layer's kernels replaced by their defining vectors."""
    weights = []
    for i in range(len(spec.model.units)):
        kernel, recurrent, bias = dense_model.get_layer(f"rnn{i + 1}").get_weights()
        weights += [*circulant_weights(kernel, recurrent, b), bias]
    return weights + dense_model.get_layer("head").get_weights()


@dataclass(frozen=True)
class CirculantFits:
    """What the fits of a circulant compression measured (test accuracy unless named _val)."""

    projected: float  # the quantized projection, before QAT
    projected_val: float
    float_accuracy: float | None  # the float circulant model before QAT (None: float_first off)
    float_epochs: int
    qat_epochs: int


def compress_circulant(
    spec: Spec,
    block: tuple[int, int],
    name: str | None = None,
    weight_bits: int | None = None,
    epochs: int | None = None,
    float_first: bool = False,
    progress: bool = True,
    log: Callable[[str], None] = print,
) -> Spec:
    """Project the trained model `spec` describes onto b x b block-circulant W_x, W_h, QAT fine-tune it in
    that form (the spec's QAT settings, early-stopped; `epochs` caps each fit instead of the spec's epochs
    and qat_epochs), write the new folder. QAT starts from the projection of the base's QKeras weights, or,
    with `float_first`, from a float circulant model fitted first from the projected float baseline (off
    by default: docs/architecture.md has the comparison).

    `weight_bits` re-quantizes W_x / W_h to that many bits (integer bits unchanged). Returns the new Spec.
    """
    b, name = check_circulant_options(spec, block, name, weight_bits)
    target = spec.folder.parent / name
    text = _spec_text(spec, b, weight_bits)
    new_spec = parse_spec(yaml.safe_load(text), str(target / "spec.yml"), target / "spec.yml")

    from codesign.models.train import accuracy, load_trained

    base = load_trained(spec)
    ds = base.dataset
    float_epochs, float_accuracy = 0, None
    if float_first:
        start, float_epochs, float_accuracy = _float_circulant(
            spec, new_spec, base, b, name, epochs, progress
        )
    else:
        start = _projected(base.model, spec, b)
    model = _quantized_circulant(spec, new_spec, ds, start)
    projected = accuracy(model, ds.x_test, ds.y_test)
    projected_val = accuracy(model, ds.x_val, ds.y_val)
    log(
        f"[compress] circulant b={b} projection of {spec.name}"
        + (" (float fine-tuned)" if float_first else "")
        + f": test accuracy {projected:.4f} before QAT -> {target}"
    )
    qat_epochs = _qat(model, new_spec, ds, epochs, name, progress)
    fits = CirculantFits(projected, projected_val, float_accuracy, float_epochs, qat_epochs)
    return _write_circulant(
        spec, new_spec, base, model, block=b, weight_bits=weight_bits, fits=fits, text=text
    )


def check_circulant_options(
    spec: Spec, block: tuple[int, int], name: str | None, weight_bits: int | None
) -> tuple[int, str]:
    """(b, the new model's name) once the base, the block, the name and the weight bits are usable."""
    if spec.model.cell != "lstm":
        raise CodesignError(
            f"{spec.path}: model.cell: {spec.model.cell!r}: circulant compression is LSTM only"
        )
    if spec.compression is not None:
        raise CodesignError(
            f"{spec.path}: compression: the base of a circulant projection must be a dense model"
        )
    if block is None or len(tuple(block)) != 2 or block[0] != block[1]:
        shown = "x".join(map(str, block)) if isinstance(block, (tuple, list)) else repr(block)
        raise CodesignError(f"--block {shown}: circulant blocks are square (BxB, e.g. 8x8)")
    b = int(block[0])
    for units in spec.model.units:
        check_block(b, units, "--block")
    if weight_bits is not None and (isinstance(weight_bits, bool) or not 2 <= int(weight_bits) <= 16):
        raise CodesignError(f"weight_bits: {weight_bits!r} is not an integer in [2, 16]")
    name = name or f"{spec.name}-{variant_name(b, weight_bits)}"
    if not isinstance(name, str) or not name.replace("-", "_").isidentifier() or name == spec.folder.name:
        raise CodesignError(f"--name {name!r} is not a usable new model name")
    return b, name


def _float_circulant(spec: Spec, new_spec: Spec, base, b: int, *, name: str, epochs, progress: bool):
    """(weights, epochs, test accuracy) of the float circulant model fitted from the projected float
    baseline: as training does for the dense model, float first, then QAT from it."""
    from codesign.models.builders import build_model
    from codesign.models.train import accuracy, fit_early_stopped, set_seed

    ds, t = base.dataset, new_spec.training
    set_seed(spec.training.seed + 2)
    float_model = build_model(new_spec, ds.length, ds.channels, ds.num_classes, quantized=False)
    float_model.set_weights(_projected(base.float_model, spec, b))
    float_epochs = fit_early_stopped(
        float_model, ds, new_spec, t.learning_rate, epochs or t.epochs, f"{name} float", progress
    )
    return float_model.get_weights(), float_epochs, accuracy(float_model, ds.x_test, ds.y_test)


def _quantized_circulant(spec: Spec, new_spec: Spec, ds, start: list[np.ndarray]):
    """The QKeras circulant model from `start`, each latent weight clipped into its quantizer's range."""
    from codesign.models.builders import build_model, weight_precisions
    from codesign.models.train import set_seed

    set_seed(spec.training.seed + 3)
    model = build_model(new_spec, ds.length, ds.channels, ds.num_classes, quantized=True)
    model.set_weights(
        [
            np.clip(w, q.min_value, q.max_value)
            for (_, _, q), w in zip(weight_precisions(new_spec, model), start, strict=True)
        ]
    )
    return model


def _qat(model, new_spec: Spec, ds, epochs: int | None, name: str, progress: bool) -> int:
    """QAT fine-tuning in circulant form (early-stopped; `epochs` caps it); returns the epochs run."""
    import dataclasses

    from codesign.models.train import fit_early_stopped

    t = new_spec.training
    fit_spec = dataclasses.replace(
        new_spec, training=dataclasses.replace(t, qat_epochs=epochs or t.qat_epochs)
    )
    return fit_early_stopped(
        model, ds, fit_spec, t.qat_learning_rate, fit_spec.training.qat_epochs, f"{name} QAT", progress
    )


def _write_circulant(
    spec: Spec,
    new_spec: Spec,
    base,
    model,
    *,
    block: int,
    weight_bits: int | None,
    fits: CirculantFits,
    text: str,
) -> Spec:
    """The circulant model's folder beside its base's: weights, float twin, metrics.json, spec.yml."""
    from codesign.models.builders import build_model
    from codesign.models.folder import write_model_folder
    from codesign.models.train import accuracy, model_metrics

    ds = base.dataset
    name = new_spec.folder.name
    # The float twin carries the fine-tuned latent weights (as codesign.compress.stage does for pruning).
    float_model = build_model(new_spec, ds.length, ds.channels, ds.num_classes, quantized=False)
    float_model.set_weights(model.get_weights())
    base_float_bits = int(base.float_model.count_params()) * FLOAT_BITS
    storage = _storage_bits(new_spec, model)
    base_storage = _storage_bits(spec, base.model)
    common = model_metrics(name, spec, float_model, model, ds)
    metrics = {
        **common,
        "accuracy": {
            **common["accuracy"],
            "float_before_qat": fits.float_accuracy,  # the float circulant model, before QAT (None: not run)
            "projected": fits.projected,
            "projected_val": fits.projected_val,
        },
        "params": int(model.count_params()),
        "size_bytes": {"float": int(model.count_params()) * 4, "quantized": storage["total"] / 8},
        "storage_bits": storage,
        "memory_savings": {
            "vs_float_model": base_float_bits / storage["total"],
            "recurrent_vs_base_quantized": base_storage["recurrent_weights"] / storage["recurrent_weights"],
            "recurrent_vs_float": _storage_bits(spec, base.float_model, FLOAT_BITS)["recurrent_weights"]
            / storage["recurrent_weights"],
        },
        "compression": {"method": "circulant", "block": [block, block], "weight_bits": weight_bits},
        "base": {
            "name": spec.name,
            "params": int(base.model.count_params()),
            "accuracy": {
                "float": accuracy(base.float_model, ds.x_test, ds.y_test),
                "quantized": accuracy(base.model, ds.x_test, ds.y_test),
            },
            "storage_bits": base_storage,
            "float_bits": base_float_bits,
        },
        "samples": {"train": len(ds.y_train), "val": len(ds.y_val), "test": len(ds.y_test)},
        "epochs": {"float": fits.float_epochs, "qat": fits.qat_epochs},
        "projection": "least squares: mean of each block's wrapped diagonal over the real (unpadded) entries",
        "seed": spec.training.seed,
    }
    target = spec.folder.parent / name
    return load_spec(write_model_folder(target, metrics, model, float_model, spec_text=text))


def print_circulant_table(metrics: dict, out=print) -> None:
    base, c = metrics["base"], metrics["compression"]
    out(f"{metrics['name']}: block-circulant b={c['block'][0]} projection of {base['name']}, QAT fine-tuned")
    out(f"  {'model':<28} {'params':>6} {'weight bits':>11} {'float':>7} {'quantized':>9}")
    for label, m, bits in (
        (base["name"], base, base["storage_bits"]["total"]),
        (metrics["name"], metrics, metrics["storage_bits"]["total"]),
    ):
        acc = m["accuracy"]
        out(f"  {label:<28} {m['params']:>6} {bits:>11} {acc['float']:>7.4f} {acc['quantized']:>9.4f}")
    s = metrics["memory_savings"]
    out(
        f"  memory savings: {s['vs_float_model']:.1f}x vs the float model, recurrent weights "
        f"{s['recurrent_vs_base_quantized']:.2f}x vs the dense quantized model"
    )
