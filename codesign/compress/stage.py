"""`compress(spec, ...)`: a trained model -> a pruned, QAT-fine-tuned model in its own folder.

The new folder `models/<base>-<variant>/` is a complete model folder (spec.yml, weights.h5,
float.weights.h5, metrics.json), so `load_trained` and every later stage use it like any other model.
"""

from __future__ import annotations

from collections.abc import Callable

from codesign.compress.pruning import PRUNING_METHODS, check_block, check_sparsity
from codesign.compress.spec_text import compressed_spec_text
from codesign.errors import CodesignError
from codesign.options import check_pes
from codesign.spec import Spec, load_spec

# What a spec can record (compression.sparsity is validated to [0, 0.999]).
MAX_SPARSITY = 0.999


def variant_name(method: str, sparsity: float, block: tuple[int, int] | None = None) -> str:
    """e.g. balanced90, magnitude87p5, block90-4x4: the suffix of the compressed model's folder."""
    percent = f"{round(sparsity * 100, 4):g}".replace(".", "p")
    suffix = f"-{block[0]}x{block[1]}" if block is not None else ""
    return f"{method}{percent}{suffix}"


def check_options(
    spec: Spec,
    method: str,
    sparsity: float,
    num_pe: int | None,
    block: tuple[int, int] | None,
    name: str | None,
) -> tuple[float, str]:
    """Validate what the user asked for before anything slow runs; returns (sparsity, new model name).

    Errors name the command-line option (`--pes 0`), which is how most users asked for the value."""
    if method not in PRUNING_METHODS:
        raise CodesignError(f"--method {method!r} is not one of {', '.join(PRUNING_METHODS)}")
    sparsity = check_sparsity(sparsity, "--sparsity")
    if sparsity > MAX_SPARSITY:
        raise CodesignError(f"--sparsity {sparsity} is above {MAX_SPARSITY}, the most a spec records")
    if num_pe is not None:
        check_pes(num_pe)
    if method == "balanced" and num_pe is None:
        raise CodesignError("--pes: balanced pruning needs the number of PEs it balances for")
    if method == "block" and block is None:
        raise CodesignError("--block: block pruning needs a block shape (--block RxC)")
    if method != "block" and block is not None:
        raise CodesignError(f"--block {block[0]}x{block[1]}: only block pruning uses it, not {method}")
    if block is not None:
        check_block(block, (0, 0), "--block")  # type and positivity; divisibility is checked on the shapes
    if name is None:
        name = f"{spec.name}-{variant_name(method, sparsity, block)}"
    if not isinstance(name, str) or not name.replace("-", "_").isidentifier():
        raise CodesignError(f"--name {name!r} is not a usable model name (letters, digits, _ and -)")
    if name == spec.folder.name:
        raise CodesignError(f"--name {name!r} is the base model's own folder; pick another name")
    return sparsity, name


def compress(
    spec: Spec,
    method: str,
    sparsity: float | None = None,
    *,
    num_pe: int | None = None,
    block: tuple[int, int] | None = None,
    name: str | None = None,
    schedule=None,
    final_epochs: int | None = None,
    progress: bool = True,
    log: Callable[[str], None] = print,
) -> Spec:
    """Prune the recurrent layers of the trained model `spec` describes, fine-tune, write a new folder.

    `schedule` is a `PruningSchedule` (default: 16 steps of 4 epochs from sparsity 0); `final_epochs`
    bounds the fine-tuning with the mask fixed (default: the spec's qat_epochs, early-stopped).
    Returns the new model's Spec, loaded from the folder just written.
    """
    block = None if block is None else tuple(block)
    if method == "circulant":
        # Not pruning: projection onto block-circulant W_x, W_h, then QAT fine-tuning in that form.
        from codesign.compress.circulant import compress_circulant

        return compress_circulant(spec, block, name, epochs=final_epochs, progress=progress, log=log)
    sparsity, name = check_options(spec, method, sparsity, num_pe, block, name)
    target = spec.folder.parent / name

    from codesign.compress.finetune import PruningSchedule, prune_and_finetune
    from codesign.models.train import accuracy, load_trained

    schedule = schedule or PruningSchedule()
    base = load_trained(spec)
    ds, model = base.dataset, base.model
    if block is not None:
        check_block_divides(model, block)
    before = {
        "name": spec.name,
        "accuracy": {
            "float": accuracy(base.float_model, ds.x_test, ds.y_test),
            "quantized": accuracy(model, ds.x_test, ds.y_test),
        },
        **{
            k: v
            for k, v in stored_sparsity(spec, model, num_pe).items()
            if k in ("sparsity", "nnz", "weights", "nnz_per_pe")
        },
    }
    what = f"{method} pruning of {spec.name} to sparsity {sparsity}"
    log(f"[compress] {what}" + (f" ({num_pe} PEs)" if num_pe else "") + f" -> {target}")
    result = prune_and_finetune(
        spec,
        model,
        ds,
        method,
        sparsity,
        num_pe=num_pe,
        block=block,
        schedule=schedule,
        final_epochs=final_epochs,
        progress=progress,
        log=log,
    )
    compression = {"method": method, "sparsity": sparsity, "num_pe": num_pe, "block": block}
    return write_pruned(
        spec, name, model, ds, compression=compression, schedule=schedule, result=result, before=before
    )


