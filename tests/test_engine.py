"""codesign.engine: CSC images round-trip, padding rule, accumulator bound, golden model (fast path ==
literal PE walk == an independent Python-int re-implementation), JapaneseVowels accuracy, errors and
the `codesign rtl` stage."""

from __future__ import annotations

import argparse
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from codesign.engine import (
    EngineConfig,
    decode_matrix,
    encode,
    gate_matrix,
    load_image,
    predict_cycles,
    run_golden,
    run_golden_from_memory,
    write_image,
)
from codesign.engine.encoder import csc_for_pe, model_from_trained
from codesign.engine.synthetic import random_model
from codesign.engine.types import accumulator_type
from codesign.errors import CodesignError
from codesign.fixed import FixedError, FixedType
from codesign.reference import activation_fn
from codesign.spec import load_spec

ROOT = Path(__file__).resolve().parents[1]
JV = ROOT / "models" / "jvowels_lstm" / "spec.yml"

# (seed, inputs, units, classes, density, num_pe, index_width): X and H not multiples of NumPe,
# all-zero (density 0), 100% density, 1 and 2 layers, index fields too narrow for the gaps.
SHAPES = [
    (1, 5, (7,), 3, 0.3, 4, 2),
    (2, 3, (9, 5), 4, 0.5, 3, 1),
    (3, 11, (6,), 2, 0.0, 8, 4),
    (4, 6, (5,), 3, 1.0, 5, 3),
    (5, 13, (10,), 9, 0.1, 1, 4),
    (6, 4, (17, 3), 2, 0.2, 6, 2),
]


def _raw_matrices(model, wt: FixedType) -> list[np.ndarray]:
    mats = [gate_matrix(layer) for layer in model.layers] + [model.dense_kernel.T]
    return [np.asarray(np.round(m * 2.0**wt.frac), np.int64) for m in mats]


