"""cocotb coroutines for rtl/sparse_lstm_engine.sv against codesign.engine's golden model.

The pytest side (or `codesign sim`) writes a case file (JSON, path in $ENGINE_CASE):
  {"cases": [{"image": <folder written by codesign.engine.write_image>, "x": <.npy act raws (N, T, X)>}],
   "stall": true|false, "emit_h": true|false, "result": <JSON path this writes>,
   "input_gaps": [period, gap] (optional: the input pauses `gap` of every `period` cycles)}
Every case is loaded through the weight-load stream (a weight reload between sequences), its sequences
run back to back, and every output beat (h_t of every layer and step when emit_h, logits) must equal the
golden model's raw integers. Random valid gaps and ready back-pressure on every stream when "stall".
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import RisingEdge
from cocotbext.axi import AxiStreamFrame, AxiStreamSink, AxiStreamSource

from codesign.engine import load_image, run_golden
from codesign.engine.load_stream import load_beats
from codesign.engine.params import TYPE_PARAMETERS, image_rtl_parameters
from codesign.sim import axis_bus, pack_words, unpack_words
from codesign.tbkit import reset, stalls


def check_build_fits(dut, image) -> None:
    """The image's types must be the ones this build was made for (RTL parameters)."""
    want = image_rtl_parameters(image, config=False)
    for name in ("NumPe", *TYPE_PARAMETERS):
        got = int(getattr(dut, name).value)
        assert got == want[name], f"build parameter {name} = {got}, image needs {want[name]}"
    for name in ("AccWidth", "WeightDepth"):
        got = int(getattr(dut, name).value)
        assert got >= want[name], f"build parameter {name} = {got} < {want[name]} (the image's)"
    if image.delta is not None:  # (a plain image runs on a Delta build too: the load stream turns it off)
        assert int(dut.Delta.value) == 1, "a delta image needs a build with Delta = 1"


def periodic(period: int, gap: int):
    """Pause `gap` cycles of every `period`: with a period prime to the step's length, frames stall at
    every point of the element-wise phase they overlap."""
    c = 0
    while True:
        yield c % period < gap
        c += 1


class EngineDriver:
    def __init__(self, dut, stall: bool, seed: int = 1, input_gaps: tuple[int, int] | None = None):
        self.dut = dut
        self.in_src = AxiStreamSource(
            axis_bus(dut, "in", True), dut.clk_i, dut.rst_ni, reset_active_level=False
        )
        self.load_src = AxiStreamSource(
            axis_bus(dut, "load", True), dut.clk_i, dut.rst_ni, reset_active_level=False
        )
        self.sink = AxiStreamSink(
            axis_bus(dut, "out", False), dut.clk_i, dut.rst_ni, reset_active_level=False
        )
        for s in (self.in_src, self.load_src, self.sink):
            s.log.setLevel("WARNING")
        if stall:
            rng = random.Random(seed)
            self.in_src.set_pause_generator(stalls(rng, 0.3))
            self.load_src.set_pause_generator(stalls(rng, 0.2))
            self.sink.set_pause_generator(stalls(rng, 0.4))
        if input_gaps:
            self.in_src.set_pause_generator(periodic(*input_gaps))
        self.in_width = len(dut.in_data_i)
        self.out_width = len(dut.out_data_o)

    async def reset(self) -> None:
        await reset(self.dut, cycles=3, settle=2)

    async def load(self, image, emit_h: bool) -> None:
        await self.load_src.send(AxiStreamFrame(pack_words(load_beats(image, emit_h), 128)))
        await self.load_src.wait()

    async def send_sequence(self, x_raw: np.ndarray) -> None:
        await self.in_src.send(AxiStreamFrame(pack_words(x_raw.reshape(-1), self.in_width)))

    async def recv_vector(self) -> tuple[int, list[int]]:
        """One output vector (up to tlast): (tuser of its beats, signed words)."""
        frame = await self.sink.recv()
        users = set(frame.tuser) if isinstance(frame.tuser, list) else {frame.tuser}
        assert len(users) == 1, f"one vector mixes tuser values {users}"
        return users.pop(), unpack_words(frame.tdata, self.out_width, signed=True)

    def perf(self) -> dict:
        d = self.dut
        n = int(d.NumPe.value)
        busy = int(d.perf_pe_busy_o.value)
        return {
            "steps": int(d.perf_steps_o.value),
            "step_cycles_total": int(d.perf_total_step_cycles_o.value),
            "matrix_cycles_total": int(d.perf_matrix_cycles_o.value),
            "pe_busy": [(busy >> (32 * k)) & 0xFFFFFFFF for k in range(n)],
        }


