"""cocotb coroutines for rtl/lstm_eltwise.sv (with act_table and fixed_cast): tables written through the
load port, random z (incl. saturating ones, and z on both sides of every level boundary) and c_{t-1};
c_t, the exact h_t and q_state(h_t) must equal codesign.engine's golden `elementwise`, and every table
entry must read back through the unit."""

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import RisingEdge

from codesign.engine import EngineConfig, elementwise, encode, random_model
from codesign.tbkit import collect_eltwise, load_eltwise_tables


def eltwise_image():
    """The types and tables of an encoded model (the encoder's defaults, quantized tanh/sigmoid)."""
    return encode(random_model(1, 3, (4,), 2), EngineConfig(num_pe=4))


@cocotb.test()
async def eltwise_matches_golden(dut):
    cocotb.start_soon(Clock(dut.clk_i, 10, unit="ns").start())
    image = eltwise_image()
    t = image.types
    sig, tanh = image.sigmoid_table, image.tanh_table
    assert (int(dut.TableInWidth.value), int(dut.GateWidth.value)) == (t.table_in.width, t.gate.width)
    assert len(dut.tbl_data_i) == t.table_width
    await load_eltwise_tables(dut, image)

    rng = np.random.default_rng(5)
    units = 500
    span = 12 << t.acc.frac  # beyond the table's [-8, 8): the cast must saturate
    z = rng.integers(-span, span, (units, 4))
    z[:8] = rng.integers(-(1 << t.acc.frac), 1 << t.acc.frac, (8, 4))
    z[8, :] = t.acc.raw_max
    z[9, :] = t.acc.raw_min
    c_prev = rng.integers(t.cell.raw_min, t.cell.raw_max + 1, units)
    # Table coverage: unit u's z_g walks every table input (tanh) and z_i every sigmoid input.
    step = 1 << (t.acc.frac - t.table_in.frac)
    addrs = np.arange(min(units, 1 << t.table_in.width)) - (1 << (t.table_in.width - 1))
    z[: len(addrs), 0] = addrs * step
    z[: len(addrs), 2] = addrs * step
    # Every boundary inside a cell, on the accumulator grid: the last z below it and the first at or above.
    shift = t.bound_frac - t.table_in.frac
    for col, table in ((1, sig), (3, tanh)):
        cells = np.flatnonzero((table >> t.gate.width) < (1 << shift))
        cell = np.where(cells >= len(table) // 2, cells - len(table), cells)
        b = (cell << shift) + (table[cells] >> t.gate.width)  # on the boundary grid
        first = -((-b) >> (t.bound_frac - t.acc.frac))  # ceil onto the accumulator grid
        near = np.stack([first - 1, first], axis=1).ravel()[:units]
        z[: len(near), col] = near
    # Golden layout: one vector z = [z_i (H), z_f (H), z_g (H), z_o (H)].
    want_c, want_h, want_hs = elementwise(image, z.T.reshape(1, -1), c_prev[None])

    mon = cocotb.start_soon(collect_eltwise(dut, units))
    for u in range(units):
        for g in range(4):
            dut.in_valid_i.value = 1
            dut.in_gate_i.value = g
            dut.in_z_i.value = int(z[u, g]) & ((1 << len(dut.in_z_i)) - 1)
            dut.in_c_prev_i.value = int(c_prev[u]) & ((1 << t.cell.width) - 1)
            dut.in_unit_i.value = u % (1 << len(dut.in_unit_i))
            await RisingEdge(dut.clk_i)
        if u % 7 == 3:  # gaps between units
            dut.in_valid_i.value = 0
            await RisingEdge(dut.clk_i)
    dut.in_valid_i.value = 0
    got = await mon
    for u in range(units):
        key = u % (1 << len(dut.in_unit_i))
        want = (int(want_c[0, u]), int(want_h[0, u]), int(want_hs[0, u]))
        assert got[key] == want, f"unit {u}: {got[key]} != {want}"
