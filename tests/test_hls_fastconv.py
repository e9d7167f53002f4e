"""The exact fast block-circulant product: the algorithm in integers, and the C++ kernel under g++."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from codesign.hls.fastconv import fast_circulant, winograd_minimum
from codesign.models.circulant import circulant_index, expand_vectors

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


# -- the C++ kernel (hls/codesign_circulant.h) against numpy, bit for bit ------------------------------

_HARNESS = """#include "codesign_circulant.h"
#include <cstdio>
#include <cstdlib>

typedef ap_fixed<{x_w},{x_i},AP_TRN,AP_WRAP> data_t;
typedef ap_fixed<{w_w},{w_i},AP_TRN,AP_WRAP> weight_t;
typedef ap_fixed<{acc_w},{acc_i},AP_TRN,AP_WRAP> accum_t;
{fast}
static const int N_IN = {n_in}, NC = {n_cols}, NR = {n_rows}, B = {b};

int main() {{
    static const long long x_raw[N_IN] = {{{x}}};
    static const long long v_raw[NR * NC * B] = {{{v}}};
    data_t x[N_IN];
    weight_t v[NR * NC * B];
    for (int i = 0; i < N_IN; i++) x[i].range() = x_raw[i];
    for (int i = 0; i < NR * NC * B; i++) v[i].range() = v_raw[i];
    accum_t y[NR * B];
    const unsigned REUSE = {reuse};
    nnet::codesign_circulant_matvec<data_t, accum_t, weight_t, weight_t, fast_t, N_IN, NC, NR, REUSE, false>(
        x, y, v, 0);
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
    return [ROOT / "hls", vivado / "nnet_utils", vivado / "ap_types"]


@pytest.mark.skipif(shutil.which("g++") is None, reason="needs g++")
@pytest.mark.parametrize("b, reuse", [(4, 1), (8, 1), (8, 5), (16, 3)])
def test_cpp_kernel_equals_the_block_circulant_product(b, reuse, tmp_path):
    from codesign.hls.circulant import fast_struct, fast_types
    from codesign.hls.config import Fixed

    rng = np.random.default_rng(100 + b)
    n_in, n_rows = 2 * b - 3, 2  # the input is zero-padded to whole blocks: the kernel must skip it
    n_cols = -(-n_in // b)
    x_type, w_type = Fixed(16, 6), Fixed(8, 1)
    w_raw = rng.integers(-(2**7), 2**7, (n_rows, n_cols, b))
    w_raw[0, 0] = -(2**7)  # the weight type's extremes, to stress the transform-domain widths
    x_raw = rng.integers(-(2**15), 2**15, n_in)
    x_raw[: b // 2] = -(2**15)
    types = fast_types(fast_circulant(b), x_type, w_type, w_raw / 2.0**w_type.frac)
    direct = expand_vectors(w_raw, n_in).astype(object) @ x_raw.astype(object)  # raw, frac 6 + 7
    acc_int = 1 + int(max(abs(int(d)) for d in direct)).bit_length() - (x_type.frac + w_type.frac)
    acc_int = max(acc_int, 1)
    source = _HARNESS.format(
        x_w=x_type.width,
        x_i=x_type.integer,
        w_w=w_type.width,
        w_i=w_type.integer,
        acc_w=acc_int + x_type.frac + w_type.frac,
        acc_i=acc_int,
        fast=fast_struct("fast_t", fast_circulant(b), types),
        n_in=n_in,
        n_cols=n_cols,
        n_rows=n_rows,
        b=b,
        reuse=reuse,
        x=", ".join(map(str, x_raw)),
        v=", ".join(map(str, w_raw.ravel())),
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
