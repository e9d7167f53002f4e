"""codesign.compress.survey: storage, MACs and the survey's figures, against independent counts derived in
the tests from the storage rules themselves, and the CSC counts against the engine encoder's images."""

from __future__ import annotations

import math

import numpy as np
import pytest

from codesign.compress import survey
from codesign.engine import EngineConfig, encode, gate_matrix
from codesign.engine.synthetic import random_model
from codesign.errors import CodesignError


def sparse_matrix(rng: np.random.Generator, rows: int, cols: int, density: float) -> np.ndarray:
    w = rng.integers(1, 100, size=(rows, cols)) * rng.choice([-1, 1], size=(rows, cols))
    w[rng.random((rows, cols)) >= density] = 0
    return w


def independent_csc_words(w: np.ndarray, num_pe: int, index_width: int) -> tuple[list[int], int]:
    """Per-PE words and total padding, from the rule: a gap of g skipped local rows before a non-zero
    needs floor(g / 2^IndexWidth) padding words (each covers 2^IndexWidth - 1 skipped rows plus its own
    slot), then the non-zero's own word."""
    span = 1 << index_width
    words, padding = [], 0
    for k in range(num_pe):
        local = w[k::num_pe]
        count = 0
        for j in range(local.shape[1]):
            previous = -1
            for row in range(local.shape[0]):
                if local[row, j] != 0:
                    gap = row - previous - 1
                    count += gap // span + 1
                    padding += gap // span
                    previous = row
        words.append(count)
    return words, padding


def test_hand_checkable_column():
    # One PE, one column, non-zeros at rows 0 and 40, a 4-bit index (max rel 15): 39 skipped rows need
    # two padding words (16 row slots each), so 1 + 2 + 1 words.
    w = np.zeros((41, 1), np.int64)
    w[0, 0] = w[40, 0] = 3
    expect_words, expect_pad = independent_csc_words(w, 1, 4)
    s = survey.csc_storage(w, num_pe=1, weight_width=12, index_width=4)
    assert (s.words, s.padding, s.nonzeros) == (expect_words[0], expect_pad, 2)
    assert s.words == 2 + (40 - 0 - 1) // 16 + 0  # the rule once more, by hand: 2 non-zeros + 2 padding
    assert s.bits == s.words * 16 + 2 * s.pointer_bits  # 1 PE x (1 column + 1) pointers


@pytest.mark.parametrize("num_pe", [1, 3, 4, 8])
@pytest.mark.parametrize("index_width", [1, 2, 4])
@pytest.mark.parametrize("density", [0.0, 0.05, 0.3, 1.0])
def test_csc_storage_matches_independent_count(num_pe, index_width, density):
    rng = np.random.default_rng(num_pe * 100 + index_width * 10 + int(density * 10))
    mats = [sparse_matrix(rng, 37, 11, density), sparse_matrix(rng, 9, 5, density)]
    per_pe = np.zeros(num_pe, np.int64)
    padding = 0
    for m in mats:
        words, pad = independent_csc_words(m, num_pe, index_width)
        per_pe += words
        padding += pad
        assert survey.csc_words_per_pe(m, num_pe, index_width).tolist() == words
    s = survey.csc_storage(mats, num_pe=num_pe, weight_width=9, index_width=index_width)
    nonzeros = sum(int((m != 0).sum()) for m in mats)
    depth = max(1, int(per_pe.max()))
    pointers = num_pe * sum(m.shape[1] + 1 for m in mats)
    assert s.nonzeros == nonzeros
    assert s.padding == padding
    assert s.words == int(per_pe.sum()) == nonzeros + padding
    assert s.depth == depth
    assert s.pointers == pointers
    assert s.pointer_bits == math.ceil(math.log2(depth + 1))  # an address up to depth, inclusive
    assert s.bits == s.words * (9 + index_width) + pointers * s.pointer_bits
    assert s.allocated_bits == num_pe * depth * (9 + index_width) + pointers * s.pointer_bits


