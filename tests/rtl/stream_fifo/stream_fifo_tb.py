"""cocotb coroutines for rtl/stream_fifo.sv: no beat lost, duplicated or reordered under random stalls."""

import random

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles
from cocotbext.axi import AxiStreamFrame, AxiStreamSink, AxiStreamSource

from codesign.sim import axis_bus, pack_words, unpack_words
from codesign.tbkit import reset, stalls


@cocotb.test()
@cocotb.parametrize(src_stall=[0.0, 0.5], sink_stall=[0.0, 0.6])
async def fifo_passes_every_beat_in_order(dut, src_stall: float, sink_stall: float):
    cocotb.start_soon(Clock(dut.clk_i, 10, unit="ns").start())
    source = AxiStreamSource(axis_bus(dut, "in", True), dut.clk_i, dut.rst_ni, reset_active_level=False)
    sink = AxiStreamSink(axis_bus(dut, "out", False), dut.clk_i, dut.rst_ni, reset_active_level=False)
    source.log.setLevel("WARNING")
    sink.log.setLevel("WARNING")
    await reset(dut)
    rng = random.Random(int(src_stall * 10 + sink_stall * 100))
    source.set_pause_generator(stalls(rng, src_stall))
    sink.set_pause_generator(stalls(rng, sink_stall))
    width = len(dut.in_data_i)
    words = [rng.randrange(1 << width) for _ in range(300)]
    await source.send(AxiStreamFrame(pack_words(words, width)))
    received = []
    while len(received) < len(words):
        frame = await sink.recv()
        received.extend(unpack_words(frame.tdata, width))
    assert received == words
    await ClockCycles(dut.clk_i, 10)
    assert sink.empty(), "extra beats after the last one"
    assert int(dut.out_valid_o.value) == 0
