"""cocotb coroutines for rtl/csc_pe.sv (and its csc_index_decoder): CSC words from codesign.engine's
csc_for_pe, broadcast entries sent with random gaps through the engine's handshake (bc_load_i into the
PE's broadcast register, which fires when the PE had room the cycle before), part of them queued before
run_i rises (prefetch); the accumulators must equal a Python model of the CSC semantics (docs/engine.md
"Decoding a column"), which must itself equal the dense product. In the trials without gaps the PE must
issue exactly one stored word per cycle from the first cycle of run_i (no bubble between columns, empty
columns free): its busy count equals the cycle count to the last word."""

import random

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, ReadOnly, RisingEdge, Timer

from codesign.engine import csc_for_pe
from codesign.engine.encoder import column_flags
from codesign.tbkit import reset

# the inputs held low until a trial drives them
IDLE_INPUTS = (
    "clear_i",
    "run_i",
    "bank_i",
    "acc_rd_bank_i",
    "wmem_we_i",
    "pmem_we_i",
    "bc_valid_i",
    "bc_load_i",
)


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


async def broadcast(dut, entries: list[tuple[int, int]], rng: random.Random, gap: float, prefetch: int):
    """Send (act raw, pointer address) entries as the engine does: an entry loads into the PE's broadcast
    register (bc_load_i) when that is empty or fires now (unless a random gap, probability `gap`), and fires
    (bc_valid_i) when the PE had room the cycle before (space_idle_o / space_fire_o, selected by that
    cycle's fire: the engine's all_space flop); run_i rises once `prefetch` entries have fired. Returns
    (cycles from the first run_i cycle to the last issued word, inclusive; words issued)."""
    dut.run_i.value = 0
    run_at = last_issue = None
    issued = i = fired = cycle = 0
    b_valid, room = False, True
    while True:
        await RisingEdge(dut.clk_i)
        await Timer(1, "ns")  # registered state of this cycle; space_*_o depend on flops only
        if run_at is None and fired >= min(prefetch, len(entries)):
            dut.run_i.value = 1
            run_at = cycle
        fire = b_valid and room
        load = i < len(entries) and (not b_valid or fire) and not (gap and rng.random() < gap)
        dut.bc_valid_i.value = int(fire)
        dut.bc_load_i.value = int(load)
        if load:
            dut.bc_act_i.value, dut.bc_ptr_addr_i.value = entries[i]
            dut.bc_ptr_end_i.value = entries[i][1] + 1
            i += 1
        b_valid = load or (b_valid and not fire)
        fired += fire
        await ReadOnly()
        room = bool(int((dut.space_fire_o if fire else dut.space_idle_o).value))
        if run_at is not None:
            if int(dut.busy_o.value):
                issued += 1
                last_issue = cycle
            if i >= len(entries) and not b_valid and not fire and int(dut.quiet_o.value):
                break
        cycle += 1
    await RisingEdge(dut.clk_i)
    dut.bc_valid_i.value = 0
    dut.bc_load_i.value = 0
    await ClockCycles(dut.clk_i, 5)  # M1, M2, A1 and A2 drain (and one spare)
    dut.run_i.value = 0
    return (0 if last_issue is None else last_issue - run_at + 1), issued


async def write_memories(dut, words: list[int], ptrs: list[int], ptr_base: int) -> None:
    for addr, word in enumerate(words):
        dut.wmem_we_i.value, dut.wmem_addr_i.value, dut.wmem_data_i.value = 1, addr, word
        await RisingEdge(dut.clk_i)
    dut.wmem_we_i.value = 0
    for addr, (ptr, flags) in enumerate(zip(ptrs, column_flags(ptrs), strict=True)):
        dut.pmem_we_i.value, dut.pmem_addr_i.value, dut.pmem_data_i.value = 1, ptr_base + addr, ptr
        dut.pmem_flags_i.value = int(flags)
        await RisingEdge(dut.clk_i)
    dut.pmem_we_i.value = 0


@cocotb.test()
async def pe_accumulates_csc_columns(dut):
    cocotb.start_soon(Clock(dut.clk_i, 10, unit="ns").start())
    ww, iw, aw = int(dut.WeightWidth.value), int(dut.IndexWidth.value), int(dut.ActWidth.value)
    rows, depth = int(dut.LocalRows.value), int(dut.FifoDepth.value)
    cols = 24
    for sig in IDLE_INPUTS:
        getattr(dut, sig).value = 0
    await reset(dut, cycles=3, settle=0)
    rng = np.random.default_rng(3)
    pyrng = random.Random(3)
    previous = None  # the other bank's accumulators: a phase's clear and words must not touch them
    for trial in range(6):
        bank = trial % 2  # phases alternate accumulator banks
        dut.bank_i.value = bank
        w = random_matrix(rng, rows, cols, ww) if trial < 5 else np.zeros((rows, cols), np.int64)
        weights, rels, colptr = csc_for_pe(w, 0, 1, (1 << iw) - 1)
        assert max(rels, default=0) < (1 << iw)
        base = trial * 3  # a pointer table not at address 0, as for layer1 and the head
        words = [((wt & ((1 << ww) - 1)) << iw) | r for wt, r in zip(weights, rels, strict=True)]
        await write_memories(dut, words, colptr, base)
        dut.clear_i.value = 1
        await RisingEdge(dut.clk_i)
        dut.clear_i.value = 0
        acts = rng.integers(-(1 << (aw - 1)), 1 << (aw - 1), cols)
        acts[rng.random(cols) < 0.25] = 0
        acts[0] = 1234  # non-zero activation on the empty column
        entries = [(int(a) & ((1 << aw) - 1), base + j) for j, a in enumerate(acts) if a != 0]
        gap = 0.4 if trial % 2 else 0.0
        prefetch = (depth - 1) if trial % 3 == 0 else 0
        span, issued = await broadcast(dut, entries, pyrng, gap, prefetch)
        want_words = sum(colptr[j + 1] - colptr[j] for j, a in enumerate(acts) if a != 0)
        assert issued == want_words, f"trial {trial}: {issued} words issued, columns hold {want_words}"
        if trial % 3 == 0 and trial < 5:  # queue filled before run_i, no gaps: one word every cycle
            assert span == issued, f"trial {trial}: {span} cycles for {issued} words (bubbles)"
        want = csc_model(weights, rels, colptr, acts, rows)
        assert want == (w.astype(object) @ acts.astype(object)).tolist(), "CSC model != dense product"
        for b, expect in ((bank, want), (1 - bank, previous)):
            if expect is None:
                continue
            got = []
            for r in range(rows):
                dut.acc_rd_bank_i.value = b
                dut.acc_rd_row_i.value = r
                await ClockCycles(dut.clk_i, 3, rising=False)  # the address, then the data registered
                got.append(dut.acc_rd_data_o.value.to_signed())
            assert got == expect, f"trial {trial}: accumulators of bank {b} differ"
        previous = want
