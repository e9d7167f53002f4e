"""Block-sparse recurrent layers through hls4ml: packing, C++ kernel (g++), full C-simulation, estimate."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from codesign.compress.pruning import block_prune_mask, block_scores, gate_matrix
from codesign.errors import CodesignError
from codesign.hls import block_sparse as bs

from conftest import check_csim_against_reference, recurrent_weights_index, run_hls  # isort: skip

ROOT = Path(__file__).resolve().parents[1]
BLOCK_MODEL = ROOT / "models" / "jvowels_lstm-block75" / "spec.yml"
DENSE_MODEL = ROOT / "models" / "jvowels_lstm" / "spec.yml"
HLS4ML_TEMPLATES = Path(__import__("hls4ml").__file__).parent / "templates" / "vivado"
needs_gxx = pytest.mark.skipif(shutil.which("g++") is None, reason="needs g++")

# Operands on small dyadic grids: every sum below is exact in float64 and in the accumulator type.
DATA_T, DATA_FRAC = "ap_fixed<16,6>", 10
WEIGHT_T, WEIGHT_FRAC = "ap_fixed<8,1>", 7
ACCUM_T = "ap_fixed<48,18>"


def _pruned_kernel(rng, outputs: int, inputs: int, block, sparsity: float) -> np.ndarray:
    """A Keras-layout kernel (inputs, outputs) on the 8-bit grid, block-pruned in the gate-matrix layout."""
    w = np.round(rng.uniform(-1, 1, (outputs, inputs)) * 2**WEIGHT_FRAC).clip(-128, 127) / 2**WEIGHT_FRAC
    return (w * block_prune_mask(w, sparsity, block)).T


def test_encode_blocks_keeps_exactly_the_nonzero_blocks():
    rng = np.random.default_rng(7)
    kernel = _pruned_kernel(rng, 128, 44, (4, 4), 0.75)
    kernel[0, :4] = 0.0  # a kept block may hold zeros; it is still stored whole
    layout = bs.encode_blocks(kernel, "4x4")
    nonzero_blocks = block_scores(kernel.T, (4, 4)) > 0
    assert layout.n_blocks == nonzero_blocks.sum()
    assert layout.density == pytest.approx(nonzero_blocks.mean())
    assert layout.n_weights == 16 * layout.n_blocks
    np.testing.assert_array_equal(layout.gate_matrix(), kernel.T)
    np.testing.assert_array_equal(nonzero_blocks[layout.block_rows, layout.block_cols], True)
    packed = layout.packed()
    b = layout.n_blocks // 2  # packing: block b, row i, column j at b * 16 + i * 4 + j
    np.testing.assert_array_equal(
        packed[b * 16 : (b + 1) * 16].reshape(4, 4),
        kernel.T[4 * layout.block_rows[b] : 4 * layout.block_rows[b] + 4, 4 * layout.block_cols[b] :][:, :4],
    )
    empty = bs.encode_blocks(np.zeros((8, 8)), (4, 4))  # C++ needs a non-empty array
    assert empty.n_blocks == 1 and not empty.packed().any()


@pytest.mark.parametrize("bad", ["4x", "0x4", (4,), (4, 2.5), "ax4", True])
def test_block_shape_errors_name_the_option(bad):
    with pytest.raises(CodesignError, match="BlockSparse"):
        bs.parse_block(bad)


def test_block_that_does_not_tile_the_gate_matrix_is_an_error():
    with pytest.raises(CodesignError, match=r"block 3x4 does not tile the 128x12"):
        bs.encode_blocks(np.ones((12, 128)), (3, 4))


_PROGRAM_HEAD = """
#include <cstdio>
#include "ap_fixed.h"
#include "codesign_block_sparse.h"
typedef {data_t} x_t;
typedef {weight_t} w_t;
typedef {accum_t} acc_t;
"""

_PROGRAM_CASE = """
namespace case{k} {{
{config}
w_t w[{n_weights}] = {{{weights}}};
acc_t b[{n_out}] = {{{bias}}};
x_t x[{n_vectors}][{n_in}] = {{{inputs}}};
void run() {{
    for (int v = 0; v < {n_vectors}; v++) {{
        acc_t y[{n_out}];
        nnet::dense<x_t, acc_t, config>(x[v], y, w, b);
        for (int i = 0; i < {n_out}; i++) std::printf("%.17g\\n", y[i].to_double());
    }}
}}
}}
"""

# (outputs, inputs, block, sparsity, reuse factor): 4x4 as the committed model, 1x4 and 8x8, reuse factors
# that divide the stored weights, that do not, and one above them (idle cycles)
KERNEL_CASES = [
    (128, 12, (4, 4), 0.75, 1),
    (128, 32, (4, 4), 0.75, 7),
    (32, 48, (1, 4), 0.6, 5),
    (64, 64, (8, 8), 0.8, 4096),
    (16, 16, (4, 4), 1.0 - 1e-9, 2),  # everything pruned
]


@needs_gxx
def test_block_sparse_kernel_equals_the_matrix_product(tmp_path):
    """The kernel behind nnet::dense, on configs written by the project's own config generator."""
    rng = np.random.default_rng(11)
    source, expected = [_PROGRAM_HEAD.format(data_t=DATA_T, weight_t=WEIGHT_T, accum_t=ACCUM_T)], []
    for k, (outputs, inputs, block, sparsity, reuse) in enumerate(KERNEL_CASES):
        kernel = _pruned_kernel(rng, outputs, inputs, block, sparsity)
        bias = np.round(rng.uniform(-4, 4, outputs) * 2**WEIGHT_FRAC) / 2**WEIGHT_FRAC
        x = np.round(rng.uniform(-30, 30, (3, inputs)) * 2**DATA_FRAC) / 2**DATA_FRAC
        layout = bs.encode_blocks(kernel, block)
        config = bs.mult_config_cpp("config", layout, reuse, "acc_t", "acc_t", "w_t")
        source.append(
            _PROGRAM_CASE.format(
                k=k,
                config=config,
                n_weights=layout.n_weights,
                weights=", ".join(map(repr, layout.packed().tolist())),
                n_out=outputs,
                bias=", ".join(map(repr, bias.tolist())),
                n_vectors=len(x),
                n_in=inputs,
                inputs=", ".join("{" + ", ".join(map(repr, v.tolist())) + "}" for v in x),
            )
        )
        expected.append((x @ kernel + bias).ravel())  # kernel is (inputs, outputs): Keras' x W + b
    runs = "".join(f"    case{k}::run();\n" for k in range(len(KERNEL_CASES)))
    source.append(f"int main() {{\n{runs}}}\n")
    program = tmp_path / "block_sparse.cpp"
    program.write_text("".join(source))
    includes = [bs.HEADER.parent, HLS4ML_TEMPLATES / "nnet_utils", HLS4ML_TEMPLATES / "ap_types"]
    binary = tmp_path / "block_sparse"
    subprocess.run(
        ["g++", "-O0", "-std=c++11", "-w", *(f"-I{p}" for p in includes), str(program), "-o", str(binary)],
        check=True,
    )
    out = subprocess.run([str(binary)], capture_output=True, text=True, check=True).stdout
    np.testing.assert_array_equal(np.array(out.split(), dtype=np.float64), np.concatenate(expected))


