"""cocotb coroutines for rtl/uart_tx.sv and rtl/uart_rx.sv (through uart_loopback.sv)."""

import random

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge
from uart_bfm import UartDriver, UartMonitor

from codesign.tbkit import reset

CLK_NS = 10


def bit_clocks(dut) -> int:
    clk_hz, baud = int(dut.ClkHz.value), int(dut.Baud.value)
    return (clk_hz + baud // 2) // baud


async def start(dut, loopback: bool) -> None:
    cocotb.start_soon(Clock(dut.clk_i, CLK_NS, unit="ns").start())
    dut.loopback_i.value = int(loopback)
    dut.rxd_i.value = 1
    dut.tx_valid_i.value = 0
    dut.tx_data_i.value = 0
    await reset(dut, cycles=3, settle=2)


async def collect_rx(dut, got: list[int], errors: list[int]) -> None:
    while True:
        await RisingEdge(dut.clk_i)
        if int(dut.rx_valid_o.value):
            got.append(int(dut.rx_data_o.value))
        if int(dut.rx_frame_err_o.value):
            errors.append(1)


@cocotb.test()
async def loopback_random_bytes(dut):
    """tx -> rx: every byte arrives once, in order; the line waveform decodes to the same bytes."""
    await start(dut, loopback=True)
    rng = random.Random(3)
    bit_ns = bit_clocks(dut) * CLK_NS
    monitor = UartMonitor(dut.txd_o, bit_ns)
    cocotb.start_soon(monitor.run())
    got, errors = [], []
    cocotb.start_soon(collect_rx(dut, got, errors))
    sent = [rng.randrange(256) for _ in range(40)] + [0x00, 0xFF, 0x55, 0xAA]
    for value in sent:
        dut.tx_valid_i.value = 1
        dut.tx_data_i.value = value
        await RisingEdge(dut.clk_i)
        while not int(dut.tx_ready_o.value):
            await RisingEdge(dut.clk_i)
        dut.tx_valid_i.value = 0
        await ClockCycles(dut.clk_i, rng.choice([0, 0, 1, 7]) + 1)  # back to back and with gaps
    await ClockCycles(dut.clk_i, 12 * bit_clocks(dut))
    assert got == sent
    assert monitor.received == sent and not monitor.errors
    assert not errors


@cocotb.test()
@cocotb.parametrize(skew=[-0.03, 0.0, 0.03])
async def rx_tolerates_baud_skew(dut, skew: float):
    """A sender 3% slow or fast is still received exactly (mid-bit sampling)."""
    await start(dut, loopback=False)
    got, errors = [], []
    cocotb.start_soon(collect_rx(dut, got, errors))
    driver = UartDriver(dut.rxd_i, bit_clocks(dut) * CLK_NS * (1 + skew))
    rng = random.Random(int(skew * 100) + 7)
    sent = [rng.randrange(256) for _ in range(24)]
    await driver.send(sent)
    await ClockCycles(dut.clk_i, 2 * bit_clocks(dut))
    assert got == sent
    assert not errors


@cocotb.test()
async def rx_framing_error(dut):
    """A stop bit of 0 drops the byte and flags an error; a break (line held low) is one error, not a
    stream of 0x00 bytes; the next good byte is received."""
    await start(dut, loopback=False)
    got, errors = [], []
    cocotb.start_soon(collect_rx(dut, got, errors))
    driver = UartDriver(dut.rxd_i, bit_clocks(dut) * CLK_NS)
    await driver.send([0x3C])
    await driver.send_byte(0xA5, stop_bit=0)
    await driver.idle(2)
    dut.rxd_i.value = 0  # break: 30 bit times low
    await ClockCycles(dut.clk_i, 30 * bit_clocks(dut))
    await driver.idle(2)
    await driver.send([0xC3])
    await ClockCycles(dut.clk_i, 2 * bit_clocks(dut))
    assert got == [0x3C, 0xC3]
    assert len(errors) == 2
