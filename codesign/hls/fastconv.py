"""Exact fast products with b x b circulant blocks: a bilinear algorithm y = C((A x) * (B v)) / b.

A circulant block W[r, c] = v[(r - c) mod b] times x is the cyclic convolution y = v x mod (s^b - 1). The
FFT diagonalises it with complex twiddles; in fixed point those are rounded, so the result would no longer
be the quantized model's. This module keeps the FFT's structure over the rationals instead (b a power of 2):

- split: s^n - 1 = (s^m - 1)(s^m + 1), m = n/2. The residues of x are lo + hi and lo - hi (the radix-2
  butterfly with twiddles +-1, additions only); recurse on the cyclic half, and
- the negacyclic half, a product mod s^m + 1 (the FFT's irrational twiddles live here), is a linear
  convolution by Karatsuba (3 half-size products) folded with s^m = -1.
- recombine: y_lo = (y_cyc + y_neg) / 2, y_hi = (y_cyc - y_neg) / 2. The halves are deferred: C is integer
  and C(...) equals b y exactly, so one final shift by log2(b) drops only zero bits.

Multiplications per block (the rank R): 1, 2, 5, 14, 41 for b = 1, 2, 4, 8, 16 instead of b^2, all other
operations are additions of small integer multiples. Winograd's theorem puts the minimum over the rationals at
2b - d(b) (d = number of divisors: 5, 12, 27), so an exact circulant product cannot fall below ~2b multiplies
per block; Karatsuba inside the negacyclic factors reaches the minimum at b <= 4 and is within 2 at b = 8.

The transforms amortise: A x_j is computed once per input block and shared by every row block; the products
accumulate in the transform domain over the column blocks, and C is applied once per row block. So a
(rows/b) x (cols/b) block-circulant matrix costs R multiplies per block.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np


@dataclass(frozen=True)
class FastCirculant:
    """y = C((A x) * (B v)) >> log2(b) for y_r = sum_c v[(r - c) mod b] x_c, all integer matrices."""

    block: int
    x_coef: np.ndarray  # A (R, b): the input block into the transform domain, entries in {-1, 0, 1}
    v_coef: np.ndarray  # B (R, b): the defining vector into the transform domain
    y_coef: np.ndarray  # C (b, R): back from the transform domain, times b

    @property
    def rank(self) -> int:
        return self.x_coef.shape[0]

    @property
    def log2_block(self) -> int:
        return self.block.bit_length() - 1

    def product(self, v: np.ndarray, x: np.ndarray) -> np.ndarray:
        """The block product by the fast algorithm, in exact integer arithmetic (object arrays)."""
        v, x = np.asarray(v, object), np.asarray(x, object)
        u = self.y_coef.astype(object) @ ((self.x_coef.astype(object) @ x) * (self.v_coef.astype(object) @ v))
        assert all(value % self.block == 0 for value in u.ravel()), "u must be b times the product"
        return u // self.block


def _karatsuba(m: int) -> tuple[np.ndarray, np.ndarray]:
    """(E, C) with the linear convolution of two length-m vectors = C((E a) * (E b)); C is (2m-1, R)."""
    if m == 1:
        return np.ones((1, 1), np.int64), np.ones((1, 1), np.int64)
    h = m // 2
    e, c = _karatsuba(h)
    r = e.shape[0]
    zero = np.zeros_like(e)
    evaluate = np.block([[e, zero], [zero, e], [e, e]])  # lo, hi, lo + hi
    lo, hi, mid = (np.zeros((2 * m - 1, 3 * r), np.int64) for _ in range(3))
    lo[: 2 * h - 1, :r] = c  # z0 = lo * lo
    hi[2 * h : 2 * h + 2 * h - 1, r : 2 * r] = c  # z2 s^m
    # z1 s^h with z1 = (lo + hi)(lo + hi) - z0 - z2
    mid[h : h + 2 * h - 1, 2 * r :] = c
    mid[h : h + 2 * h - 1, :r] -= c
    mid[h : h + 2 * h - 1, r : 2 * r] -= c
    return evaluate, lo + hi + mid


def _negacyclic(m: int) -> tuple[np.ndarray, np.ndarray]:
    """(E, C) for the product mod s^m + 1: Karatsuba, then fold s^(m+k) = -s^k."""
    e, c = _karatsuba(m)
    fold = np.zeros((m, 2 * m - 1), np.int64)
    fold[np.arange(m), np.arange(m)] = 1
    fold[np.arange(m - 1), np.arange(m, 2 * m - 1)] = -1
    return e, fold @ c


@cache
def fast_circulant(b: int) -> FastCirculant:
    """The exact bilinear algorithm for one b x b circulant block product, b a power of 2."""
    if b < 1 or b & (b - 1):
        raise ValueError(f"block: {b} is not a power of 2")
    if b == 1:
        one = np.ones((1, 1), np.int64)
        return FastCirculant(1, one, one, one)
    m = b // 2
    half = fast_circulant(m)
    e, c_neg = _negacyclic(m)
    eye = np.eye(m, dtype=np.int64)
    total, diff = np.hstack([eye, eye]), np.hstack([eye, -eye])  # x mod (s^m - 1), x mod (s^m + 1)
    x_coef = np.vstack([half.x_coef @ total, e @ diff])
    v_coef = np.vstack([half.v_coef @ total, e @ diff])
    # half.y_coef gives m y_cyc: bring y_neg to the same scale, then y_lo, y_hi = (y_cyc +- y_neg) / 2
    scale = half.block
    y_coef = np.block([[half.y_coef, scale * c_neg], [half.y_coef, -scale * c_neg]])
    return FastCirculant(b, x_coef, v_coef, y_coef)


def winograd_minimum(b: int) -> int:
    """The fewest multiplications of any exact (rational) cyclic convolution of length b: 2b - d(b)."""
    return 2 * b - sum(1 for d in range(1, b + 1) if b % d == 0)
