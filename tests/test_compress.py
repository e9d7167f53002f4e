"""Pruning masks, the gradual schedule, the compress stage, and the committed pruned models."""

import json
import shutil

import numpy as np
import pytest
from conftest import assert_metrics_match_reference, assert_provenance, write_untrained_lstm

from codesign.compress.command import parse_block, print_compression_table
from codesign.compress.pruning import (
    balanced_prune_mask,
    block_prune_mask,
    block_scores,
    gate_matrix,
    kept_count,
    layer_masks,
    magnitude_prune_mask,
    nnz_per_pe,
    pe_of_rows,
    split_gate_mask,
)
from codesign.compress.schedule import polynomial_sparsity, sparsity_schedule
from codesign.compress.stage import check_options, variant_name
from codesign.errors import CodesignError
from codesign.spec import load_spec

MODELS_DIR = __import__("pathlib").Path(__file__).resolve().parents[1] / "models"
PRUNED = {"jvowels_lstm-balanced90": "balanced", "jvowels_lstm-magnitude90": "magnitude"}


def _weights(shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape)


def _kept_are_largest(w, mask):
    """Every kept |w| >= every pruned |w| (within the set the mask was chosen from)."""
    kept, pruned = np.abs(w[mask]), np.abs(w[~mask])
    return kept.size == 0 or pruned.size == 0 or kept.min() >= pruned.max()


# -- masks -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("sparsity", [0.0, 0.3, 0.9, 0.99])
def test_magnitude_mask_keeps_the_largest(sparsity):
    w = _weights((20, 14))
    mask = magnitude_prune_mask(w, sparsity)
    assert mask.dtype == bool and mask.shape == w.shape
    assert mask.sum() == kept_count(w.size, sparsity)
    assert 1 - mask.sum() / w.size >= sparsity
    assert _kept_are_largest(w, mask)


@pytest.mark.parametrize(
    ("rows", "cols", "num_pe", "sparsity"),
    [
        (128, 44, 8, 0.9),  # JapaneseVowels' LSTM(32): rows a multiple of num_pe
        (20, 10, 8, 0.9),  # 20 rows on 8 PEs: PEs 0-3 hold 3 rows, PEs 4-7 hold 2
        (36, 7, 16, 0.75),
        (12, 5, 5, 0.5),
        (16, 16, 3, 0.8),
    ],
)
def test_balanced_mask_gives_equal_nonzeros_per_pe(rows, cols, num_pe, sparsity):
    w = _weights((rows, cols), seed=rows)
    mask = balanced_prune_mask(w, sparsity, num_pe)
    counts = nnz_per_pe(mask, num_pe)
    capacity = np.bincount(pe_of_rows(rows, num_pe), minlength=num_pe) * cols
    assert (counts <= capacity).all()
    # No PE is full at these sparsities, so the rule is exact equality of per-PE counts ...
    assert (counts < capacity).all() and len(set(counts.tolist())) == 1
    # ... at the largest level within the budget: one more per PE would exceed it.
    budget = kept_count(w.size, sparsity)
    assert counts.sum() <= budget < counts.sum() + num_pe
    assert 1 - mask.sum() / w.size >= sparsity
    for p in range(num_pe):
        rows_p = pe_of_rows(rows, num_pe) == p
        assert _kept_are_largest(w[rows_p], mask[rows_p])


def test_balanced_mask_balances_lstm_rows_by_unit():
    # An LSTM layer's four gate rows of unit u sit on PE u mod NumPe (docs/engine.md), also when NumPe
    # does not divide H: balanced pruning balances under that mapping.
    units, num_pe = 13, 5
    pe = pe_of_rows(4 * units, num_pe, units)
    assert (pe.reshape(4, units) == np.arange(units) % num_pe).all()
    assert (pe_of_rows(4 * 16, 8, 16) == np.arange(64) % 8).all()  # = r mod NumPe when NumPe divides H
    mask = balanced_prune_mask(_weights((4 * units, 20), seed=13), 0.8, num_pe, units)
    counts = nnz_per_pe(mask, num_pe, units)
    assert len(set(counts.tolist())) == 1