@pytest.fixture(scope="module")
def block_csim(tmp_path_factory):
    """`codesign hls` on the block-pruned model: convert, g++ compile, C-simulate all 370 test sequences."""
    out = tmp_path_factory.mktemp("hls") / "jvowels_lstm-block75"
    report, result = run_hls([str(BLOCK_MODEL), "--out", str(out), "-q"])
    return report, out, result


@pytest.fixture(scope="module")
def trained_weights():
    """Quantized (kernel, recurrent kernel) and head of the dense and the block-pruned model, and types."""
    from codesign.hls.config import choose_types
    from codesign.models.train import load_trained
    from codesign.reference import ReferenceModel
    from codesign.spec import load_spec

    models = {}
    for key, path in (("dense", DENSE_MODEL), ("block", BLOCK_MODEL)):
        spec = load_spec(path)
        trained = load_trained(spec)
        reference = ReferenceModel.from_keras(spec, trained.model, quantized=True)
        models[key] = {
            "spec": spec,
            "weights": [(w.kernel, w.recurrent_kernel) for w in reference.layers],
            "head": reference.dense_kernel,
            "types": choose_types(spec, reference, trained.dataset.x_train),
            "steps": trained.dataset.length,
        }
    return models


def test_block_model_is_block_pruned_to_about_75_percent(trained_weights):
    block = trained_weights["block"]
    assert bs.block_of(block["spec"]) == (4, 4) and bs.block_of(trained_weights["dense"]["spec"]) is None
    for kernel, recurrent in block["weights"]:
        zero_blocks = block_scores(gate_matrix(kernel, recurrent), (4, 4)) == 0
        assert abs(zero_blocks.mean() - block["spec"].compression.sparsity) <= 0.01


