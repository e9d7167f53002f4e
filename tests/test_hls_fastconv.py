"""The exact fast block-circulant product: the algorithm in integers, and the C++ kernel under g++."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from codesign.circulant import circulant_index, expand_vectors
from codesign.hls.fastconv import fast_circulant, winograd_minimum
from codesign.resources import HLS_INCLUDE_DIR

ROOT = Path(__file__).resolve().parents[1]


def _karatsuba_rank(m: int) -> int:
    return 1 if m == 1 else 3 * _karatsuba_rank(m // 2)


@pytest.mark.parametrize("b", [1, 2, 4, 8, 16, 32])
def test_fast_product_equals_the_circulant_block_exactly(b):
    rng = np.random.default_rng(b)
    fast = fast_circulant(b)
    for _ in range(40):
        v = rng.integers(-(2**40), 2**40, b)
        x = rng.integers(-(2**40), 2**40, b)
        direct = v[circulant_index(b)].astype(object) @ x.astype(object)
        assert list(fast.product(v, x)) == list(direct)
    eye = np.eye(b, dtype=np.int64)
    for v in eye:  # every basis pair: the bilinear form is the circulant one, coefficient by coefficient
        for x in eye:
            assert list(fast.product(v, x)) == list(v[circulant_index(b)] @ x)


@pytest.mark.parametrize("b", [2, 4, 8, 16])
def test_rank_is_the_split_plus_karatsuba_count_and_not_below_winograd(b):
    fast = fast_circulant(b)
    assert fast.rank == fast_circulant(b // 2).rank + _karatsuba_rank(b // 2)
    assert winograd_minimum(b) <= fast.rank < b * b
    assert set(np.unique(fast.x_coef)) <= {-1, 0, 1}  # the input transform is additions only


def test_block_must_be_a_power_of_two():
    with pytest.raises(ValueError, match="block: 12"):
        fast_circulant(12)


# -- the C++ kernel (hls/include/codesign_circulant.h) against numpy, bit for bit --------------------------


def test_programs_are_the_matrices_and_cheaper_than_them():
    for b in (2, 4, 8, 16):
        f = fast_circulant(b)
        assert f.forward.matrix.shape == (f.rank, b) and f.inverse.matrix.shape == (b, f.rank)
        assert f.forward.additions < np.count_nonzero(f.x_coef) - f.rank + 1
        assert f.inverse.additions <= np.count_nonzero(f.y_coef) - b
        for program in (f.forward, f.inverse):  # additions and shifts only: the multiplies are the R products
            assert "*" not in program.cpp("in", "out", "T")


_HARNESS = """#include "codesign_circulant.h"
#include <cstdio>

typedef ap_fixed<{x_w},{x_i},AP_TRN,AP_WRAP> x_t;
typedef ap_fixed<{h_w},{h_i},AP_TRN,AP_WRAP> h_t;
typedef ap_fixed<{w_w},{w_i},AP_TRN,AP_WRAP> weight_t;
typedef ap_fixed<{acc_w},{acc_i},AP_TRN,AP_WRAP> accum_t;
{fast}
static const int NX = {nx}, NH = {nh}, CX = {cx}, CH = {ch}, NR = {n_rows}, B = {b};

