"""One design point -> one result row: accuracy, the survey's metrics, resources and latency.

`evaluate_point(context, point)` is a plain function of picklable data, so it runs the same in the main
process, in a local process pool and on a Dask worker. Analytic mode prunes / projects the cached
model's latent weights, quantizes them to the point's precision and scores the numpy reference model
on the test split; finetune mode first has `codesign.compress` prune (or project onto block-circulant
form) and QAT-fine-tune a new model folder at the point's precision (slow: TensorFlow training per
point) and scores that one the same way.

Resources: the engine's fitted estimate (codesign.sweep.estimate) and, when the sweep asks for it
(`synthesize: true`), Yosys' counts for the point's real engine image (codesign.engine's encoder, then
`codesign synth`'s flow: codesign.synth.command.synthesize) with the estimate's relative error against
them; hls4ml points use codesign.hls's own
estimate (`codesign.hls.estimate.estimate`, circulant layers included) on the types
`codesign.hls.config.choose_types` derives from the point's quantized model and the training data, as
`codesign hls` does, without converting the model.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from codesign.compress import survey
from codesign.compress.pruning import gate_matrix
from codesign.delta import threshold_lsbs
from codesign.errors import CodesignError
from codesign.spec import Precision
from codesign.sweep.estimate import EngineGeometry, Resources, engine_estimate, engine_model_fingerprint
from codesign.sweep.model import BaseModel, accuracy, at_bits, reference_model
from codesign.sweep.transform import compress_layer

# Bump when a row's meaning changes: every cached point is then recomputed (6: the overlapped cycle model,
# the per-PE estimator forms, delta columns; 7: the estimator re-fitted on the timing work's RTL; 8: the
# key also holds engine_model_fingerprint, so a re-fit or a new cycle model recomputes the rows by itself).
CACHE_VERSION = 8
# Bump when fine-tuning itself changes: the trained model folders are a cache of their own (a row can be
# recomputed from a kept model when only the evaluation changes, e.g. CACHE_VERSION).
FINETUNE_VERSION = 1
HLS_STRATEGY = "Latency"  # what codesign.hls builds (codesign.hls.csim's default): weights in fabric


@dataclass(frozen=True)
class SweepContext:
    """Everything a worker needs besides the point (sent once per worker, not per point)."""

    base: BaseModel
    mode: str
    clock_mhz: float
    tolerance: float
    index_width: int
    step_overhead: int
    head_overhead: int
    part: str  # the board's FPGA part (codesign.synth.boards): the hls estimate's DSP shape
    synth_board: str | None = None  # a board name: synthesize every buildable engine point for it
    synth_dir: str | None = None  # where the points' engine images and Yosys runs go

    def settings(self) -> dict:
        """What besides the point and the weights changes a row: part of the cache key (the synthesis
        board only when set, so sweeps without synthesis keep their caches)."""
        synth = {} if self.synth_board is None else {"synth_board": self.synth_board}
        return synth | {
            "version": CACHE_VERSION,
            "engine_model": engine_model_fingerprint(),
            "mode": self.mode,
            "clock_mhz": self.clock_mhz,
            "tolerance": self.tolerance,
            "index_width": self.index_width,
            "step_overhead": self.step_overhead,
            "head_overhead": self.head_overhead,
            "part": self.part,
        }


def engine_weight_width(precisions: list[Precision]) -> tuple[int, int]:
    """(WeightWidth, fraction) of the engine's one weight word holding every precision exactly: the
    finest fraction and the widest integer part (incl. sign), as codesign.engine's encoder picks them."""
    types = [p.fixed_type() for p in precisions]
    frac = max(t.frac for t in types)
    return frac + max(t.integer for t in types), frac


def bias_type(spec):
    from codesign.fixed import FixedType

    types = [spec.precision.bias.fixed_type(), spec.precision.dense_bias.fixed_type()]
    frac, integer = max(t.frac for t in types), max(t.integer for t in types)
    integer += spec.model.cell == "gru"  # z and r rows store b_i + b_r (as the encoder does)
    return FixedType(integer + frac, integer, True, "AP_TRN", "AP_SAT")


