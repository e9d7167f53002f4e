"""The spec's precisions mean the same number in QKeras and in codesign.fixed (the one arithmetic core)."""

import numpy as np
import pytest

from codesign.spec import Precision

pytest.importorskip("tensorflow")
from qkeras import quantized_bits  # noqa: E402


@pytest.mark.parametrize(("bits", "integer"), [(8, 0), (8, 2), (4, 0), (6, 1), (12, 3), (16, 4)])
def test_quantized_bits_equals_ap_fixed_rnd_conv_sat(bits, integer):
    p = Precision(bits, integer)
    t = p.fixed_type()
    rng = np.random.default_rng(bits * 100 + integer)
    lsb = t.lsb
    # random values over twice the range, every exact half-LSB tie in range, and the range edges
    ties = (np.arange(t.raw_min, t.raw_max + 1) + 0.5) * lsb
    spread = rng.uniform(2 * p.min_value, 2 * p.max_value, 20000)
    x = np.concatenate([spread, ties, [p.min_value, p.max_value]])
    x = x.astype(np.float32)  # what Keras computes in; every value here is exact in float32
    got = np.asarray(quantized_bits(bits, integer, alpha=1)(x))
    assert np.array_equal(got, t.represent(x.astype(np.float64)))


def test_precision_range_matches_qkeras():
    for bits, integer in [(8, 0), (8, 3), (5, 1)]:
        p = Precision(bits, integer)
        q = quantized_bits(bits, integer, alpha=1)
        # Far outside the range QKeras' straight-through form x + stop_gradient(xq - x) loses xq to
        # float32 rounding (1e6 gives 1.0, not max): why ClipToPrecision keeps latent weights in range.
        big = np.array([8 * p.max_value, 8 * p.min_value], dtype=np.float32)
        assert np.asarray(q(big)).tolist() == [p.max_value, p.min_value]