int main() {{
    static const long long x_raw[NX] = {{{x}}}, h_raw[NH] = {{{h}}};
    static const long long wx_raw[NR * CX * B] = {{{wx}}}, wh_raw[NR * CH * B] = {{{wh}}};
    x_t x[NX];
    h_t h[NH];
    weight_t wx[NR * CX * B], wh[NR * CH * B], bias[NR * B];
    for (int i = 0; i < NX; i++) x[i].range() = x_raw[i];
    for (int i = 0; i < NH; i++) h[i].range() = h_raw[i];
    for (int i = 0; i < NR * CX * B; i++) wx[i].range() = wx_raw[i];
    for (int i = 0; i < NR * CH * B; i++) wh[i].range() = wh_raw[i];
    for (int i = 0; i < NR * B; i++) bias[i] = 0;
    fast_t::acc_t acc[NR][fast_t::rank];
    for (int i = 0; i < NR; i++)
        for (int r = 0; r < fast_t::rank; r++) acc[i][r] = 0;
    typedef fast_t F;
    const unsigned R = {reuse};
    nnet::codesign_circulant_accumulate<x_t, weight_t, F::in_x_t, F::in_v_t, F, NX, CX, NR, R>(x, wx, acc);
    accum_t y[NR * B], y_direct[NR * B];
    for (int i = 0; i < NR * B; i++) y_direct[i] = 0;
    if ({direct_h}) // h W_h by direct products, added after the fast part's inverse (as the LSTM kernel does)
        nnet::codesign_circulant_direct<h_t, weight_t, accum_t, NH, CH, NR, B, 2>(h, wh, y_direct);
    else
        nnet::codesign_circulant_accumulate<h_t, weight_t, F::rec_x_t, F::rec_v_t, F, NH, CH, NR, 1>(
            h, wh, acc);
    nnet::codesign_circulant_finish<accum_t, weight_t, F, NR>(acc, bias, y);
    for (int i = 0; i < NR * B; i++) y[i] += y_direct[i];
    for (int i = 0; i < NR * B; i++) {{
        ap_int<accum_t::width> raw = y[i].range(); // signed: the bit pattern read as two's complement
        printf("%lld\\n", (long long)raw.to_int64());
    }}
    return 0;
}}
"""


def _include_dirs() -> list[Path]:
    import hls4ml

    vivado = Path(hls4ml.__file__).parent / "templates" / "vivado"
    return [HLS_INCLUDE_DIR, vivado / "nnet_utils", vivado / "ap_types"]


def _raw(values) -> str:
    return ", ".join(map(str, np.asarray(values).ravel()))


@pytest.mark.skipif(shutil.which("g++") is None, reason="needs g++")
@pytest.mark.parametrize("b, reuse, direct_h", [(4, 1, False), (8, 1, False), (8, 5, True), (16, 3, False)])
def test_cpp_kernel_equals_the_block_circulant_products(b, reuse, direct_h, tmp_path):
    """W_x x + W_h h through the kernel's accumulate / finish (h W_h also by the direct products), at the
    types' extremes, equals numpy."""
    from codesign.hls.circulant_kernel import circulant_layer
    from codesign.hls.types import Fixed

    rng = np.random.default_rng(100 + b)
    nx, nh, n_rows = 2 * b - 3, 2 * b, 2  # x is zero-padded to whole blocks: the kernel must skip that
    cx, ch = -(-nx // b), nh // b
    x_type, h_type, w_type = Fixed(16, 6), Fixed(8, 1), Fixed(8, 1)
    wx, wh = rng.integers(-(2**7), 2**7, (n_rows, cx, b)), rng.integers(-(2**7), 2**7, (n_rows, ch, b))
    wx[0, 0] = -(2**7)  # the extremes stress the transform-domain widths
    x, h = rng.integers(-(2**15), 2**15, nx), rng.integers(-(2**7), 2**7, nh)
    x[:b] = -(2**15)  # a whole block at the minimum: the forward program's widest value, -b 2^5
    h[:b] = -(2**7)  # one block at its extreme, one random: a constant h would hide a transposed block
    scale = 2.0**w_type.frac
    layer = circulant_layer(b, wx / scale, wh / scale, nx, x_type, h_type, w_type, w_type)
    # raw results at x frac + w frac (h's products have fewer fraction bits: shift them up)
    direct = expand_vectors(wx, nx).astype(object) @ x.astype(object) + (
        expand_vectors(wh, nh).astype(object) @ h.astype(object)
    ) * 2 ** (x_type.frac - h_type.frac)
    acc_int = max(1, 1 + int(max(abs(int(d)) for d in direct)).bit_length() - (x_type.frac + w_type.frac))
    source = _HARNESS.format(
        x_w=x_type.width,
        x_i=x_type.integer,
        h_w=h_type.width,
        h_i=h_type.integer,
        w_w=w_type.width,
        w_i=w_type.integer,
        acc_w=acc_int + x_type.frac + w_type.frac,
        acc_i=acc_int,
        fast=layer.fast_struct("fast_t"),
        nx=nx,
        nh=nh,
        cx=cx,
        ch=ch,
        n_rows=n_rows,
        b=b,
        reuse=reuse,
        direct_h="true" if direct_h else "false",
        x=_raw(x),
        h=_raw(h),
        wx=_raw(wx),
        wh=_raw(wh),
    )
    (tmp_path / "h.cpp").write_text(source)
    includes = [f"-I{d}" for d in _include_dirs()]
    build = subprocess.run(
        ["g++", "-O0", "-std=c++14", "-w", *includes, "h.cpp", "-o", "h"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stderr[-3000:]
    out = subprocess.run(["./h"], cwd=tmp_path, capture_output=True, text=True, timeout=60, check=True)
    assert [int(v) for v in out.stdout.split()] == [int(d) for d in direct]