def test_block_csim_agrees_with_qkeras(block_csim, trained_weights):
    report, out, result = block_csim
    assert report["samples"] == 370
    check_csim_against_reference(BLOCK_MODEL, report, result)  # bit for bit, and accuracies

    # the project stores the packed blocks and calls the block kernel for both products
    firmware = out / "project" / "firmware"
    parameters = (firmware / "parameters.h").read_text()
    assert parameters.count("using kernel = nnet::BlockSparseDense<") == 2
    assert (firmware / "nnet_utils" / bs.HEADER.name).is_file()
    ((kernel, recurrent),) = trained_weights["block"]["weights"]
    n = recurrent_weights_index(firmware)  # hls4ml numbers weights by layer: x_q comes before rnn1
    for name, matrix in ((f"w{n}", kernel), (f"wr{n}", recurrent)):
        layout = bs.encode_blocks(matrix, (4, 4))
        stored = np.loadtxt(firmware / "weights" / f"{name}.txt", delimiter=",")
        np.testing.assert_array_equal(stored, layout.packed())
        assert f"n_blocks = {layout.n_blocks};" in parameters


@pytest.mark.parametrize(("reuse", "recurrent_reuse"), [(1, None), (4, 8)])
def test_estimate_storage_and_multipliers_fall_with_block_density(trained_weights, reuse, recurrent_reuse):
    from codesign.hls.estimate import estimate

    def project(key, block):
        m = trained_weights[key]
        return estimate(
            m["spec"],
            m["types"],
            m["weights"],
            m["head"],
            m["steps"],
            reuse_factor=reuse,
            recurrent_reuse_factor=recurrent_reuse,
            block=block,
        )

    dense, sparse = project("dense", None), project("block", (4, 4))
    d, s = dense.layers[0], sparse.layers[0]
    assert s["kernel"] == "block_sparse 4x4" and d["kernel"] == "dense"
    ((kernel, recurrent),) = trained_weights["block"]["weights"]
    ((dense_kernel, dense_recurrent),) = trained_weights["dense"]["weights"]

    def density(w):  # fraction of the 4x4 blocks of a gate matrix that are not all zero
        return float(np.mean(block_scores(w, (4, 4)) > 0))

    def nonzero_fraction(*matrices):
        return sum(np.count_nonzero(m) for m in matrices) / sum(m.size for m in matrices)

    # The dense estimate already leaves the dense model's own zero weights out (as hls4ml's dense does), so
    # against it a ratio is density / (1 - z), z that zero fraction (1.85% here). Per product (x W_x at the
    # reuse factor, h W_h at the recurrent one), the ceil of the reuse factor moves a count by < 1.
    for product, blocked, full in (
        ("input_product", kernel, dense_kernel),
        ("recurrent_product", recurrent, dense_recurrent),
    ):
        expected = density(blocked.T) / nonzero_fraction(full)
        assert s[product]["weights"] / d[product]["weights"] == pytest.approx(expected, rel=1e-12)
        dense_multipliers = d[product]["multipliers"]
        assert s[product]["multipliers"] / dense_multipliers == pytest.approx(
            expected, abs=2 / dense_multipliers
        )
    expected = density(gate_matrix(kernel, recurrent)) / nonzero_fraction(dense_kernel, dense_recurrent)
    assert s["weight_bits"] / d["weight_bits"] == pytest.approx(expected, rel=1e-12)
    # block coordinates (row and column bits per kept block) come on top: a few % of the values
    layouts = bs.layer_layouts(kernel, recurrent, (4, 4))
    assert sparse.index_bits == s["index_bits"] == sum(p.index_bits() for p in layouts)
    assert s["index_bits"] < 0.1 * s["weight_bits"]
    assert sparse.multipliers < dense.multipliers and sparse.weight_bits < dense.weight_bits
