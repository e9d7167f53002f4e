"""One design point -> one result row: accuracy, the survey's metrics, resources and latency.

`evaluate_point(context, point)` is a plain function of picklable data, so it runs the same in the main
process, in a local process pool and on a Dask worker. Analytic mode prunes / projects the cached
model's latent weights, quantizes them to the point's precision and scores the numpy reference model
on the test split; finetune mode first has `codesign.compress` prune and QAT-fine-tune a new model
folder (slow: TensorFlow training per point) and scores that one the same way.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from codesign.compress import survey
from codesign.compress.pruning import gate_matrix
from codesign.errors import CodesignError
from codesign.spec import Precision
from codesign.sweep.estimate import EngineGeometry, HlsMatrix, engine_estimate, hls_estimate
from codesign.sweep.model import BaseModel, accuracy, at_bits, reference_model
from codesign.sweep.transform import compress_layer

CACHE_VERSION = 1  # bump when a row's meaning changes: every cached point is then recomputed


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

    def settings(self) -> dict:
        """What besides the point and the weights changes a row: part of the cache key."""
        return {
            "version": CACHE_VERSION,
            "mode": self.mode,
            "clock_mhz": self.clock_mhz,
            "tolerance": self.tolerance,
            "index_width": self.index_width,
            "step_overhead": self.step_overhead,
            "head_overhead": self.head_overhead,
        }


def engine_weight_width(precisions: list[Precision]) -> tuple[int, int]:
    """(WeightWidth, fraction) of the engine's one weight word holding every precision exactly: the
    finest fraction and the widest integer part (incl. sign), as codesign.engine's encoder picks them."""
    types = [p.fixed_type() for p in precisions]
    frac = max(t.frac for t in types)
    return frac + max(t.integer for t in types), frac


def _bias_type(spec):
    from codesign.fixed import FixedType

    types = [spec.precision.bias.fixed_type(), spec.precision.dense_bias.fixed_type()]
    frac, integer = max(t.frac for t in types), max(t.integer for t in types)
    return FixedType(integer + frac, integer, True, "AP_TRN", "AP_SAT")


def _finetuned_base(ctx: SweepContext, point: dict) -> BaseModel:
    """Prune + QAT fine-tune through codesign.compress into a new model folder beside the base (for a
    sweep, a copy of the base under build/sweep/<name>/models/), then read it back. The QAT runs at the
    spec's precision; the point's bits are applied afterwards, like the analytic mode does."""
    from codesign.compress import compress
    from codesign.sweep.executor import point_key
    from codesign.sweep.model import load_base
    from codesign.sweep.transform import STRUCTURE_METHOD

    if point["structure"] not in STRUCTURE_METHOD:
        raise CodesignError(
            f"mode finetune: structure {point['structure']!r} has no codesign.compress method"
        )
    spec = ctx.base.spec
    block = None if point["block"] is None else tuple(point["block"])
    num_pe = point["num_pe"] if point["structure"] == "balanced" else None
    # One folder per point: concurrent workers never write the same folder.
    name = f"{spec.name}-sweep-{point_key(point, ctx.settings(), ctx.base.weights_hash)[:10]}"
    new = compress(
        spec,
        STRUCTURE_METHOD[point["structure"]],
        point["sparsity"],
        num_pe=num_pe,
        block=block,
        name=name,
        progress=False,
        log=lambda _: None,
    )
    tuned = load_base(new)
    # Judged against the original float model, not the pruned float twin.
    return BaseModel(**{**tuned.__dict__, "baseline_accuracy": ctx.base.baseline_accuracy})


