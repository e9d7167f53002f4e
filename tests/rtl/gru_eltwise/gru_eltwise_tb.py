"""cocotb coroutines for rtl/gru_eltwise.sv (with act_table and fixed_cast): tables written through the
load port, then per hidden unit the rows z, r, n_x, n_h and hs_{t-1}: random ones (incl. saturating
pre-activations and the accumulator's extremes), z walking every sigmoid cell, r on both sides of every
sigmoid boundary, and the candidate's sum a = z_nx + r * z_nh on every tanh cell and on both sides of every
tanh boundary (on the exact cand_sum grid, finer than the accumulator's). The stored state, the exact h_t
and q_state(h_t) must equal codesign.engine's golden `gru_elementwise`. The image's state type is narrow
(ap_fixed<10,0>), so q_state(h_t) rounds and saturates."""

import dataclasses

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import RisingEdge

from codesign.engine import EngineConfig, encode, random_model
from codesign.engine.activation import lookup
from codesign.engine.golden import gru_elementwise
from codesign.fixed import FixedType
from codesign.tbkit import collect_eltwise, load_eltwise_tables

STATE = FixedType(10, 0, True, "AP_RND_CONV", "AP_SAT")  # [-0.5, 0.5): h_t (|h| < 1) saturates in it


def eltwise_image():
    """The types and tables of an encoded GRU (quantized tanh/sigmoid, 8 bits) with a narrow state."""
    model = dataclasses.replace(random_model(1, 3, (4,), 2, cell="gru"), cell_type=STATE)
    return encode(model, EngineConfig(num_pe=4))


def boundaries(table: np.ndarray, types) -> np.ndarray:
    """Every level boundary of a table, on the boundary grid (raw of 2^-bound_frac)."""
    shift = types.bound_frac - types.table_in.frac
    cells = np.flatnonzero((table >> types.gate.width) < (1 << shift))
    cell = np.where(cells >= len(table) // 2, cells - len(table), cells)
    return (cell << shift) + (table[cells] >> types.gate.width)


def stimulus(image, units: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(z (units, 4) acc raw in row order z, r, n_x, n_h; hs_{t-1} (units,) cell raw)."""
    t = image.types
    sig, tanh = image.sigmoid_table, image.tanh_table
    acc, gf = t.acc, t.gate.frac
    span = 12 << acc.frac  # beyond the tables' [-8, 8): the address cast must saturate
    z = rng.integers(-span, span, (units, 4))
    z[:8] = rng.integers(-(1 << acc.frac), 1 << acc.frac, (8, 4))
    z[8, :] = acc.raw_max
    z[9, :] = acc.raw_min
    z[10, 1:] = (acc.raw_max, acc.raw_min, acc.raw_max)  # r * z_nh at the extremes
    hs = rng.integers(t.cell.raw_min, t.cell.raw_max + 1, units)
    hs[8], hs[9] = t.cell.raw_max, t.cell.raw_min
    half = units // 2
    # first half: z walks every sigmoid cell, r both sides of every sigmoid boundary (accumulator grid)
    cell_step = 1 << (acc.frac - t.table_in.frac)
    cells = np.arange(min(half, 1 << t.table_in.width)) - (1 << (t.table_in.width - 1))
    z[16 : 16 + len(cells), 0] = cells * cell_step
    b = boundaries(sig, t)
    first = -((-b) >> (t.bound_frac - acc.frac))  # ceil onto the accumulator grid
    near = np.stack([first - 1, first], axis=1).ravel()[: half - 16]
    z[16 : 16 + len(near), 1] = near
    # second half: r an odd level (so r * z_nh reaches every residue of the cand_sum grid below the
    # accumulator's LSB), a = z_nx + r * z_nh on both sides of every tanh boundary and on tanh cells
    candidates = np.arange(-(8 << acc.frac), 8 << acc.frac, cell_step)
    levels = lookup(sig, image.sigmoid_step, candidates, acc, t)
    pick = np.flatnonzero(levels % 2 == 1)[0]
    z_r, r_level = int(candidates[pick]), int(levels[pick])
    sum_shift = t.bound_frac - t.cand_sum.frac  # 0: the boundary grid is cand_sum's
    tb_first = -((-boundaries(tanh, t)) >> sum_shift)
    targets = np.concatenate([np.stack([tb_first - 1, tb_first], axis=1).ravel(),
                              (np.arange(-(1 << (t.table_in.width - 1)), 1 << (t.table_in.width - 1))
                               << (t.cand_sum.frac - t.table_in.frac))])  # fmt: skip
    assert len(tb_first) > 0
    targets = targets[: units - half]
    inv = pow(r_level, -1, 1 << gf)
    for k, a in enumerate(int(v) for v in targets):
        assert t.cand_sum.frac == acc.frac + gf
        nh = ((a % (1 << gf)) * inv) % (1 << gf)
        nx = (a - r_level * nh) >> gf
        assert (nx << gf) + r_level * nh == a
        z[half + k, 1:] = (z_r, nx, nh)
    return z, hs


@cocotb.test()
async def eltwise_matches_golden(dut):
    cocotb.start_soon(Clock(dut.clk_i, 10, unit="ns").start())
    image = eltwise_image()
    t = image.types
    assert (int(dut.TableInWidth.value), int(dut.GateWidth.value)) == (t.table_in.width, t.gate.width)
    assert len(dut.tbl_data_i) == t.table_width
    await load_eltwise_tables(dut, image)

    rng = np.random.default_rng(5)
    units = 4096
    z, hs_prev = stimulus(image, units, rng)
    # Golden layout: one vector z = [z_z (H), z_r (H), z_nx (H), z_nh (H)].
    want_c, want_h, want_hs = gru_elementwise(image, z.T.reshape(1, -1), hs_prev[None])
    assert (want_c == t.cell.raw_max).any() and (want_c == t.cell.raw_min).any(), "no saturating q_state"

    mon = cocotb.start_soon(collect_eltwise(dut, units))
    zmask = (1 << len(dut.in_z_i)) - 1
    for u in range(units):
        for g in range(4):
            dut.in_valid_i.value = 1
            dut.in_gate_i.value = g
            dut.in_z_i.value = int(z[u, g]) & zmask
            # hs_{t-1} is taken with the n_h beat; other beats carry another unit's (the engine's do not)
            c = hs_prev[u] if g == 3 else hs_prev[(u + 1) % units]
            dut.in_c_prev_i.value = int(c) & ((1 << t.cell.width) - 1)
            dut.in_unit_i.value = u % (1 << len(dut.in_unit_i))
            await RisingEdge(dut.clk_i)
            if u % 11 == 5 and g == 1:  # a gap inside a unit
                dut.in_valid_i.value = 0
                await RisingEdge(dut.clk_i)
        if u % 7 == 3:  # gaps between units
            dut.in_valid_i.value = 0
            await RisingEdge(dut.clk_i)
    dut.in_valid_i.value = 0
    got = await mon
    bad = []
    for u in range(units):
        key = u % (1 << len(dut.in_unit_i))
        want = (int(want_c[0, u]), int(want_h[0, u]), int(want_hs[0, u]))
        if got[key] != want:
            bad.append(f"unit {u} z {z[u].tolist()} hs {int(hs_prev[u])}: {got[key]} != {want}")
    assert not bad, f"{len(bad)} mismatches, first: " + "; ".join(bad[:5])