@pytest.mark.parametrize("case", SHAPES, ids=lambda c: f"seed{c[0]}")
def test_images_decode_to_the_quantized_matrices(case, tmp_path):
    seed, inputs, units, classes, density, num_pe, index_width = case
    model = random_model(seed, inputs, units, classes, density)
    image = encode(model, EngineConfig(num_pe=num_pe, index_width=index_width))
    expected = _raw_matrices(model, image.types.weight)
    write_image(image, tmp_path)
    loaded = load_image(tmp_path)
    for i, w in enumerate(expected):
        assert np.array_equal(decode_matrix(image, i), w)
        assert np.array_equal(decode_matrix(loaded, i), w)  # through the $readmemh files
        m = image.matrices[i]
        pes, _ = m.placement()  # LSTM rows by unit (PE u mod NumPe), head rows r mod NumPe
        assert np.array_equal(m.nnz_per_pe, [np.count_nonzero(w[pes == k]) for k in range(num_pe)])
        assert (m.words_per_pe >= m.nnz_per_pe).all()
    for k in range(num_pe):
        assert (image.pe_rel[k] <= 2**index_width - 1).all()
        lines = (tmp_path / f"pe{k}_weights.memh").read_text().split()
        assert len(lines) == image.depth and all(len(s) == -(-(12 + index_width) // 4) for s in lines)
    if density == 0:
        assert sum(len(w) for w in image.pe_weight) == 0
        assert all((m.colptr == m.colptr[:, :1]).all() for m in image.matrices)  # every column empty
    if density == 1.0:
        assert all(np.count_nonzero(w) == w.size for w in expected)


def test_random_matrices_round_trip_with_patterns():
    """Seeded random matrices with empty columns, dense columns and long zero runs, many PE counts."""
    rng = np.random.default_rng(7)
    for _ in range(40):
        rows, cols = int(rng.integers(1, 90)), int(rng.integers(1, 20))
        w = rng.integers(-2047, 2048, (rows, cols)) * (rng.random((rows, cols)) < rng.random())
        w[:, 0] = 0
        if cols > 1:
            w[:, 1] = rng.integers(1, 2047, rows)
        num_pe, max_rel = int(rng.integers(1, 12)), 2 ** int(rng.integers(1, 5)) - 1
        for k in range(num_pe):
            weights, rels, colptr = csc_for_pe(w, k, num_pe, max_rel)
            local = w[k::num_pe]
            rebuilt = np.zeros_like(local)
            for j in range(cols):
                nxt = 0
                for a in range(colptr[j], colptr[j + 1]):
                    row = nxt + rels[a]
                    rebuilt[row, j] += weights[a]
                    nxt = row + 1
            assert np.array_equal(rebuilt, local)
            assert colptr[1] == colptr[0]  # the empty column


@pytest.mark.parametrize("index_width", [1, 2, 4])
def test_padding_rule(index_width):
    """A gap of g zero rows stores g // 2^IW padding words (weight 0, rel max) and then rel g % 2^IW."""
    max_rel = 2**index_width - 1
    for gap in range(0, 5 * (max_rel + 1) + 2):
        w = np.zeros((gap + 1, 1), np.int64)
        w[gap, 0] = 5
        weights, rels, colptr = csc_for_pe(w, 0, 1, max_rel)
        pads = gap // (max_rel + 1)
        assert weights == [0] * pads + [5]
        assert rels == [max_rel] * pads + [gap % (max_rel + 1)]
        assert colptr == [0, pads + 1]


def test_accumulator_width_is_tight_and_never_overflows():
    """Worst case: every weight and activation at its most negative raw (largest positive product), the
    bias at its largest; the literal PE walk sums with Python ints and must fit the derived type, and
    one bit less must not."""
    model = random_model(11, 6, (5,), 2, density=1.0, patterns=False)
    image = encode(model, EngineConfig(num_pe=3))
    t = image.types
    assert t.acc == accumulator_type(t.act, t.weight, t.bias, 6 + 5)
    for k in range(image.num_pe):
        image.pe_weight[k][:] = t.weight.raw_min  # all stored words are real (100% density)
    m = image.matrices[0]
    m.bias[:] = t.bias.raw_max
    from codesign.engine.golden import matrix_vector_from_memory

    v = np.full(m.cols, t.act.raw_min, np.int64)
    z = matrix_vector_from_memory(image, 0, v)  # checks z against t.acc
    assert z.max() > t.acc.raw_max // 2  # the bound is reached within one bit
    narrower = FixedType(t.acc.width - 1, t.acc.integer - 1)
    with pytest.raises(FixedError):
        narrower.check_raw(z)


def _cast(v: int, src_frac: int, t: FixedType) -> int:
    """ap_fixed cast with AP_TRN/AP_RND/AP_RND_CONV and AP_SAT, in Python ints (independent of
    codesign.fixed)."""
    shift = src_frac - t.frac
    if shift > 0:
        floor, rest = v >> shift, v & ((1 << shift) - 1)
        half = 1 << (shift - 1)
        if t.rounding == "AP_RND":
            floor += rest >= half
        elif t.rounding == "AP_RND_CONV":
            floor += rest > half or (rest == half and floor & 1)
        v = floor
    else:
        v <<= -shift
    return max(t.raw_min, min(t.raw_max, v))


def _naive_engine(model, types, x_raw: np.ndarray) -> tuple[list, list]:
    """QKeras' LSTM step written again with Python ints from the float weights, the activations taken
    straight from the reference's functions on the exact pre-activations (no tables): (exact h per
    layer, logits)."""
    t = types

    def level(fn, v: int, frac: int) -> int:  # the activation of the exact value v * 2^-frac, gate raw
        return int(round(float(fn(np.float64(v) / 2.0**frac)) * 2**t.gate.frac))

    sig = activation_fn(model.recurrent_activation, "gate", quantized=True)
    tanh = activation_fn(model.activation, "state", quantized=True)
    wf, gf, cf = t.weight.frac, t.gate.frac, t.cell.frac
    seq = [list(map(int, row)) for row in x_raw]
    hs = []
    for layer in model.layers:
        w = [[int(round(v * 2**wf)) for v in row] for row in gate_matrix(layer)]
        b = [int(round(v * 2**t.bias.frac)) << t.bias_shift for v in layer.bias]
        units = layer.units
        h_state, c, out = [0] * units, [0] * units, []
        for x in seq:
            v = x + h_state
            z = [sum(wr * a for wr, a in zip(row, v, strict=True)) + br for row, br in zip(w, b, strict=True)]
            exact, state, new_c = [], [], []
            for u in range(units):
                i, f, g, o = (
                    level(fn, z[q * units + u], t.acc.frac)
                    for q, fn in zip(range(4), (sig, sig, tanh, sig), strict=True)
                )
                s = f * c[u] * 2**gf + i * g * 2**cf  # exact, at frac gate + gate + cell
                oh = o * level(tanh, s, 2 * gf + cf)  # exact, at frac 2 gate
                new_c.append(_cast(s, 2 * gf + cf, t.cell))
                exact.append(
                    oh << (t.act.frac - 2 * gf) if t.act.frac >= 2 * gf else oh >> (2 * gf - t.act.frac)
                )
                state.append(_cast(oh, 2 * gf, t.cell) << (t.act.frac - cf))
            h_state, c = state, new_c
            out.append(exact)
        hs.append(out)
        seq = out
    wd = [[int(round(v * 2**wf)) for v in row] for row in model.dense_kernel.T]
    bd = [int(round(v * 2**t.bias.frac)) << t.bias_shift for v in model.dense_bias]
    logits = [
        sum(wr * a for wr, a in zip(row, seq[-1], strict=True)) + br for row, br in zip(wd, bd, strict=True)
    ]
    return hs, logits


@pytest.mark.parametrize("case", SHAPES[:4], ids=lambda c: f"seed{c[0]}")
def test_golden_paths_agree_with_an_independent_implementation(case):
    seed, inputs, units, classes, density, num_pe, index_width = case
    model = random_model(seed, inputs, units, classes, density)
    image = encode(model, EngineConfig(num_pe=num_pe, index_width=index_width))
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 1.5, (3, 6, inputs))
    x[:, :2] = 0.0  # pre-padding frames: zero activations are skipped
    x[0, 3, 0] = 100.0  # saturates the input type
    trace = run_golden(image, x)
    walk = run_golden_from_memory(image, trace.x[1])
    fast_all = trace.z + trace.c + trace.h + trace.h_state
    for fast, slow in zip(fast_all, walk.z + walk.c + walk.h + walk.h_state, strict=True):
        assert np.array_equal(fast[1:2], slow)
    assert np.array_equal(trace.logits[1:2], walk.logits)
    for sample in (0, 1):  # 0 saturates the input, 1 has skipped zero frames
        hs, logits = _naive_engine(model, image.types, trace.x[sample])
        for li, h in enumerate(hs):
            assert np.array_equal(trace.h[li][sample], np.asarray(h, np.int64))
        assert np.array_equal(trace.logits[sample], np.asarray(logits, np.int64))
    report = predict_cycles(image, trace)
    assert 0.0 <= report.pe_utilization <= 1.0
    assert report.ideal_cycles_per_step <= report.matrix_cycles_per_step


def test_hard_activations_golden_matches_naive():
    from codesign.spec import Activation

    model = random_model(
        21,
        4,
        (6,),
        3,
        0.6,
        activation=Activation("hard_tanh", 6),
        recurrent_activation=Activation("hard_sigmoid", 5),
    )
    image = encode(model, EngineConfig(num_pe=4))
    x = np.random.default_rng(21).normal(0.0, 1.0, (1, 5, 4))
    trace = run_golden(image, x)
    hs, logits = _naive_engine(model, image.types, trace.x[0])
    assert np.array_equal(trace.h[0][0], np.asarray(hs[0], np.int64))
    assert np.array_equal(trace.logits[0], np.asarray(logits, np.int64))


# --- errors -----------------------------------------------------------------------------------------


def test_refusals_name_the_option_and_value():
    model = random_model(3, 5, (6,), 2, 0.5)
    with pytest.raises(CodesignError, match="--pes 0"):
        encode(model, EngineConfig(num_pe=0))
    with pytest.raises(CodesignError, match="--pes 65"):
        encode(model, EngineConfig(num_pe=65))
    with pytest.raises(CodesignError, match="--index-width 0"):
        encode(model, EngineConfig(num_pe=4, index_width=0))
    with pytest.raises(CodesignError, match="--weight-width 3"):
        encode(model, EngineConfig(num_pe=4, weight_width=3))
    with pytest.raises(CodesignError, match="--weight-width 8 at fraction 7"):
        encode(model, EngineConfig(num_pe=4, weight_width=8))  # |w| up to 2 needs 9 bits at fraction 7
    need = encode(model, EngineConfig(num_pe=4)).depth
    with pytest.raises(CodesignError, match=f"--max-depth {need - 1}"):
        encode(model, EngineConfig(num_pe=4, max_depth=need - 1))
    assert encode(model, EngineConfig(num_pe=4, max_depth=need)).depth == need
    from dataclasses import replace

    bad = replace(model, dense_bias=np.zeros(model.classes + 1))
    with pytest.raises(CodesignError, match="dense_bias: shape"):
        encode(bad, EngineConfig(num_pe=4))
    three = replace(model, layers=model.layers * 3)
    with pytest.raises(CodesignError, match="1 to 2 LSTM layers"):
        encode(three, EngineConfig(num_pe=4))
    from codesign.spec import Activation

    with pytest.raises(CodesignError, match=r"model\.activation\.bits"):
        encode(replace(model, activation=Activation("tanh")), EngineConfig(num_pe=4))
    with pytest.raises(CodesignError, match=r"model\.recurrent_activation\.bits"):
        encode(replace(model, recurrent_activation=Activation("hard_sigmoid")), EngineConfig(num_pe=4))


def test_gru_without_reset_after_and_simple_rnn_are_refused():
    from dataclasses import replace

    from codesign.engine.encoder import check_spec

    gru = load_spec(ROOT / "models" / "basicmotions_gru" / "spec.yml")
    check_spec(gru)  # reset_after: true runs
    with pytest.raises(CodesignError, match=r"model\.reset_after: false"):
        check_spec(replace(gru, model=replace(gru.model, reset_after=False)))
    with pytest.raises(CodesignError, match="model.cell: 'simple_rnn'"):
        check_spec(replace(gru, model=replace(gru.model, cell="simple_rnn")))


# --- the committed JapaneseVowels model ----------------------------------------------------------------


@pytest.fixture(scope="module")
def jv():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from codesign.models.train import load_trained

    spec = load_spec(JV)
    return spec, load_trained(spec)


def test_engine_weights_are_the_qkeras_quantized_weights(jv):
    spec, trained = jv
    model = model_from_trained(spec, trained.model)
    cell = trained.model.get_layer("rnn1").cell
    kernel, recurrent, bias = trained.model.get_layer("rnn1").get_weights()
    for mine, quantizer, latent in (
        (model.layers[0].kernel, cell.kernel_quantizer_internal, kernel),
        (model.layers[0].recurrent_kernel, cell.recurrent_quantizer_internal, recurrent),
        (model.layers[0].bias, cell.bias_quantizer_internal, bias),
    ):
        assert np.array_equal(mine, np.asarray(quantizer(latent)))
    head = trained.model.get_layer("head")
    assert np.array_equal(
        model.dense_kernel, np.asarray(head.kernel_quantizer_internal(head.get_weights()[0]))
    )


def test_golden_accuracy_on_japanese_vowels(jv):
    spec, trained = jv
    from codesign.reference import ReferenceModel

    ds = trained.dataset
    image = encode(model_from_trained(spec, trained.model), EngineConfig(num_pe=8))
    trace = run_golden(image, ds.x_test)
    ref = ReferenceModel.from_keras(spec, trained.model, quantized=True).trace(ds.x_test)
    # Issue 9: the golden model is QKeras' arithmetic exactly (the float64 reference), bit for bit.
    assert np.array_equal(trace.logits_float(), ref.logits)
    assert np.array_equal(trace.h_float(0), ref.layers[0].h)
    for sample in (0, 1):  # the literal PE walk on the real images
        walk = run_golden_from_memory(image, trace.x[sample])
        assert np.array_equal(walk.h[0][0], trace.h[0][sample])
        assert np.array_equal(walk.logits[0], trace.logits[sample])
    report = predict_cycles(image, trace)
    assert report.ideal_cycles_per_step <= report.matrix_cycles_per_step


def test_codesign_rtl_stage(jv, tmp_path):
    from codesign.engine import command

    parser = argparse.ArgumentParser()
    command.configure(parser)
    args = parser.parse_args([str(JV), "--pes", "4", "--out", str(tmp_path), "-q"])
    assert command.run(args) == 0
    folder = tmp_path / "jvowels_lstm"
    report = json.loads((folder / "report.json").read_text())
    for key in (
        "num_pe",
        "memory_depth",
        "nnz_per_pe",
        "words_per_pe",
        "cycles_per_step",
        "ideal_cycles_per_step",
        "pe_utilization",
        "step_efficiency",
        "accuracy_golden",
    ):
        assert key in report
    image = load_image(folder)
    assert image.num_pe == report["num_pe"] == 4
    assert image.depth == report["memory_depth"] == max(report["words_per_pe"])
    trace = run_golden(image, jv[1].dataset.x_test)
    assert np.mean(trace.predictions == jv[1].dataset.y_test) == report["accuracy_golden"]
    model = predict_cycles(image, trace)
    assert model.cycles_per_step == report["cycles_per_step"]
    assert report["step_efficiency"] == model.step_efficiency
    assert model.step_efficiency == pytest.approx(model.ideal_cycles_per_step / model.cycles_per_step)
    svh = (folder / "engine_params.svh").read_text()
    names = [line.split()[2] for line in svh.splitlines() if line.startswith("localparam")]
    assert len(names) == len(set(names))
    refused = tmp_path / "models" / "basicmotions_gru"
    shutil.copytree(ROOT / "models" / "basicmotions_gru", refused)
    spec_text = (refused / "spec.yml").read_text()
    (refused / "spec.yml").write_text(spec_text.replace("reset_after: true", "reset_after: false"))
    bad = parser.parse_args([str(refused / "spec.yml"), "--pes", "4", "--out", str(tmp_path / "out")])
    with pytest.raises(CodesignError, match="reset_after: false"):
        command.run(bad)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "act, rec",
    [
        (("tanh", 8), ("sigmoid", 8)),
        (("hard_tanh", 5), ("hard_sigmoid", 4)),
        (("tanh", 3), ("hard_sigmoid", 10)),
    ],
)
def test_table_activations_are_exact_at_every_boundary(act, rec):
    """The table lookup equals the reference's quantized activation on both sides of every level
    boundary and on random values, for the accumulator grid and the exact c_t grid."""
    from codesign.engine.activation import lookup
    from codesign.spec import Activation

    model = random_model(5, 4, (3,), 2, activation=Activation(*act), recurrent_activation=Activation(*rec))
    image = encode(model, EngineConfig(num_pe=2))
    t = image.types
    rng = np.random.default_rng(1)
    for table, step, a, kind in (
        (image.sigmoid_table, image.sigmoid_step, model.recurrent_activation, "gate"),
        (image.tanh_table, image.tanh_step, model.activation, "state"),
    ):
        fn = activation_fn(a, kind, quantized=True)
        shift = t.bound_frac - t.table_in.frac
        cells = np.flatnonzero((table >> t.gate.width) < (1 << shift))
        assert cells.size > 0
        cell = np.where(cells >= len(table) // 2, cells - len(table), cells)
        bounds = (cell << shift) + (table[cells] >> t.gate.width)  # on the 2^-bound_frac grid
        for src in (t.acc, t.cell_sum):
            first = -((-bounds) >> (t.bound_frac - src.frac))  # ceil onto src's grid
            z = np.concatenate(
                [first - 1, first, first + 1, rng.integers(-(20 << src.frac), 20 << src.frac, 5000)]
            )
            z = np.clip(z, src.raw_min, src.raw_max)
            want = t.gate.quantize(fn(src.to_float(z)))
            assert np.array_equal(lookup(table, step, z, src, t), want)