@pytest.mark.parametrize(
    "seed, inputs, units, density, num_pe, index_width",
    [(1, 5, (7,), 0.3, 4, 2), (2, 12, (32,), 0.1, 8, 4), (3, 6, (9, 5), 0.5, 3, 1), (4, 4, (6,), 0.0, 2, 4)],
)
def test_csc_storage_agrees_with_encoder_images(seed, inputs, units, density, num_pe, index_width):
    model = random_model(seed, inputs, units, 4, density=density)
    image = encode(model, EngineConfig(num_pe=num_pe, weight_width=12, index_width=index_width))
    from_image = survey.csc_storage_of_image(image)
    mats = [gate_matrix(layer) for layer in model.layers] + [model.dense_kernel.T]
    counted = survey.csc_storage(
        mats, num_pe=num_pe, weight_width=12, index_width=index_width, units=[*units, 0]
    )
    assert counted == from_image
    # and the image really holds that many words per PE
    assert from_image.words == sum(len(w) for w in image.pe_weight)
    assert from_image.padding == sum(int((w == 0).sum()) for w in image.pe_weight)


def test_block_sparse_storage_matches_loop():
    rng = np.random.default_rng(5)
    w = np.zeros((16, 12), np.int64)
    for br in range(4):
        for bc in range(3):
            if rng.random() < 0.4:
                w[4 * br : 4 * br + 4, 4 * bc : 4 * bc + 4] = sparse_matrix(rng, 4, 4, 0.6)
    nonzero_blocks = sum(
        1 for br in range(4) for bc in range(3) if np.any(w[4 * br : 4 * br + 4, 4 * bc : 4 * bc + 4])
    )
    s = survey.block_sparse_storage(w, (4, 4), value_bits=8)
    assert s.nonzero_blocks == nonzero_blocks
    index_bits = max(1, math.ceil(math.log2(3)))  # a block column in 0..2
    pointer_bits = max(1, math.ceil(math.log2(nonzero_blocks + 1)))
    assert s.bits == nonzero_blocks * 16 * 8 + nonzero_blocks * index_bits + (4 + 1) * pointer_bits
    with pytest.raises(CodesignError, match="does not divide"):
        survey.block_sparse_storage(w, (5, 4), 8)


def test_circulant_storage_counts_padded_blocks():
    shape, b = (128, 44), 8
    # every element belongs to one b x b block; a partial block at the edge still has a whole vector
    blocks = len({(i // b, j // b) for i in range(shape[0]) for j in range(shape[1])})
    assert survey.circulant_blocks(shape, b) == blocks
    assert survey.circulant_storage_bits(shape, b, 6) == blocks * b * 6


def test_macs_skip_zero_weights():
    rng = np.random.default_rng(9)
    layer, head = sparse_matrix(rng, 16, 10, 0.3), sparse_matrix(rng, 3, 4, 0.5)
    steps = 7
    expect = 0
    for _ in range(steps):
        expect += sum(1 for v in layer.ravel() if v != 0)
    expect += sum(1 for v in head.ravel() if v != 0)
    assert survey.macs_per_sequence([layer], head, steps) == expect
    assert survey.dense_macs_per_sequence([layer.shape], head.shape, steps) == 160 * steps + 12


def test_flags_and_relative_performance():
    base = 0.9622
    assert survey.es_flag(base + 0.001, base) == "S"
    assert survey.es_flag(base, base) == "E"
    assert survey.es_flag(base - 0.01, base, tolerance=0.01) == "E"  # exactly one point lost
    assert survey.es_flag(base - 0.0101, base, tolerance=0.01) == ""
    assert survey.relative_performance(base / 2, base) == pytest.approx(50.0)


def test_survey_row_and_table():
    params, bits = 1000, 8
    size_bits = survey.dense_storage_bits(params, bits)
    row = survey.survey_row(
        "m",
        "8-bit",
        params_before=params,
        params_after=params,
        size_bits=size_bits,
        macs=500,
        dense_macs=1000,
        accuracy=0.95,
        baseline_accuracy=0.96,
    )
    assert row.memory_savings == pytest.approx(32 / bits)
    assert row.compute_savings == pytest.approx(2.0)
    assert row.size_kb == pytest.approx(params * bits / 8 / 1024)
    assert row.flag == "E"
    table = survey.survey_table_markdown([row, row.as_dict()]).strip().splitlines()
    assert len(table) == 2 + 2
    assert all(line.count("|") == len(survey.SURVEY_COLUMNS) + 1 for line in table)
