"""Exact quantized activations (docs/engine.md "Activations"): a table indexed by the floor of the
pre-activation onto coarse cells, each entry holding the cell's base level and the one level boundary
that may fall inside the cell.

A QKeras quantized activation is a staircase: level L_k for z in [b_k, b_{k+1}). Its boundaries b_k are
found on a fine grid (2^-bound_frac, at least as fine as every grid the activation sees: the accumulator z
and the exact c_t) by bisection over `codesign.reference`'s own function, so a boundary is the smallest
grid value where the reference steps up, ties included (quantized hard_sigmoid/hard_tanh midpoints
are exact ties, which tf.round / np.round resolve half to even: the bisection sees that directly). For a
value z on any coarser grid, F(z) >= L_k <=> z >= b_k. The table cell (2^-table_in.frac) is the
coarsest at which no cell holds two boundaries; the table's range leaves its first and last cell free of
boundaries, so a saturated address lands on a constant cell.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from codesign.errors import CodesignError
from codesign.fixed import FixedType
from codesign.spec import Activation

SEARCH_RANGE = 64.0  # every quantized sigmoid/tanh of <= 16 bits is constant beyond +-64


@dataclass(frozen=True)
class Staircase:
    """A quantized activation on the fine grid: the level below the first boundary (gate raw), the
    level step (gate raw) and the boundaries (raw at bound_frac, ascending, one per step)."""

    low: int
    step: int
    boundaries: np.ndarray


def _reference_fn(a: Activation, kind: str):
    from codesign.reference import activation_fn

    return activation_fn(a, kind, quantized=True)


def staircase(a: Activation, kind: str, level_frac: int, gate: FixedType, bound_frac: int) -> Staircase:
    """The boundaries of the reference's quantized activation on the 2^-bound_frac grid."""
    fn = _reference_fn(a, kind)
    scale = 2.0**level_frac

    def level(raw: np.ndarray) -> np.ndarray:  # the level index round(F * 2^level_frac), exact
        return np.round(fn(np.ldexp(raw.astype(np.float64), -bound_frac)) * scale).astype(np.int64)

    lo = np.int64(-SEARCH_RANGE * 2**bound_frac)
    hi = np.int64(SEARCH_RANGE * 2**bound_frac)
    k_lo, k_hi = (int(v) for v in level(np.array([lo, hi])))
    targets = np.arange(k_lo + 1, k_hi + 1, dtype=np.int64)
    a_raw = np.full(targets.shape, lo)  # level(a) < target
    b_raw = np.full(targets.shape, hi)  # level(b) >= target
    while targets.size and (b_raw - a_raw > 1).any():
        mid = a_raw + (b_raw - a_raw) // 2
        up = level(mid) >= targets
        b_raw = np.where(up, mid, b_raw)
        a_raw = np.where(up, a_raw, mid)
    if targets.size and (level(b_raw) != targets).any():
        k = int(np.flatnonzero(level(b_raw) != targets)[0])
        raise CodesignError(
            f"{a.function}({a.bits}): two levels step at {float(np.ldexp(float(b_raw[k]), -bound_frac))} on "
            f"the 2^-{bound_frac} grid; the engine's table cannot hold it"
        )
    step = 1 << (gate.frac - level_frac)
    return Staircase(k_lo * step, step, b_raw)


def table_in_type(stairs: list[Staircase], bound_frac: int) -> FixedType:
    """Coarsest cell 2^-frac with at most one boundary per cell, for every staircase; the narrowest
    signed range whose first and last cell hold no boundary (saturated addresses land there)."""
    for frac in range(0, bound_frac + 1):
        cells = [s.boundaries >> (bound_frac - frac) for s in stairs]
        if all(np.all(np.diff(c) > 0) for c in cells):
            break
    else:
        raise CodesignError(f"activation boundaries closer than 2^-{bound_frac}: no table can hold them")
    used = np.concatenate([np.array([0], np.int64), *cells])
    need = max(1 - int(used.min()), int(used.max()) + 2)  # 2^(W-1) >= need keeps both end cells free
    width = 1 + max(0, (need - 1).bit_length())
    return FixedType(width, width - frac, True, "AP_TRN", "AP_SAT")


def table_entries(
    a: Activation, kind: str, stair: Staircase, gate: FixedType, table_in: FixedType, bound_frac: int
) -> np.ndarray:
    """Entries {offset, base} (unsigned ints, offset above gate.width bits) by address (the table_in
    raw's two's-complement bits). base = the level at the cell's start; offset = the boundary's distance
    from the cell start on the fine grid, or 2^(bound_frac - table_in.frac) when the cell has none."""
    n = 1 << table_in.width
    addr = np.arange(n, dtype=np.int64)
    cell = np.where(addr >= n // 2, addr - n, addr)
    shift = bound_frac - table_in.frac
    start = cell << shift
    base = gate.quantize(_reference_fn(a, kind)(np.ldexp(start.astype(np.float64), -bound_frac)))
    none = 1 << shift
    offset = np.full(n, none, np.int64)
    b = stair.boundaries
    inside = (b & (none - 1)) != 0  # a boundary on a cell start is in that cell's base already
    offset[(b[inside] >> shift) & (n - 1)] = b[inside] & (none - 1)
    return (offset << gate.width) | (base & ((1 << gate.width) - 1))


def lookup(entries: np.ndarray, step: int, z: np.ndarray, src: FixedType, types) -> np.ndarray:
    """The activation of exact values z (raw of src) as gate raw: base + step * (z >= boundary)."""
    tin, gate = types.table_in, types.gate
    cell = tin.cast_raw(z, src)  # floor onto the cells, saturating
    entry = np.asarray(entries, np.int64)[cell & ((1 << tin.width) - 1)]
    sign = 1 << (gate.width - 1)
    base = ((entry & ((1 << gate.width) - 1)) ^ sign) - sign
    offset = entry >> gate.width
    below = src.frac - tin.frac  # z's bits below the cell, moved to the boundary grid
    low = (np.asarray(z, np.int64) & ((1 << below) - 1)) << (types.bound_frac - src.frac) if below > 0 else 0
    return base + step * (low >= offset)