async def run_case(drv: EngineDriver, image, x_raw: np.ndarray, emit_h: bool) -> dict:
    """Load the image, run every sequence back to back, compare every beat; returns counts."""
    golden = run_golden(image, x_raw, x_is_raw=True)
    await drv.load(image, emit_h)
    n, steps, _ = x_raw.shape
    sender = cocotb.start_soon(_send_all(drv, x_raw))
    mismatches = 0
    predictions = []
    for s in range(n):
        for t in range(steps if emit_h else 0):
            for layer in range(len(image.units)):
                user, words = await drv.recv_vector()
                assert user == layer + 1, f"sequence {s} step {t}: tuser {user}, expected h of layer {layer}"
                want = golden.h[layer][s, t].tolist()
                assert words == want, f"sequence {s} step {t} layer {layer}: h {words} != golden {want}"
        user, words = await drv.recv_vector()
        assert user == 0, f"sequence {s}: tuser {user}, expected logits"
        want = golden.logits[s].tolist()
        if words != want:
            mismatches += 1
            drv.dut._log.error("sequence %d: logits %s != golden %s", s, words, want)
        predictions.append(int(np.argmax(words)))
    await sender
    return {
        "mismatches": mismatches,
        "predictions": predictions,
        "golden_predictions": golden.predictions.tolist(),
    }


async def _send_all(drv: EngineDriver, x_raw: np.ndarray) -> None:
    for seq in x_raw:
        await drv.send_sequence(seq)


def _case_file() -> dict:
    return json.loads(Path(os.environ["ENGINE_CASE"]).read_text())


@cocotb.test()
async def engine_matches_golden(dut):
    """Every case: reload, sequences back to back, bit-exact h_t (every step, layer) and logits."""
    spec = _case_file()
    cocotb.start_soon(Clock(dut.clk_i, 10, unit="ns").start())
    drv = EngineDriver(dut, spec.get("stall", True), input_gaps=spec.get("input_gaps"))
    await drv.reset()
    results = []
    for i, case in enumerate(spec["cases"]):
        image = load_image(Path(case["image"]))
        check_build_fits(dut, image)
        x_raw = np.load(case["x"])
        before = drv.perf()
        res = await run_case(drv, image, x_raw, spec.get("emit_h", True))
        after = drv.perf()
        res["perf"] = {k: (np.subtract(after[k], before[k]).tolist()) for k in after}
        res["perf"]["last_step_cycles"] = int(dut.perf_step_cycles_o.value)  # not a total
        res["image"] = case["image"]
        results.append(res)
        dut._log.info(
            "case %d (%s): %d mismatches, perf %s", i, case["image"], res["mismatches"], res["perf"]
        )
    if "result" in spec:
        Path(spec["result"]).write_text(json.dumps(results))
    assert sum(r["mismatches"] for r in results) == 0


@cocotb.test()
async def reset_mid_sequence(dut):
    """A reset in the middle of a sequence aborts it; the next sequences (weights kept) are exact."""
    spec = _case_file()
    cocotb.start_soon(Clock(dut.clk_i, 10, unit="ns").start())
    drv = EngineDriver(dut, spec.get("stall", True), seed=7)
    await drv.reset()
    case = spec["cases"][0]
    image = load_image(Path(case["image"]))
    x_raw = np.load(case["x"])
    await drv.load(image, emit_h=True)
    await drv.send_sequence(x_raw[0])
    # Wait until the engine has produced part of the sequence, then reset.
    for _ in range(2):
        await drv.recv_vector()
    await RisingEdge(dut.clk_i)
    await drv.reset()
    drv.sink.clear()
    # The load stream is idle; memories and configuration survived the reset.
    res = await _run_without_load(drv, image, x_raw[:2])
    assert res == 0


async def _run_without_load(drv: EngineDriver, image, x_raw: np.ndarray) -> int:
    golden = run_golden(image, x_raw, x_is_raw=True)
    sender = cocotb.start_soon(_send_all(drv, x_raw))
    for s in range(x_raw.shape[0]):
        for t in range(x_raw.shape[1]):
            for layer in range(len(image.units)):
                user, words = await drv.recv_vector()
                assert (user, words) == (layer + 1, golden.h[layer][s, t].tolist()), f"seq {s} step {t}"
        user, words = await drv.recv_vector()
        assert (user, words) == (0, golden.logits[s].tolist()), f"seq {s} logits"
    await sender
    return 0
