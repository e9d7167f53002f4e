"""Block-circulant LSTM: the layer, the least-squares projection, compression, and the hls4ml C-simulation."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import assert_provenance

from codesign.circulant import circulant_projection, circulant_vectors
from codesign.errors import CodesignError

from conftest import (  # isort: skip
    assert_metrics_match_reference,
    check_csim_against_reference,
    recurrent_weights_index,
    run_hls,
)

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "models" / "jvowels_lstm-circulant8"


def _circulant_by_definition(vectors: np.ndarray, cols: int) -> np.ndarray:
    """W[i b + r, j b + c] = v_ij[(r - c) mod b], written out element by element."""
    rb, cb, b = vectors.shape
    w = np.zeros((rb * b, cb * b))
    for i in range(rb):
        for j in range(cb):
            for r in range(b):
                for c in range(b):
                    w[i * b + r, j * b + c] = vectors[i, j, (r - c) % b]
    return w[:, :cols]


def test_expansion_follows_the_definition():
    from codesign.circulant import expand_vectors

    v = np.random.default_rng(1).normal(size=(4, 2, 4))
    np.testing.assert_array_equal(expand_vectors(v, 7), _circulant_by_definition(v, 7))


@pytest.mark.parametrize(("shape", "b"), [((16, 12), 8), ((32, 32), 4), ((16, 16), 16)])
def test_projection_is_the_least_squares_solution(shape, b):
    rng = np.random.default_rng(7)
    w = rng.normal(size=shape)
    rows, cols = shape
    # golden: lstsq over the vector entries, the matrix written as A @ vec(v) by the definition
    n = (-(-rows // b)) * (-(-cols // b)) * b
    basis = np.eye(n).reshape(n, -(-rows // b), -(-cols // b), b)
    a = np.stack([_circulant_by_definition(e, cols).ravel() for e in basis], axis=1)
    golden, *_ = np.linalg.lstsq(a, w.ravel(), rcond=None)
    np.testing.assert_allclose(circulant_vectors(w, b).ravel(), golden, atol=1e-12)
    p = circulant_projection(w, b)
    np.testing.assert_allclose(circulant_projection(p, b), p, atol=1e-12)  # a projection: idempotent
    for _ in range(5):  # no other block-circulant matrix is nearer
        other = _circulant_by_definition(rng.normal(size=(-(-rows // b), -(-cols // b), b)), cols)
        assert np.linalg.norm(w - p) <= np.linalg.norm(w - other)
        assert abs(np.sum((w - p) * other)) < 1e-9  # the residual is orthogonal to the subspace


def _layers(block: int = 8, inputs: int = 12, units: int = 16):
    import tensorflow as tf
    from qkeras import QLSTM

    from codesign.models.circulant import QCirculantLSTM

    kw = dict(
        kernel_quantizer="quantized_bits(8,0,alpha=1)",
        recurrent_quantizer="quantized_bits(8,0,alpha=1)",
        bias_quantizer="quantized_bits(8,2,alpha=1)",
        state_quantizer="quantized_bits(16,4,alpha=1)",
        activation="quantized_tanh(8)",
        recurrent_activation="quantized_sigmoid(8)",
    )
    x = tf.keras.Input((5, inputs))
    circ = QCirculantLSTM(units, block, name="circ", **kw)
    dense = QLSTM(units, name="dense", **kw)
    return tf.keras.Model(x, circ(x)), circ, tf.keras.Model(x, dense(x)), dense


def test_layer_equals_a_qlstm_with_the_expanded_matrices():
    from codesign.circulant import vector_shapes

    tf = pytest.importorskip("tensorflow")
    tf.keras.utils.set_random_seed(3)
    circ_model, circ, dense_model, dense = _layers()
    assert [tuple(w.shape) for w in circ.weights[:2]] == list(vector_shapes(12, 16, 8))
    dense.set_weights(circ.dense_weights())
    x = np.random.default_rng(2).normal(size=(32, 5, 12)).astype(np.float32)
    np.testing.assert_array_equal(circ_model.predict(x, verbose=0), dense_model.predict(x, verbose=0))


def test_layer_trains_its_defining_vectors():
    tf = pytest.importorskip("tensorflow")
    tf.keras.utils.set_random_seed(5)
    circ_model, circ, _, _ = _layers(block=4, inputs=6, units=8)
    rng = np.random.default_rng(5)
    x = rng.normal(size=(64, 5, 6)).astype(np.float32)
    y = rng.normal(size=(64, 8)).astype(np.float32) * 0.3
    circ_model.compile(tf.keras.optimizers.Adam(0.02), "mse")
    before = [w.copy() for w in circ.get_weights()]
    loss0 = circ_model.evaluate(x, y, verbose=0)
    circ_model.fit(x, y, epochs=15, batch_size=64, verbose=0)
    assert circ_model.evaluate(x, y, verbose=0) < loss0
    for old, new in zip(before, circ.get_weights(), strict=True):
        assert old.shape == new.shape and not np.array_equal(old, new)


def test_spec_errors_name_the_field(model_copy):
    from codesign.circulant import check_block

    with pytest.raises(CodesignError, match="block"):
        check_block(5, 32)
    with pytest.raises(CodesignError, match="divide"):
        check_block(16, 24)
    folder = model_copy("basicmotions_gru")
    from codesign.compress.circulant import compress_circulant
    from codesign.spec import load_spec

    with pytest.raises(CodesignError, match="model.cell"):
        compress_circulant(load_spec(folder), (4, 4), progress=False)


def test_committed_model_loads_and_matches_reference_and_metrics():
    """The circulant layer's Keras model (float32) against the float64 reference of its expanded matrices:
    logits within FLIP_TOL, argmax on every decided sample, and metrics.json's accuracies within what
    float32 cannot decide (conftest.py), on all 370 test sequences."""
    from codesign.models.train import load_trained
    from codesign.spec import load_spec

    trained = load_trained(load_spec(MODEL))
    assert trained.spec.compression.method == "circulant"
    assert_metrics_match_reference(trained)


@pytest.fixture(scope="module")
def csim_report(tmp_path_factory):
    """The committed circulant model through `codesign hls`: convert, g++ compile, C-simulate all 370."""
    # A copy, so that nothing is written beside the committed model; its '-' name also checks that
    # csim.project_name makes a C++ identifier of it.
    model = tmp_path_factory.mktemp("models") / MODEL.name
    shutil.copytree(MODEL, model)
    out = tmp_path_factory.mktemp("hls") / model.name
    report, result = run_hls([str(model / "spec.yml"), "--out", str(out), "-q"])
    report["channels"] = _channels(model)
    return report, out, result


def _channels(model: Path) -> int:
    from codesign.data import load_dataset
    from codesign.spec import load_spec

    spec = load_spec(model)
    return load_dataset(spec.dataset, spec.training.validation_fraction, spec.training.seed).channels


@pytest.mark.skipif(shutil.which("g++") is None, reason="needs g++")
def test_csim_agrees_with_qkeras_and_stores_only_the_vectors(csim_report):
    from codesign.circulant import vector_shapes

    report, out, result = csim_report
    metrics = json.loads((MODEL / "metrics.json").read_text())
    assert report["samples"] == 370
    check_csim_against_reference(MODEL / "spec.yml", report, result)  # bit for bit, and accuracies
    firmware = out / "project" / "firmware"
    assert "codesign_circulant_lstm_stack" in next(firmware.glob("*.cpp")).read_text()
    from codesign.spec import load_spec

    spec = load_spec(MODEL)
    units = spec.model.units[0]
    kshape, rshape = vector_shapes(report["channels"], units, spec.compression.block[0])
    kv, rv = int(np.prod(kshape)), int(np.prod(rshape))
    n = recurrent_weights_index(firmware)  # hls4ml numbers weights by layer: x_q comes before rnn1
    for name, size in ((f"w{n}", kv), (f"wr{n}", rv)):
        assert f"Numpy array shape [{size}]" in (firmware / "weights" / f"{name}.h").read_text()
    # the estimate counts what the kernel does: one vector per block, and R fast-product multiplies per
    # block (8-bit weights), less those with a zero transformed weight (constants: synthesis drops them)
    from codesign.hls.fastconv import fast_circulant

    b = spec.compression.block[0]
    fast = fast_circulant(b)
    layer = report["estimate"]["layers"][0]
    for key, name, shape in (("input_product", f"w{n}", kshape), ("recurrent_product", f"wr{n}", rshape)):
        text = (firmware / "weights" / f"{name}.h").read_text()
        vectors = np.array(text[text.rindex("{") + 1 : text.rindex("}")].split(","), float).reshape(-1, b)
        assert layer[key]["weights"] == vectors.size == shape[0] * shape[1] * b
        assert layer[key]["products"] == np.count_nonzero(vectors @ fast.v_coef.T)
    p = spec.precision
    vectors_bits = kv * p.kernel.bits + rv * p.recurrent_kernel.bits
    head_params = metrics["params"] - kv - rv - 4 * units  # the head's kernel and bias
    assert (
        vectors_bits <= report["estimate"]["weight_bits"] <= vectors_bits + head_params * p.dense_kernel.bits
    )


@pytest.mark.skipif(shutil.which("g++") is None, reason="needs g++")
def test_direct_products_on_request_give_the_same_logits(csim_report, tmp_path):
    """`--circulant-product direct` (b^2 multiplies per block) C-simulates to the same logits as the fast
    product, and the estimate counts the expanded matrix's non-zero products."""
    fast_report, _, fast = csim_report
    out = tmp_path / "direct"
    args = [str(MODEL / "spec.yml"), "--out", str(out), "-q", "--circulant-product", "direct"]
    report, result = run_hls(args)
    assert report["circulant_product"] == "direct"
    # both exact: the same logits bit for bit (no Keras figure involved)
    np.testing.assert_array_equal(result.logits_csim, fast.logits_csim)
    for key in ("accuracy_csim", "max_logit_error", "mean_logit_error"):
        assert report[key] == fast_report[key]
    assert "fast_input = false" in (out / "project" / "firmware" / "parameters.h").read_text()
    layer = report["estimate"]["layers"][0]
    assert "x W_x direct, h W_h direct" in layer["kernel"]
    from codesign.models.train import load_trained
    from codesign.reference import ReferenceModel
    from codesign.spec import load_spec

    spec = load_spec(MODEL)
    w = ReferenceModel.from_keras(spec, load_trained(spec).model, quantized=True).layers[0]
    assert layer["input_product"]["products"] == np.count_nonzero(w.kernel)  # expanded, quantized
    assert layer["recurrent_product"]["products"] == np.count_nonzero(w.recurrent_kernel)