def evaluate_point(ctx: SweepContext, point: dict) -> dict:
    start = time.perf_counter()
    base = _finetuned_base(ctx, point) if ctx.mode == "finetune" else ctx.base
    spec, bits = base.spec, point["bits"]
    p = spec.precision
    kernel_p, recurrent_p, dense_p = (
        at_bits(p.kernel, bits),
        at_bits(p.recurrent_kernel, bits),
        at_bits(p.dense_kernel, bits),
    )
    layers = [(*compress_layer(k, r, point), b) for k, r, b in base.layers]
    model = reference_model(spec, layers, base.dense, kernel_p, recurrent_p, dense_p)
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
    if point["target"] == "engine":
        width, frac = engine_weight_width([kernel_p, recurrent_p, dense_p])
        resources, storage_bits, params_after, macs, extra = _engine(
            ctx, point, spec, mats, head, width, frac
        )
        storage_bits += bias_bits
        row.update(extra)
    else:
        resources, storage_bits, params_after, macs = _hls(point, mats, head, bits, timesteps, spec)
        storage_bits += bias_bits
    params_after += biases + model.dense_bias.size
    technique = _technique(point)
    s = survey.survey_row(
        spec.name,
        technique,
        base.params,
        params_after,
        storage_bits,
        macs,
        dense_macs,
        acc,
        base.baseline_accuracy,
        ctx.tolerance,
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


def _technique(point: dict) -> str:
    s = point["structure"]
    if s == "circulant":
        what = f"circulant b={point['circulant_block']}"
    else:
        what = f"{s} {100 * point['sparsity']:g}%"
        if s == "block":
            what += f" {point['block'][0]}x{point['block'][1]}"
    par = f"{point['num_pe']} PE" if point["target"] == "engine" else f"R={point['reuse_factor']}"
    return f"{point['target']}: {what}, {point['bits']}-bit, {par}"


def _engine(ctx: SweepContext, point: dict, spec, mats, head, width: int, frac: int):
    """CSC storage (layers and head, as the encoder lays them out), MACs with zero weights skipped, and
    the engine estimate; resources None when the engine cannot build the point (weight word too wide)."""
    from codesign.engine.types import (
        DEFAULT_ACT,
        DEFAULT_CELL,
        DEFAULT_GATE,
        DEFAULT_TABLE_IN,
        WEIGHT_WIDTHS,
        accumulator_type,
        weight_type,
    )

    num_pe, iw = point["num_pe"], ctx.index_width
    words = [survey.csc_words_per_pe(m, num_pe, iw) for m in [*mats, head]]
    csc = survey.csc_storage([*mats, head], num_pe, width, iw)
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
    bias_t = _bias_type(spec)
    max_terms = max(int(np.count_nonzero(m, axis=1).max(initial=0)) for m in [*mats, head])
    acc = accumulator_type(DEFAULT_ACT, weight_type(width, frac), bias_t, max_terms)
    cell = DEFAULT_CELL.width if spec.precision.state is None else spec.precision.state.bits
    geometry = EngineGeometry(
        num_pe=num_pe,
        weight_width=width,
        index_width=iw,
        act_width=DEFAULT_ACT.width,
        acc_width=acc.width,
        cell_width=cell,
        gate_width=DEFAULT_GATE.width,
        table_depth=1 << DEFAULT_TABLE_IN.width,
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
    )
    extra["acc_width"] = acc.width
    resources = engine_estimate(geometry, ctx.step_overhead, ctx.head_overhead)
    return resources, csc.bits, csc.nonzeros, macs, extra


def _hls(point: dict, mats, head, bits: int, timesteps: int, spec):
    """Storage, MACs and the hls4ml estimate: dense storage for unstructured weights (zero products are
    dropped only at R = 1, where the weights are constants in logic), block CSR for block-sparse,
    defining vectors for circulant (products computed directly: b^2 per block)."""
    structure, r = point["structure"], point["reuse_factor"]
    head_m = HlsMatrix(head.size, head.size, head.shape[1], head.shape[0])
    storage = survey.dense_storage_bits(head.size, bits)
    params_after = head.size
    matrices = []
    for m in mats:
        if structure == "block":
            b = survey.block_sparse_storage(m, tuple(point["block"]), bits)
            storage += b.bits
            stored = mults = b.values
        elif structure == "circulant":
            cb = point["circulant_block"]
            storage += survey.circulant_storage_bits(m.shape, cb, bits)
            stored = survey.circulant_blocks(m.shape, cb) * cb
            mults = int(np.count_nonzero(m))
        else:
            storage += survey.dense_storage_bits(m.size, bits)
            stored = m.size
            mults = int(np.count_nonzero(m)) if r == 1 else m.size
        params_after += stored
        matrices.append(HlsMatrix(mults, stored, m.shape[1], m.shape[0]))
    macs = sum(x.multiplications for x in matrices) * timesteps + head_m.multiplications
    resources = hls_estimate(matrices, head_m, bits, r, list(spec.model.units), timesteps)
    return resources, storage, params_after, macs