def test_balanced_mask_fills_small_pes_when_density_exceeds_them():
    # 10 rows on 4 PEs: PEs 0-1 hold 3 rows (12 weights), PEs 2-3 hold 2 rows (8). At 10% sparsity the
    # budget (36) is more than 4 x 8, so the 2-row PEs keep everything and the others share the rest equally.
    w = _weights((10, 4), seed=3)
    mask = balanced_prune_mask(w, 0.1, 4)
    counts = nnz_per_pe(mask, 4)
    capacity = np.bincount(pe_of_rows(10, 4), minlength=4) * 4
    full = counts == capacity
    assert full[2:].all()
    assert len(set(counts[~full].tolist())) == 1
    assert counts.sum() <= kept_count(w.size, 0.1)


def test_balanced_mask_differs_from_magnitude_and_balances_it():
    w = _weights((128, 44), seed=7) * np.repeat([[3.0], [1.0]], 64, axis=0)  # big rows bunched together
    plain = nnz_per_pe(magnitude_prune_mask(w, 0.9), 8)
    balanced = nnz_per_pe(balanced_prune_mask(w, 0.9, 8), 8)
    assert balanced.max() == balanced.min()
    assert balanced.max() <= plain.max()


@pytest.mark.parametrize("score", ["max", "l2"])
@pytest.mark.parametrize(("block", "sparsity"), [((4, 4), 0.9), ((2, 11), 0.5), ((1, 1), 0.7)])
def test_block_mask_zeros_whole_blocks(block, sparsity, score):
    w = _weights((128, 44), seed=11)
    mask = block_prune_mask(w, sparsity, block, score)
    r, c = block
    tiles = mask.reshape(128 // r, r, 44 // c, c)
    assert (tiles.all(axis=(1, 3)) == tiles.any(axis=(1, 3))).all(), "a block is partly kept"
    kept = tiles.any(axis=(1, 3))
    assert kept.sum() == kept_count(kept.size, sparsity)
    assert _kept_are_largest(block_scores(w, block, score), kept)


def test_layer_masks_are_in_keras_layout():
    kernel, recurrent = _weights((12, 128), 1), _weights((32, 128), 2)
    w = gate_matrix(kernel, recurrent)
    assert w.shape == (128, 44)
    assert np.array_equal(w[:, :12], kernel.T) and np.array_equal(w[:, 12:], recurrent.T)
    k_mask, r_mask = layer_masks(kernel, recurrent, "balanced", 0.9, num_pe=8)
    assert k_mask.shape == kernel.shape and r_mask.shape == recurrent.shape
    expected = split_gate_mask(balanced_prune_mask(w, 0.9, 8), 12)
    assert np.array_equal(k_mask, expected[0]) and np.array_equal(r_mask, expected[1])


# -- schedule ----------------------------------------------------------------------------------------


def test_polynomial_schedule_endpoints_and_shape():
    assert polynomial_sparsity(0, 10, 0.9, 0.2) == 0.2
    assert polynomial_sparsity(10, 10, 0.9, 0.2) == 0.9
    steps = sparsity_schedule(0.9, 10)
    assert len(steps) == 10 and steps[-1] == 0.9
    increments = np.diff([0.0, *steps])
    assert (increments > 0).all() and (np.diff(increments) < 0).all(), "fast first, slow at the end"


# -- errors ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("sparsity", [1.0, -0.1, 1.5, "0.9"])
def test_bad_sparsity_is_named(sparsity):
    with pytest.raises(CodesignError, match=rf"sparsity: .*{sparsity}"):
        magnitude_prune_mask(_weights((4, 4)), sparsity)


def test_bad_options_are_named():
    spec = load_spec(MODELS_DIR / "jvowels_lstm")
    cases = [
        (dict(method="balanced", sparsity=0.9, num_pe=None), r"--pes: balanced pruning needs"),
        (dict(method="block", sparsity=0.9), r"--block: block pruning needs a block shape"),
        (dict(method="magnitude", sparsity=0.9, block=(4, 4)), r"--block 4x4: only block pruning uses it"),
        (dict(method="prune", sparsity=0.9), r"--method 'prune' is not one of"),
        (dict(method="magnitude", sparsity=0.9995), r"--sparsity 0.9995 is above 0.999"),
        (dict(method="balanced", sparsity=0.9, num_pe=0), r"--pes 0 is outside 1\.\.64"),
        (dict(method="balanced", sparsity=0.9, num_pe=65), r"--pes 65 is outside 1\.\.64"),
        (dict(method="magnitude", sparsity=1.5), r"--sparsity: 1.5 is outside \[0, 1\)"),
        (dict(method="magnitude", sparsity=0.9, name="jvowels_lstm"), r"--name 'jvowels_lstm' is the base"),
        (dict(method="magnitude", sparsity=0.9, name="a b"), r"--name 'a b' is not a usable model name"),
    ]
    for kwargs, message in cases:
        args = dict(num_pe=None, block=None, name=None) | kwargs
        with pytest.raises(CodesignError, match=message):
            check_options(spec, **args)
    with pytest.raises(CodesignError, match=r"block: 4x3 does not divide the 6x6"):
        block_prune_mask(_weights((6, 6)), 0.5, (4, 3))
    with pytest.raises(CodesignError, match=r"--block: '4by4' is not ROWSxCOLS"):
        parse_block("4by4")
    assert parse_block("4x2") == (4, 2)
    assert check_options(spec, "balanced", 0.9, 8, None, None) == (0.9, "jvowels_lstm-balanced90")
    assert variant_name("block", 0.875, (4, 4)) == "block87p5-4x4"


# -- the stage on a tiny model -----------------------------------------------------------------------

tf = pytest.importorskip("tensorflow")
from codesign.compress.finetune import PruningSchedule  # noqa: E402
from codesign.compress.stage import compress  # noqa: E402
from codesign.models.train import load_trained  # noqa: E402


@pytest.fixture(scope="module")
def tiny_lstm(tmp_path_factory):
    """An LSTM(4) model folder on JapaneseVowels, weights as initialised (pruning needs no trained start
    to be tested, and skipping training keeps the test fast): W is 16 x 16, so 3 PEs get 6, 5, 5 rows."""
    from codesign.models.train import METRICS

    folder, *_ = write_untrained_lstm(tmp_path_factory.mktemp("models") / "tiny", qat_epochs=2)
    (folder / METRICS).write_text(json.dumps({"name": "tiny"}))
    return folder


def _stored(layer, precision_kernel, precision_recurrent):
    """The engine's W as QKeras quantizes it (independently of codesign.fixed)."""
    cell = layer.cell
    kq = np.asarray(cell.kernel_quantizer_internal(cell.kernel))
    rq = np.asarray(cell.recurrent_quantizer_internal(cell.recurrent_kernel))
    return gate_matrix(kq, rq)


def test_compress_smoke_balanced(tiny_lstm):
    base = load_spec(tiny_lstm)
    new = compress(
        base,
        "balanced",
        0.5,
        num_pe=3,
        schedule=PruningSchedule(2, 1),
        final_epochs=2,
        progress=False,
        log=lambda *_: None,
    )
    folder = tiny_lstm.parent / "tiny-balanced50"
    assert new.folder == folder and new.name == "tiny-balanced50"
    assert sorted(p.name for p in folder.iterdir()) == [
        "float.weights.h5",
        "metrics.json",
        "spec.yml",
        "weights.h5",
    ]
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")], "staging folder left behind"
    assert new.compression.method == "balanced" and new.compression.num_pe == 3
    assert new.compression.base == "tiny" and new.compression.sparsity == 0.5
    assert new.model == base.model and new.precision == base.precision

    metrics = json.loads((folder / "metrics.json").read_text())
    assert_provenance(metrics)  # the versions that fine-tuned it, not the base model's
    loaded = load_trained(new)
    assert_metrics_match_reference(loaded)  # float32 figures: up to what float32 cannot decide
    assert (
        set(metrics["size_bytes"]) == {"float", "quantized"}
        and metrics["params"] == loaded.model.count_params()
    )

    w = _stored(loaded.model.get_layer("rnn1"), new.precision.kernel, new.precision.recurrent_kernel)
    counts = nnz_per_pe(w, 3, w.shape[0] // 4)  # the LSTM's rows by unit (docs/engine.md)
    assert counts.max() == counts.min() == metrics["nnz_per_pe"]["max"] == metrics["nnz_per_pe"]["min"]
    assert np.count_nonzero(w) == metrics["nnz"]
    assert 1 - np.count_nonzero(w) / w.size == metrics["sparsity"] >= 0.5
    # the float twin carries the same pruned (latent) weights
    float_w = gate_matrix(*loaded.float_model.get_layer("rnn1").get_weights()[:2])
    assert np.array_equal(float_w != 0, w != 0)
    # biases and the dense head are left dense
    head = loaded.model.get_layer("head").get_weights()[0]
    base_head = load_trained(base).model.get_layer("head").get_weights()[0]
    assert np.count_nonzero(head) == np.count_nonzero(base_head) == head.size


def test_compress_cli_block_and_bad_block(tiny_lstm, capsys):
    import argparse

    from codesign.compress import command

    parser = argparse.ArgumentParser()
    command.configure(parser)
    args = parser.parse_args(
        [
            str(tiny_lstm / "spec.yml"),
            "--method",
            "block",
            "--sparsity",
            "0.75",
            "--block",
            "4x4",
            "--steps",
            "1",
            "--epochs-per-step",
            "1",
            "-q",
        ]
    )
    assert command.run(args) == 0
    out = capsys.readouterr().out
    assert "tiny-block75-4x4: block pruning of tiny to 0.75, blocks 4x4" in out
    folder = tiny_lstm.parent / "tiny-block75-4x4"
    loaded = load_trained(load_spec(folder))
    spec = loaded.spec
    w = _stored(loaded.model.get_layer("rnn1"), spec.precision.kernel, spec.precision.recurrent_kernel)
    tiles = (w != 0).reshape(4, 4, 4, 4)
    assert (tiles.all(axis=(1, 3)) == tiles.any(axis=(1, 3))).all()
    assert tiles.any(axis=(1, 3)).sum() == kept_count(16, 0.75)

    args = parser.parse_args(
        [str(tiny_lstm / "spec.yml"), "--method", "block", "--sparsity", "0.5", "--block", "3x4"]
    )
    with pytest.raises(CodesignError, match=r"--block 3x4 does not divide the 16x16 gate matrix .* of rnn1"):
        command.run(args)
    assert not (tiny_lstm.parent / "tiny-block50-3x4").exists()


# -- the committed pruned models ---------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(PRUNED))
def test_committed_pruned_models_reproduce(name, model_copy):
    folder = model_copy(name)
    shutil.copytree(MODELS_DIR / "jvowels_lstm", folder.parent / "jvowels_lstm")
    spec = load_spec(folder)
    assert spec.compression.method == PRUNED[name] and spec.compression.base == "jvowels_lstm"
    trained = load_trained(spec)
    metrics = trained.metrics
    # metrics.json is float32 Keras on the training machine: checked against the float64 reference
    assert_metrics_match_reference(trained)

    w = _stored(trained.model.get_layer("rnn1"), spec.precision.kernel, spec.precision.recurrent_kernel)
    nnz = np.count_nonzero(w)
    assert nnz == metrics["nnz"] and 1 - nnz / w.size == metrics["sparsity"] >= 0.895
    counts = nnz_per_pe(w, 8)
    assert [counts.max(), counts.min()] == [metrics["nnz_per_pe"]["max"], metrics["nnz_per_pe"]["min"]]
    if PRUNED[name] == "balanced":
        assert counts.max() == counts.min(), "balanced pruning must give every PE the same non-zeros"
        # the engine's bar: within 1 point of the unpruned quantized model
        base = json.loads((MODELS_DIR / "jvowels_lstm" / "metrics.json").read_text())
        assert metrics["accuracy"]["quantized"] >= base["accuracy"]["quantized"] - 0.01


def test_compression_table_prints_both_models(capsys):
    metrics = json.loads((MODELS_DIR / "jvowels_lstm-balanced90" / "metrics.json").read_text())
    print_compression_table(metrics)
    out = capsys.readouterr().out
    assert (
        f"{metrics['accuracy']['quantized']:.4f}" in out
        and f"{metrics['base']['accuracy']['quantized']:.4f}" in out
    )
    assert f"max {metrics['nnz_per_pe']['max']}, min {metrics['nnz_per_pe']['min']}" in out
