"""What the cocotb testbenches share (tests/rtl/*, codesign/engine/tb): AXI-Stream stall patterns, the
active-low reset, and the element-wise units' table load and build parameters. Imported inside the
simulator's Python only (cocotb is imported where it is used)."""

from __future__ import annotations

import random


def stalls(rng: random.Random, probability: float):
    """A cocotbext-axi pause generator: pause each cycle with `probability`."""
    while True:
        yield rng.random() < probability


async def reset(dut, cycles: int = 3, settle: int = 1) -> None:
    """rst_ni low for `cycles` clock cycles, then high and `settle` more cycles."""
    from cocotb.triggers import ClockCycles

    dut.rst_ni.value = 0
    await ClockCycles(dut.clk_i, cycles)
    dut.rst_ni.value = 1
    if settle:
        await ClockCycles(dut.clk_i, settle)


async def load_eltwise_tables(dut, image) -> None:
    """An element-wise unit (lstm_eltwise, gru_eltwise) out of reset with the image's sigmoid and tanh
    tables written through its load port, one entry per cycle."""
    from cocotb.triggers import RisingEdge

    dut.in_valid_i.value = 0
    dut.tbl_we_i.value = 0
    await reset(dut, cycles=2, settle=0)
    for sel, table in ((0, image.sigmoid_table), (1, image.tanh_table)):
        for addr, v in enumerate(table):
            dut.tbl_we_i.value, dut.tbl_sel_i.value = 1, sel
            dut.tbl_addr_i.value, dut.tbl_data_i.value = addr, int(v)
            await RisingEdge(dut.clk_i)
    dut.tbl_we_i.value = 0


async def collect_eltwise(dut, units: int) -> dict[int, tuple[int, int, int]]:
    """An element-wise unit's results as they come out, until `units` distinct unit tags have: tag ->
    (stored state, exact h_t, q_state(h_t)) raws."""
    from cocotb.triggers import RisingEdge

    got: dict[int, tuple[int, int, int]] = {}
    while len(got) < units:
        await RisingEdge(dut.clk_i)
        if int(dut.out_valid_o.value):
            c, h, hs = (
                dut.out_c_o.value.to_signed(),
                dut.out_h_o.value.to_signed(),
                dut.out_hs_o.value.to_signed(),
            )
            got[int(dut.out_unit_o.value)] = (c, h, hs)
    return got


def eltwise_parameters(image, unit_width: int) -> dict[str, int]:
    """An element-wise unit's RTL parameters for an image's types."""
    from codesign.engine.params import ROUND_CODE

    t = image.types
    return {
        "ZWidth": t.acc.width,
        "ZFrac": t.acc.frac,
        "UnitWidth": unit_width,
        "TableInWidth": t.table_in.width,
        "TableInFrac": t.table_in.frac,
        "GateWidth": t.gate.width,
        "GateFrac": t.gate.frac,
        "CellWidth": t.cell.width,
        "CellFrac": t.cell.frac,
        "CellRound": ROUND_CODE[t.cell.rounding],
        "ActWidth": t.act.width,
        "ActFrac": t.act.frac,
        "SigmoidStep": image.sigmoid_step,
        "TanhStep": image.tanh_step,
    }
