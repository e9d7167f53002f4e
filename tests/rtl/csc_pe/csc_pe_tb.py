"""cocotb coroutines for rtl/csc_pe.sv (and its csc_index_decoder): CSC words from codesign.engine's
csc_for_pe, columns streamed with random stalls; the accumulators must equal a Python model of the CSC
semantics (docs/engine.md "Decoding a column"), which must itself equal the dense product."""

import random

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge
from cocotbext.axi import AxiStreamFrame, AxiStreamSource

from codesign.engine import csc_for_pe
from codesign.sim import axis_bus


def csc_model(weights, rels, colptr, acts, rows: int) -> list[int]:
    """The PE's accumulators after the non-zero activations of `acts` (Python ints: unbounded)."""
    acc = [0] * rows
    for j, a in enumerate(acts):
        if a == 0:
            continue
        next_row = 0
        for addr in range(colptr[j], colptr[j + 1]):
            row = next_row + rels[addr]
            acc[row] += weights[addr] * int(a)
            next_row = row + 1
    return acc


def random_matrix(rng: np.random.Generator, rows: int, cols: int, ww: int) -> np.ndarray:
    w = rng.integers(-(1 << (ww - 1)), 1 << (ww - 1), (rows, cols))
    w[rng.random((rows, cols)) < 0.7] = 0
    w[:, 0] = 0  # empty column
    w[:, 1] = rng.choice([-(1 << (ww - 1)), (1 << (ww - 1)) - 1, 3], rows)  # dense, extreme values
    w[:, 2] = 0
    w[[0, rows - 1], 2] = [5, -7]  # a zero run longer than twice the index range
    w[:, 3] = 0
    w[rows - 1, 3] = 1  # first entry far from row 0
    return w


def stalls(rng: random.Random, p: float):
    while True:
        yield rng.random() < p


async def write_memories(dut, words: list[int], ptrs: list[int], ptr_base: int) -> None:
    for addr, word in enumerate(words):
        dut.wmem_we_i.value, dut.wmem_addr_i.value, dut.wmem_data_i.value = 1, addr, word
        await RisingEdge(dut.clk_i)
    dut.wmem_we_i.value = 0
    for addr, ptr in enumerate(ptrs):
        dut.pmem_we_i.value, dut.pmem_addr_i.value, dut.pmem_data_i.value = 1, ptr_base + addr, ptr
        await RisingEdge(dut.clk_i)
    dut.pmem_we_i.value = 0


@cocotb.test()
async def pe_accumulates_csc_columns(dut):
    cocotb.start_soon(Clock(dut.clk_i, 10, unit="ns").start())
    ww, iw, aw = int(dut.WeightWidth.value), int(dut.IndexWidth.value), int(dut.ActWidth.value)
    rows, cw = int(dut.LocalRows.value), int(dut.ColWidth.value)
    cols = min(24, 1 << cw)
    for sig in ("clear_i", "wmem_we_i", "pmem_we_i", "col_valid_i"):
        getattr(dut, sig).value = 0
    dut.rst_ni.value = 0
    await ClockCycles(dut.clk_i, 3)
    dut.rst_ni.value = 1
    source = AxiStreamSource(
        axis_bus(dut, "col", True), dut.clk_i, dut.rst_ni, reset_active_level=False, byte_lanes=1
    )
    source.log.setLevel("WARNING")
    rng = np.random.default_rng(3)
    pyrng = random.Random(3)
    for trial in range(6):
        w = random_matrix(rng, rows, cols, ww) if trial < 5 else np.zeros((rows, cols), np.int64)
        weights, rels, colptr = csc_for_pe(w, 0, 1, (1 << iw) - 1)
        assert max(rels, default=0) < (1 << iw)
        base = trial * 3  # a pointer table not at address 0, as for layer1 and the head
        words = [((wt & ((1 << ww) - 1)) << iw) | r for wt, r in zip(weights, rels, strict=True)]
        await write_memories(dut, words, colptr, base)
        dut.ptr_base_i.value = base
        dut.clear_i.value = 1
        await RisingEdge(dut.clk_i)
        dut.clear_i.value = 0
        acts = rng.integers(-(1 << (aw - 1)), 1 << (aw - 1), cols)
        acts[rng.random(cols) < 0.25] = 0
        acts[0] = 1234  # non-zero activation on the empty column
        source.set_pause_generator(stalls(pyrng, 0.4 if trial % 2 else 0.0))
        beats = [((int(a) & ((1 << aw) - 1)) << cw) | j for j, a in enumerate(acts) if a != 0]
        await source.send(AxiStreamFrame(beats))
        await source.wait()
        for _ in range(200):
            await RisingEdge(dut.clk_i)
            if int(dut.idle_o.value) and not int(dut.col_valid_i.value):
                break
        want = csc_model(weights, rels, colptr, acts, rows)
        assert want == (w.astype(object) @ acts.astype(object)).tolist(), "CSC model != dense product"
        got = []
        for r in range(rows):
            dut.acc_rd_row_i.value = r
            await ClockCycles(dut.clk_i, 1, rising=False)
            got.append(dut.acc_rd_data_o.value.to_signed())
        assert got == want, f"trial {trial}: accumulators differ"