def check_block_divides(model, block: tuple[int, int]) -> None:
    """Every recurrent layer's gate matrix W = [W_x W_h] tiles into whole blocks, else a CodesignError."""
    for layer in model.layers:
        if layer.name.startswith("rnn"):
            kernel, recurrent = layer.cell.kernel.shape, layer.cell.recurrent_kernel.shape
            rows, cols = int(kernel[1]), int(kernel[0] + recurrent[0])
            if rows % block[0] or cols % block[1]:
                raise CodesignError(
                    f"--block {block[0]}x{block[1]} does not divide the {rows}x{cols} gate matrix "
                    f"W = [W_x W_h] of {layer.name} into whole blocks"
                )


def stored_sparsity(spec: Spec, model, num_pe: int | None) -> dict:
    """Sparsity, non-zeros (per PE with `num_pe`) of the recurrent kernels as stored (quantized)."""
    from codesign.compress.metrics import sparsity_report

    layers = {
        layer.name: (layer.cell.kernel.numpy(), layer.cell.recurrent_kernel.numpy())
        for layer in model.layers
        if layer.name.startswith("rnn")
    }
    return sparsity_report(layers, spec.precision.kernel, spec.precision.recurrent_kernel, num_pe)


def write_pruned(
    spec: Spec, name: str, model, ds, *, compression: dict, schedule, result, before: dict
) -> Spec:
    """The pruned model's folder (weights, float twin, metrics.json, spec.yml) beside its base's."""
    from codesign.models.builders import build_model
    from codesign.models.folder import write_model_folder
    from codesign.models.train import model_metrics

    num_pe, block = compression["num_pe"], compression["block"]
    # The float twin carries the pruned latent weights (unquantized): every file in the folder describes
    # this model. The unpruned float baseline stays in its own folder and in metrics.json's `base`.
    float_model = build_model(spec, ds.length, ds.channels, ds.num_classes, quantized=False)
    float_model.set_weights(model.get_weights())

    report = stored_sparsity(spec, model, num_pe)
    metrics = {
        # size_bytes is the dense storage, as train counts it (no index words)
        **model_metrics(name, spec, float_model, model, ds),
        "sparsity": report["sparsity"],  # over the recurrent layers' kernels + recurrent kernels, stored
        "nnz": report["nnz"],
        "pruned_weights": report["weights"],
        **({"nnz_per_pe": report["nnz_per_pe"]} if num_pe is not None else {}),
        "layers": report["layers"],
        "compression": compression,
        "schedule": {
            "rule": "Zhu & Gupta: s_t = s_f + (s_i - s_f)(1 - t/T)^3, mask recomputed each step",
            "initial_sparsity": schedule.initial_sparsity,
            "steps": schedule.steps,
            "epochs_per_step": schedule.epochs_per_step,
            "sparsities": result.sparsities,
            "history": result.history,
        },
        "base": before,
        "samples": {"train": len(ds.y_train), "val": len(ds.y_val), "test": len(ds.y_test)},
        "epochs": {
            "float": 0,
            "qat": result.ramp_epochs + result.final_epochs,
            "pruning": result.ramp_epochs,
            "fine_tune": result.final_epochs,
        },
        "seed": spec.training.seed,
    }
    section = {"method": compression["method"], "sparsity": compression["sparsity"]}
    if num_pe is not None:
        section["num_pe"] = num_pe
    if block is not None:
        section["block"] = list(block)
    section["base"] = spec.folder.name
    text = compressed_spec_text(spec, section)
    target = spec.folder.parent / name
    return load_spec(write_model_folder(target, metrics, model, float_model, spec_text=text))
