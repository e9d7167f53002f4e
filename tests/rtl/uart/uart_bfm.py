"""Bit-level UART (8N1, LSB first) driver and monitor for cocotb testbenches.

Bit times are `Timer`s, not clock counts: one simulator callback per bit instead of per clock, so a
testbench pays for the line, not for every cycle of the design. `bit_time_ns` may differ from the
design's nominal bit time to test baud tolerance.
"""

from __future__ import annotations

from collections.abc import Iterable

from cocotb.triggers import FallingEdge, Timer


class UartDriver:
    def __init__(self, line, bit_time_ns: float):
        self.line = line
        self.bit_time_ns = bit_time_ns
        line.value = 1  # idle high

    async def send_byte(self, value: int, stop_bit: int = 1) -> None:
        bits = [0] + [(value >> i) & 1 for i in range(8)] + [stop_bit]
        for bit in bits:
            self.line.value = bit
            await Timer(self.bit_time_ns, unit="ns")
        self.line.value = 1

    async def send(self, data: Iterable[int], gap_bits: float = 0.0) -> None:
        for value in data:
            await self.send_byte(value)
            if gap_bits:
                await Timer(gap_bits * self.bit_time_ns, unit="ns")

    async def idle(self, bits: float) -> None:
        self.line.value = 1
        await Timer(bits * self.bit_time_ns, unit="ns")


class UartMonitor:
    """Collects every byte on `line` into `received` (framing errors into `errors`): start on the
    falling edge, sample mid-bit."""

    def __init__(self, line, bit_time_ns: float):
        self.line = line
        self.bit_time_ns = bit_time_ns
        self.received: list[int] = []
        self.errors: list[int] = []

    async def run(self) -> None:
        half = self.bit_time_ns / 2
        while True:
            await FallingEdge(self.line)
            await Timer(half, unit="ns")
            assert int(self.line.value) == 0, "start bit shorter than half a bit"
            value = 0
            for i in range(8):
                await Timer(self.bit_time_ns, unit="ns")
                value |= int(self.line.value) << i
            await Timer(self.bit_time_ns, unit="ns")
            (self.received if int(self.line.value) == 1 else self.errors).append(value)

    async def wait_bytes(self, count: int, clk, timeout_cycles: int) -> list[int]:
        """Wait until `count` bytes have been received (in all), checking every 64 clocks."""
        from cocotb.triggers import ClockCycles

        for _ in range(0, timeout_cycles, 64):
            if len(self.received) >= count:
                return self.received
            await ClockCycles(clk, 64)
        raise AssertionError(f"timeout: {len(self.received)} of {count} bytes after {timeout_cycles} clocks")
