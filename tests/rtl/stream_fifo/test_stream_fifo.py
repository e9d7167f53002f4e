"""pytest side of the stream_fifo tests (cocotb under Verilator, one build per parameter set)."""

from pathlib import Path

import pytest

from codesign import sim

HERE = Path(__file__).resolve().parent


@pytest.mark.parametrize("width, depth", [(8, 2), (24, 5)])
def test_stream_fifo(width: int, depth: int) -> None:
    params = {"Width": width, "Depth": depth}
    runner = sim.build("stream_fifo", params, [sim.RTL_DIR / "stream_fifo.sv"])
    sim.run(runner, "stream_fifo", "stream_fifo_tb", HERE)
