"""cocotb coroutines for rtl/ulx3s_engine_top.sv: the engine driven bit by bit over the UART pins.

The pytest side writes a case file (JSON, path in $ULX3S_CASE):
  {"baked": {"image": <folder, also $readmemh'd through MemDir>, "x": <.npy act raws (N, T, X)>},
   "loaded": {"image": <folder of a second model with the same tables>, "x": <.npy>}}
Bytes are made and parsed by codesign.board (the protocol's one definition); every logit must equal
codesign.engine's golden model.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles
from uart_bfm import UartDriver, UartMonitor

from codesign import board
from codesign.engine import load_image, run_golden

CLK_NS = 10
LED_ERROR_RX, LED_ERROR_CMD, LED_BUSY = 6, 7, 4


def _case() -> dict:
    return json.loads(Path(os.environ["ULX3S_CASE"]).read_text())


class Board:
    """The host's view: a UART driver on ftdi_txd, a monitor on ftdi_rxd, the LEDs, the PWR button."""

    def __init__(self, dut):
        self.dut = dut
        clk_hz, baud = int(dut.ClkHz.value), int(dut.Baud.value)
        self.bit_clocks = (clk_hz + baud // 2) // baud
        bit_ns = self.bit_clocks * CLK_NS
        self.tx = UartDriver(dut.ftdi_txd, bit_ns)
        self.rx = UartMonitor(dut.ftdi_rxd, bit_ns)
        self.decoder = board.ReplyDecoder(int(dut.AccWidth.value))
        self.replies: list = []
        self.seen = 0  # monitor bytes already decoded

    async def start(self) -> None:
        cocotb.start_soon(Clock(self.dut.clk_25mhz, CLK_NS, unit="ns").start())
        cocotb.start_soon(self.rx.run())
        await self.press_reset()

    async def press_reset(self) -> None:
        self.dut.btn.value = 0  # btn[0] low: PWR pressed
        await ClockCycles(self.dut.clk_25mhz, 3)
        self.dut.btn.value = 1
        await ClockCycles(self.dut.clk_25mhz, 3)

    async def wait_replies(self, count: int, timeout_cycles: int = 3_000_000) -> list:
        """Until `count` replies (in all) have been decoded."""
        for _ in range(0, timeout_cycles, 256):
            new = self.rx.received[self.seen :]
            self.seen += len(new)
            self.replies += self.decoder.feed(new)
            if len(self.replies) >= count:
                return self.replies
            await ClockCycles(self.dut.clk_25mhz, 256)
        raise AssertionError(f"timeout: {len(self.replies)} of {count} replies")

    def led(self, bit: int) -> int:
        return (int(self.dut.led.value) >> bit) & 1

    def led_class(self) -> int:
        return int(self.dut.led.value) & 0xF


async def run_sequences(b: Board, image, x_raw: np.ndarray) -> board.PerfReply:
    """Every sequence back to back, then a perf request; logits and LEDs against the golden model."""
    golden = run_golden(image, x_raw, x_is_raw=True)
    before = len(b.replies)
    data = b"".join(board.encode_sequence(seq, image.types.act.width) for seq in x_raw)
    await b.tx.send(data + board.PERF_REQUEST)
    replies = (await b.wait_replies(before + len(x_raw) * image.classes + 1))[before:]
    assert not b.rx.errors, "framing errors on the board's transmit line"
    assert isinstance(replies[-1], board.PerfReply), replies[-1]
    assert all(isinstance(r, board.OutputWord) for r in replies[:-1])
    got = board.logit_vectors(replies[:-1])
    assert got == golden.logits.tolist()
    assert b.led_class() == int(golden.predictions[-1]) & 0xF
    assert b.led(LED_BUSY) == 0
    return replies[-1]


@cocotb.test()
async def baked_model_matches_golden(dut):
    """The model in the bitstream ($readmemh through MemDir): logits, argmax LEDs and counters."""
    case = _case()["baked"]
    image, x_raw = load_image(Path(case["image"])), np.load(case["x"])
    b = Board(dut)
    await b.start()
    perf = await run_sequences(b, image, x_raw)
    assert perf.status == 0
    assert perf.steps == x_raw.shape[0] * x_raw.shape[1]
    assert 0 < perf.matrix_cycles <= perf.total_step_cycles


@cocotb.test()
async def errors_and_reset(dut):
    """A framing error and an unknown command are flagged (status, LEDs) and skipped; a parser stuck on a
    load beat mid-sequence overflows the receive FIFO; the PWR button clears all of it and aborts the
    sequence, and the next sequence is exact again."""
    case = _case()["baked"]
    image, x_raw = load_image(Path(case["image"])), np.load(case["x"])
    b = Board(dut)
    await b.start()
    await b.tx.send_byte(board.CMD_PERF, stop_bit=0)  # dropped: no reply
    await b.tx.idle(1)  # without it the next start bit would continue a break
    await b.tx.send([0x00])  # no command
    await b.tx.send(board.PERF_REQUEST)
    (perf,) = await b.wait_replies(1)
    assert perf.status == board.STATUS_FRAME_ERROR | board.STATUS_BAD_COMMAND
    assert (b.led(LED_ERROR_RX), b.led(LED_ERROR_CMD)) == (1, 1)

    # First frame of a sequence, then a load beat: the engine takes loads only between sequences.
    act_width = image.types.act.width
    first_frame = board.encode_sequence(x_raw[0], act_width)[: 2 + image.inputs * board.word_bytes(act_width)]
    no_op = (5 << 112) | (15 << 64)  # config register 15: none
    filler = board.PERF_REQUEST * (int(dut.RxFifoDepth.value) + 4)
    await b.tx.send(first_frame + board.encode_load([no_op]) + filler)
    await ClockCycles(dut.clk_25mhz, 4 * b.bit_clocks)
    assert b.led(LED_ERROR_RX) == 1 and b.led(LED_BUSY) == 1
    await b.press_reset()
    assert (b.led(LED_ERROR_RX), b.led(LED_ERROR_CMD), b.led(LED_BUSY)) == (0, 0, 0)
    b.replies, b.seen = [], len(b.rx.received)
    perf = await run_sequences(b, image, x_raw[:1])
    assert perf.status == 0
    assert perf.steps == x_raw.shape[1]  # counters restart at reset


@cocotb.test()
async def model_loaded_over_uart_matches_golden(dut):
    """A second model through 'W' commands (weights, pointers, biases, configuration; same tables)."""
    case = _case()["loaded"]
    image, x_raw = load_image(Path(case["image"])), np.load(case["x"])
    b = Board(dut)
    await b.start()
    await b.tx.send(board.load_commands(image, tables=False))
    perf = await run_sequences(b, image, x_raw)
    assert perf.status == 0
