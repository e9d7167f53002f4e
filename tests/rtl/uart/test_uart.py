"""pytest side of the UART tests: rtl/uart_tx.sv and rtl/uart_rx.sv in a loopback harness (Verilator)."""

from pathlib import Path

import pytest

from codesign import sim

HERE = Path(__file__).resolve().parent


# 8 clocks a bit (the board tests' rate) and the board's real 25 MHz / 115200 (217 clocks, rounded).
@pytest.mark.parametrize("clk_hz, baud", [(8_000_000, 1_000_000), (25_000_000, 115_200)])
def test_uart(clk_hz: int, baud: int) -> None:
    sources = [sim.RTL_DIR / "uart_tx.sv", sim.RTL_DIR / "uart_rx.sv", HERE / "uart_loopback.sv"]
    runner = sim.build("uart_loopback", {"ClkHz": clk_hz, "Baud": baud}, sources)
    sim.run(runner, "uart_loopback", "uart_tb", HERE)