@pytest.mark.slow  # ~30 s: loads, fine-tunes one epoch, evaluates and saves a model
def test_compress_writes_a_circulant_model_folder(model_copy):
    from codesign.circulant import vector_shapes
    from codesign.compress import compress
    from codesign.models.train import load_trained
    from codesign.spec import load_spec

    base = load_spec(model_copy("jvowels_lstm"))
    new = compress(
        base, method="circulant", block=(8, 8), final_epochs=1, progress=False, log=lambda *a: None
    )
    assert new.folder.name == "jvowels_lstm-circulant8"
    assert new.compression.method == "circulant" and new.compression.block == (8, 8)
    trained = load_trained(new)  # builders.build_model makes the circulant layer from the spec
    layer = trained.model.get_layer("rnn1")
    shapes = vector_shapes(trained.dataset.channels, base.model.units[0], 8)
    assert [tuple(w.shape) for w in layer.get_weights()[:2]] == list(shapes)
    metrics = json.loads((new.folder / "metrics.json").read_text())
    assert_provenance(metrics)
    p = base.precision
    bits = int(np.prod(shapes[0])) * p.kernel.bits + int(np.prod(shapes[1])) * p.recurrent_kernel.bits
    assert metrics["storage_bits"]["recurrent_weights"] == bits