def finetune_key(point: dict, weights_hash: str) -> str:
    """What a fine-tuned model depends on: structure, sparsity, shape, bits (and NumPe for balanced
    pruning), not the target or the reuse factor, so e.g. an engine and an hls point share one model."""
    fields = {k: point[k] for k in ("structure", "bits", "sparsity", "block", "circulant_block")}
    fields["num_pe"] = point["num_pe"] if point["structure"] == "balanced" else None
    if point.get("delta_threshold"):
        fields["delta_threshold"] = point["delta_threshold"]
    text = json.dumps({"point": fields, "weights": weights_hash, "version": FINETUNE_VERSION}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def precision_base(spec, bits: int):
    """The base model with kernel, recurrent kernel and dense kernel at `bits` (integer bits kept, capped
    as `at_bits` does): a copy of its folder beside it, latent weights clipped into the narrower ranges
    (which leaves the quantized model unchanged: QKeras saturates to the same grid end), so QAT runs at
    the point's precision. The base itself when it already is at `bits`. Safe against concurrent
    workers: written to a staging folder, then renamed into place."""
    import os
    import shutil
    import tempfile

    import h5py
    import yaml

    from codesign.spec import load_spec

    p = spec.precision
    fields = {"kernel": p.kernel, "recurrent_kernel": p.recurrent_kernel, "dense_kernel": p.dense_kernel}
    if all(q.bits == bits for q in fields.values()):
        return spec
    target = spec.folder.parent / f"{spec.folder.name}-w{bits}"
    if (target / "spec.yml").is_file():
        return load_spec(target / "spec.yml")
    stage = Path(tempfile.mkdtemp(prefix=f".{target.name}.staging-", dir=target.parent))
    try:
        for f in ("weights.h5", "float.weights.h5", "metrics.json"):
            shutil.copy2(spec.folder / f, stage / f)
        data = yaml.safe_load(spec.path.read_text())
        new = {name: at_bits(q, bits) for name, q in fields.items()}
        for name, q in new.items():
            data["precision"][name] = {"bits": q.bits, "integer": q.integer}
        header = f"# Written by codesign sweep: {spec.folder.name} with its weight kernels at {bits} bits.\n"
        (stage / "spec.yml").write_text(header + yaml.safe_dump(data, sort_keys=False))
        with h5py.File(stage / "weights.h5", "r+") as h5:
            for layer in [f"rnn{i + 1}" for i in range(len(spec.model.units))] + ["head"]:
                group = h5[layer]
                names = [n.decode() if isinstance(n, bytes) else str(n) for n in group.attrs["weight_names"]]
                which = ("kernel", "recurrent_kernel") if layer != "head" else ("dense_kernel",)
                for name, field in zip(names, which, strict=False):  # kernels come first in Keras' order
                    q = new[field]
                    group[name][...] = np.clip(group[name][...], q.min_value, q.max_value)
        try:
            os.rename(stage, target)
        except OSError:  # another worker got there first: theirs is the same copy
            shutil.rmtree(stage, ignore_errors=True)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    return load_spec(target / "spec.yml")


def _finetuned_base(ctx: SweepContext, point: dict) -> tuple[BaseModel, dict]:
    """Prune (or project onto block-circulant form) and QAT fine-tune at the point's precision through
    codesign.compress, into a new model folder beside the base (for a sweep, a copy of the base under
    build/sweep/<name>/models/), then read it back. A folder already written for the same training
    (`finetune_key`) is reused. Returns the model and what training reported (metrics.json)."""
    from codesign.outputs import read_json
    from codesign.spec import load_spec
    from codesign.sweep.model import load_base
    from codesign.sweep.transform import STRUCTURE_METHOD

    structure = point["structure"]
    if structure not in STRUCTURE_METHOD and structure != "circulant":
        raise CodesignError(f"mode finetune: structure {structure!r} has no codesign.compress method")
    spec = ctx.base.spec
    name = f"{spec.name}-sweep-{finetune_key(point, ctx.base.weights_hash)}"
    target = spec.folder.parent / name
    with _training_lock(target):  # points differing only in target or R share one training: run it once
        if not (target / "metrics.json").is_file():
            _train(spec, point, name)
    tuned = load_base(load_spec(target / "spec.yml"))
    metrics = read_json(target / "metrics.json")
    # Judged against the original float model, not the compressed float twin.
    return BaseModel(**{**tuned.__dict__, "baseline_accuracy": ctx.base.baseline_accuracy}), metrics


@contextlib.contextmanager
def _training_lock(target: Path):
    """An exclusive lock on `<target>.lock` beside the model folder (workers share the file system)."""
    import fcntl

    with open(target.with_name(f".{target.name}.lock"), "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _train(spec, point: dict, name: str) -> None:
    delta = point.get("delta_threshold")
    if delta:
        # the structure's model first, then its delta network fine-tuned from it (codesign delta)
        from codesign.compress.delta_finetune import delta_finetune
        from codesign.spec import load_spec

        pre = f"{name}-pre"
        if not (spec.folder.parent / pre / "metrics.json").is_file():
            _train(spec, {**point, "delta_threshold": 0.0}, pre)
        start = load_spec(spec.folder.parent / pre / "spec.yml")
        delta_finetune(start, *threshold_lsbs(start, delta), name=name, progress=False, log=lambda _: None)
        return
    _train_structure(spec, point, name)


def _train_structure(spec, point: dict, name: str) -> None:
    import tensorflow as tf

    from codesign.sweep.transform import STRUCTURE_METHOD

    tf.get_logger().setLevel("ERROR")  # retracing warnings, one per fit, would bury the progress bar
    structure = point["structure"]
    start = precision_base(spec, point["bits"])
    quiet = dict(progress=False, log=lambda _: None)
    if structure == "circulant":
        from codesign.compress.circulant import compress_circulant

        b = point["circulant_block"]
        compress_circulant(start, (b, b), name=name, weight_bits=point["bits"], **quiet)
    else:
        from codesign.compress import compress

        block = None if point["block"] is None else tuple(point["block"])
        num_pe = point["num_pe"] if structure == "balanced" else None
        compress(
            start,
            STRUCTURE_METHOD[structure],
            point["sparsity"],
            num_pe=num_pe,
            block=block,
            name=name,
            **quiet,
        )


def evaluate_point(ctx: SweepContext, point: dict) -> dict:
    start = time.perf_counter()
    trained = None
    if ctx.mode == "finetune":
        base, trained = _finetuned_base(ctx, point)
    else:
        base = ctx.base
    spec, bits = base.spec, point["bits"]
    p = spec.precision
    kernel_p, recurrent_p, dense_p = (
        at_bits(p.kernel, bits),
        at_bits(p.recurrent_kernel, bits),
        at_bits(p.dense_kernel, bits),
    )
    layers = [(*compress_layer(k, r, point), b) for k, r, b in base.layers]
    lsbs = threshold_lsbs(spec, point["delta_threshold"]) if point.get("delta_threshold") else None
    delta = None if lsbs is None else (lsbs[0] * p.input.lsb, lsbs[1] * p.state.lsb)
    model = reference_model(spec, layers, base.dense, kernel_p, recurrent_p, dense_p, delta)
    acc = accuracy(model, base.x_test, base.y_test)

    # The matrices as stored: quantized, engine orientation (rows = gate units / classes).
    mats = [gate_matrix(w.kernel, w.recurrent_kernel) for w in model.layers]
    head = model.dense_kernel.T
    layer_weights = sum(m.size for m in mats)
    nnz = sum(int(np.count_nonzero(m)) for m in mats)
    biases = sum(w.bias.size for w in model.layers)
    bias_bits = biases * p.bias.bits + model.dense_bias.size * p.dense_bias.bits
    timesteps = base.timesteps
    dense_macs = survey.dense_macs_per_sequence([m.shape for m in mats], head.shape, timesteps)

    row = dict(point)
    row.update(feasible=True, note="")
    if trained is not None:
        # What Keras measured on the fine-tuned model, beside the reference model's score of it (equal
        # when the point's bits are the model's own).
        row.update(
            finetuned_model=spec.name,
            finetuned_keras_accuracy=trained["accuracy"]["quantized"],
            finetune_epochs=trained.get("epochs", {}).get("qat"),
        )
    if point["target"] == "engine":
        from codesign.engine.encoder import gate_matrix as engine_rows

        width, frac = engine_weight_width([kernel_p, recurrent_p, dense_p])
        # the engine's rows: the LSTM's gate matrix; a GRU's z, r, n_x, n_h (docs/engine.md "One GRU step")
        rows = [engine_rows(w, spec.model.cell) for w in model.layers]
        resources, storage_bits, params_after, macs, extra = _engine(
            ctx, point, spec, rows, head, width, frac
        )
        storage_bits += bias_bits
        row.update(extra)
        if resources is not None and ctx.synth_board is not None:
            point_spec = _spec_at(spec, kernel_p, recurrent_p, dense_p)
            row.update(synthesize_engine(ctx, point, point_spec, model, base.weights_hash, resources))
        if resources is not None and lsbs is not None:
            point_spec = _spec_at(spec, kernel_p, recurrent_p, dense_p)
            row.update(_delta_cycles(ctx, point, point_spec, lsbs, layers, base, width))
    else:
        resources, storage_bits, params_after, macs, extra = _hls(ctx, point, spec, model, base.x_train)
        storage_bits += bias_bits
        row.update(extra)
    params_after += biases + model.dense_bias.size
    technique = _technique(point)
    s = survey.survey_row(
        spec.name,
        technique,
        params_before=base.params,
        params_after=params_after,
        size_bits=storage_bits,
        macs=macs,
        dense_macs=dense_macs,
        accuracy=acc,
        baseline_accuracy=base.baseline_accuracy,
        tolerance=ctx.tolerance,
    )
    row.update(
        model=spec.name,
        technique=technique,
        accuracy=acc,
        baseline_accuracy=base.baseline_accuracy,
        accuracy_loss_points=100.0 * (base.baseline_accuracy - acc),
        relative_performance=s.relative_performance,
        flag=s.flag,
        measured_sparsity=1.0 - nnz / layer_weights,
        params_before=base.params,
        params_after=int(params_after),
        size_kb=s.size_kb,
        memory_savings=s.memory_savings,
        macs_per_sequence=int(macs),
        dense_macs_per_sequence=int(dense_macs),
        compute_savings=s.compute_savings,
    )
    if resources is None:
        row.update(
            feasible=False,
            lut=None,
            ff=None,
            bram_18k=None,
            dsp=None,
            multipliers=None,
            cycles_per_step=None,
            latency_cycles=None,
            latency_us=None,
        )
        row["note"] = row.get("note") or "not buildable"
    else:
        row.update({k: v for k, v in resources.as_dict().items()})
        row["latency_us"] = resources.latency_cycles / ctx.clock_mhz
    row["clock_mhz"] = ctx.clock_mhz
    row["seconds"] = time.perf_counter() - start
    return row


def _delta_cycles(ctx: SweepContext, point: dict, spec, lsbs, layers, base, width: int) -> dict:
    """A delta point's temporal sparsity and cycles: the engine's golden and cycle model on the test
    split (activity-dependent: the analytic cycles_per_step is the worst case, every entry broadcast),
    against the same weights without delta."""
    from codesign.engine.command import delta_report
    from codesign.engine.cycles import CycleParams, predict_cycles
    from codesign.engine.encoder import EngineConfig, encode, engine_model_from_weights
    from codesign.engine.golden import run_golden
    from codesign.spec import DeltaSpec

    spec = dataclasses.replace(spec, delta=DeltaSpec(*lsbs))
    config = EngineConfig(num_pe=point["num_pe"], weight_width=width, index_width=ctx.index_width)
    image = encode(engine_model_from_weights(spec, list(layers), base.dense), config)
    trace = run_golden(image, base.x_test)
    cycles = predict_cycles(image, trace, CycleParams(step_overhead=ctx.step_overhead))
    report = delta_report(image, trace, base.x_test, cycles, ctx.step_overhead)
    return {
        "delta_threshold_x_lsb": lsbs[0],
        "delta_threshold_h_lsb": lsbs[1],
        "temporal_sparsity_x": report["temporal_sparsity"]["x"],
        "temporal_sparsity_h": report["temporal_sparsity"]["h"],
        "measured_cycles_per_step": cycles.cycles_per_step,
        "measured_cycles_per_step_no_delta": report["cycles_per_step_no_delta"],
        "speedup_vs_no_delta": report["speedup_vs_no_delta"],
    }


def _technique(point: dict) -> str:
    s = point["structure"]
    if s == "circulant":
        what = f"circulant b={point['circulant_block']}"
    else:
        what = f"{s} {100 * point['sparsity']:g}%"
        if s == "block":
            what += f" {point['block'][0]}x{point['block'][1]}"
    if point.get("delta_threshold"):
        what += f", delta {point['delta_threshold']:g}"
    par = f"{point['num_pe']} PE" if point["target"] == "engine" else f"R={point['reuse_factor']}"
    return f"{point['target']}: {what}, {point['bits']}-bit, {par}"


def _engine(ctx: SweepContext, point: dict, spec, mats, head, width: int, frac: int):
    """CSC storage (layers and head, as the encoder lays them out), MACs with zero weights skipped, and
    the engine estimate; resources None when the engine cannot build the point (weight word too wide)."""
    from codesign.engine.encoder import GATES, derive_types
    from codesign.engine.types import WEIGHT_WIDTHS, state_type, weight_type
    from codesign.errors import CodesignError

    num_pe, iw = point["num_pe"], ctx.index_width
    units = [m.shape[0] // GATES for m in mats] + [0]  # gate matrices deal rows by unit; the head by row
    words = [survey.csc_words_per_pe(m, num_pe, iw, h) for m, h in zip([*mats, head], units, strict=True)]
    csc = survey.csc_storage([*mats, head], num_pe, width, iw, units)
    macs = survey.macs_per_sequence(mats, head, ctx.base.timesteps)
    extra = {
        "weight_width": width,
        "index_width": iw,
        "stored_words": csc.words,
        "padding_words": csc.padding,
        "memory_depth": csc.depth,
    }
    if not WEIGHT_WIDTHS[0] <= width <= WEIGHT_WIDTHS[1]:
        extra["note"] = f"WeightWidth {width} is outside the engine's {WEIGHT_WIDTHS[0]}..{WEIGHT_WIDTHS[1]}"
        return None, csc.bits, csc.nonzeros, macs, extra
    bias_t = bias_type(spec)
    max_terms = max(int(np.count_nonzero(m, axis=1).max(initial=0)) for m in [*mats, head])
    # The types as the encoder derives them (exact QKeras arithmetic: act holds x_t, q_state(h) and the
    # exact h_t); a spec the engine cannot compute exactly (unquantized activations, no state quantizer)
    # has no engine point.
    try:
        types = derive_types(
            spec.model.activation, spec.model.recurrent_activation, spec.precision.input.fixed_type(),
            state_type(spec.precision.state), weight_type(width, frac), bias_t, max_terms, spec.model.cell,
        )  # fmt: skip
    except CodesignError as e:
        extra["note"] = str(e)
        return None, csc.bits, csc.nonzeros, macs, extra
    acc, gate = types.acc, types.gate
    geometry = EngineGeometry(
        num_pe=num_pe,
        weight_width=width,
        index_width=iw,
        act_width=types.act.width,
        acc_width=acc.width,
        cell_width=types.cell.width,
        gate_width=gate.width,
        table_width=types.table_width,
        table_depth=1 << types.table_in.width,
        bias_width=bias_t.width,
        bias_depth=sum(m.shape[0] for m in [*mats, head]),
        depth=csc.depth,
        colptr_depth=sum(m.shape[1] + 1 for m in [*mats, head]),
        ptr_width=csc.pointer_bits,
        max_local_rows=max(-(-m.shape[0] // num_pe) for m in [*mats, head]),
        inputs_plus_units=max(m.shape[1] for m in mats),
        layer_words_max=tuple(int(w.max()) for w in words[:-1]),
        head_words_max=int(words[-1].max()),
        timesteps=ctx.base.timesteps,
        inputs=mats[0].shape[1] - mats[0].shape[0] // 4,  # [W_x W_h] of layer 0: X + H columns, 4H rows
        units=mats[0].shape[0] // 4,
        classes=head.shape[0],
    )
    extra["acc_width"] = acc.width
    extra["gate_width"] = gate.width
    if spec.model.cell == "gru":
        extra["note"] = (
            "LUT/FF/BRAM/DSP: the estimator is fitted on LSTM builds (a GRU's element-wise unit differs; "
            "synthesize: true measures it); cycles: the cycle model"
        )
    resources = engine_estimate(geometry, ctx.step_overhead, ctx.head_overhead)
    return resources, csc.bits, csc.nonzeros, macs, extra


# Yosys counts Xilinx block RAM in RAMB36 tiles (an 18K one as 0.5) and ECP5's in 18 Kbit EBRs; the
# estimate counts 18 Kbit blocks. iCE40's 4 Kbit EBRs have no 18K equivalent.
BRAM_18K_PER_UNIT = {"xc7": 2, "xcu": 2, "ecp5": 1}
SYNTH_COLUMNS = ("lut", "ff", "bram_18k", "dsp")  # the estimate's keys compared with Yosys


def relative_error(estimate: float | None, measured: float | None) -> float | None:
    """(estimate - measured) / measured; None when either is missing or only the estimate is non-zero."""
    if estimate is None or measured is None:
        return None
    if measured == 0:
        return 0.0 if estimate == 0 else None
    return (estimate - measured) / measured


def synthesize_engine(
    ctx: SweepContext, point: dict, point_spec, model, weights_hash: str, resources: Resources
) -> dict:
    """Encode the point's quantized, pruned model into an engine image and synthesize it exactly as
    `codesign synth` does (same file list, top, parameters), with Yosys (no Vivado, no bitstream).
    Returns the yosys_* columns and the estimate's relative error against each."""
    from codesign.engine import EngineConfig, encode, engine_model_from_weights, write_image
    from codesign.filelist import read_file_list
    from codesign.synth import command as synth
    from codesign.synth.boards import get_board

    board = get_board(ctx.synth_board)
    text = json.dumps({"point": point, "weights": weights_hash, "model": point_spec.name}, sort_keys=True)
    folder = Path(ctx.synth_dir or "build/sweep/synth") / hashlib.sha256(text.encode()).hexdigest()[:12]
    rtl_dir = folder / "rtl"
    rtl_dir.mkdir(parents=True, exist_ok=True)
    # The reference model's weights are already on the point's grids: the spec quantizers leave them be.
    engine_model = engine_model_from_weights(
        point_spec,
        [(w.kernel, w.recurrent_kernel, w.bias) for w in model.layers],
        (model.dense_kernel, model.dense_bias),
    )
    p = point_spec.precision
    width, _ = engine_weight_width([p.kernel, p.recurrent_kernel, p.dense_kernel])
    config = EngineConfig(num_pe=point["num_pe"], weight_width=width, index_width=ctx.index_width)
    config.validate()
    image = write_image(encode(engine_model, config), rtl_dir)
    file_list = read_file_list(synth.ENGINE_FILE_LIST, base=Path.cwd())
    declared: set[str] = set()
    for f in file_list.files:  # as `codesign synth`: override only what the top declares
        declared |= synth.top_parameters(f, synth.ENGINE_TOP) if f.stem == synth.ENGINE_TOP else set()
    params = synth.engine_parameters(image, rtl_dir)
    params = {k: v for k, v in params.items() if not declared or k in declared}
    start = time.perf_counter()
    report = synth.synthesize(
        file_list.files,
        synth.ENGINE_TOP,
        params,
        board,
        folder / "synth",
        defines=file_list.defines,
        include_dirs=[*file_list.include_dirs, rtl_dir],
        clock_mhz=ctx.clock_mhz,
        use_vivado=False,
        bitstream=False,
        name=f"{point_spec.name} ({point['num_pe']} PEs)",
        progress=False,
        log=lambda _: None,
        require_fit=False,  # a point that does not fit is still a measurement
    )
    per_unit = BRAM_18K_PER_UNIT.get(board.family)
    measured = {
        "lut": report["lut"],
        "ff": report["ff"],
        "bram_18k": None if report["bram"] is None or per_unit is None else report["bram"] * per_unit,
        "dsp": report["dsp"],
    }
    out: dict = {
        "yosys_lut": report["lut"],
        "yosys_ff": report["ff"],
        "yosys_bram": report["bram"],  # the tool's unit (report.json's bram_unit)
        "yosys_bram_18k": measured["bram_18k"],
        "yosys_dsp": report["dsp"],
        "yosys_tool": report["tool"],
        "yosys_seconds": time.perf_counter() - start,
        "yosys_report": str((folder / "synth" / "report.json").relative_to(folder.parent.parent)),
    }
    estimate = resources.as_dict()
    for key in SYNTH_COLUMNS:
        out[f"{key}_rel_error"] = relative_error(estimate[key], measured[key])
    return out


def _spec_at(spec, kernel: Precision, recurrent_kernel: Precision, dense_kernel: Precision):
    """The spec with the point's weight precisions and no compression section (the hls types follow)."""
    precision = dataclasses.replace(
        spec.precision, kernel=kernel, recurrent_kernel=recurrent_kernel, dense_kernel=dense_kernel
    )
    return dataclasses.replace(spec, precision=precision, compression=None)


def _hls(ctx: SweepContext, point: dict, spec, model, x_train: np.ndarray):
    """Storage, MACs and codesign.hls's estimate of the hls4ml project. Storage: dense for unstructured
    weights (zero products are dropped only where hls4ml drops them: at R = 1 the weights are constants
    in logic), block CSR for block-sparse, defining vectors of W_x and W_h for circulant (padding blocks
    included; MACs the hls kernel's multiplies: the exact fast block product for weights wider than 4
    bits, else the direct one, zero products dropped)."""
    from codesign.hls.config import choose_types
    from codesign.hls.estimate import ELEMENTWISE_LATENCY, estimate

    structure, r, bits = point["structure"], point["reuse_factor"], point["bits"]
    p = spec.precision
    point_spec = _spec_at(
        spec, at_bits(p.kernel, bits), at_bits(p.recurrent_kernel, bits), at_bits(p.dense_kernel, bits)
    )
    head = model.dense_kernel.T
    storage = survey.dense_storage_bits(head.size, bits)
    params_after = head.size
    macs = 0
    extra: dict = {}
    for w in model.layers:
        m = gate_matrix(w.kernel, w.recurrent_kernel)
        if structure == "block":
            b = survey.block_sparse_storage(m, tuple(point["block"]), bits)
            storage += b.bits
            params_after += b.values
            macs += b.values
        elif structure == "circulant":
            cb = point["circulant_block"]
            parts = (w.kernel.T.shape, w.recurrent_kernel.T.shape)
            storage += sum(survey.circulant_storage_bits(s, cb, bits) for s in parts)
            params_after += sum(survey.circulant_blocks(s, cb) * cb for s in parts)
            # MACs: the hls kernel's own multiplies (fast or direct), read from its estimate below
        else:
            storage += survey.dense_storage_bits(m.size, bits)
            params_after += m.size
            macs += int(np.count_nonzero(m)) if r == 1 else m.size
    timesteps = int(x_train.shape[1])
    macs = macs * timesteps + head.size
    block = tuple(point["block"]) if structure == "block" else None
    circulant = point["circulant_block"] if structure == "circulant" else None
    types = choose_types(point_spec, model, x_train)
    weights = [(w.kernel, w.recurrent_kernel) for w in model.layers]
    try:
        est = estimate(
            point_spec,
            types,
            weights,
            model.dense_kernel,
            timesteps,
            reuse_factor=r,
            recurrent_reuse_factor=r,
            strategy=HLS_STRATEGY,
            part=ctx.part,
            block=block,
            circulant=circulant,
        )
    except CodesignError as exc:  # e.g. a block shape that tiles [W_x W_h] but not W_x alone
        extra["note"] = f"hls: {exc}"
        return None, storage, params_after, macs, extra
    if circulant is not None:
        step = sum(la["input_product"]["products"] + la["recurrent_product"]["products"] for la in est.layers)
        macs += step * timesteps
    head_cycles = r + ELEMENTWISE_LATENCY  # as codesign.hls.estimate counts the head
    resources = Resources(
        lut=est.lut,
        ff=est.ff,
        bram_18k=est.bram_18k,
        dsp=est.dsp,
        cycles_per_step=(est.latency_cycles - head_cycles) / timesteps,
        latency_cycles=est.latency_cycles,
        multipliers=est.multipliers,
    )
    extra.update(
        hls_strategy=HLS_STRATEGY,
        bram_18k_resource=est.bram_18k_resource,  # the same weights under the Resource strategy
        hls_weight_bits=est.weight_bits,
        hls_index_bits=est.index_bits,
        ii_cycles=est.ii_cycles,
        accum_width=types.layers[0].accum.width,
    )
    return resources, storage, params_after, macs, extra
