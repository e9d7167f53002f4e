"""pytest side of the element-wise unit test (also covers act_table and fixed_cast)."""

from pathlib import Path

from lstm_eltwise_tb import eltwise_image

from codesign import sim
from codesign.tbkit import eltwise_parameters

HERE = Path(__file__).resolve().parent


def test_lstm_eltwise() -> None:
    image = eltwise_image()
    params = eltwise_parameters(image, unit_width=9)
    sources = [sim.RTL_DIR / f for f in ("fixed_cast.sv", "act_table.sv", "lstm_eltwise.sv")]
    runner = sim.build("lstm_eltwise", params, sources)
    sim.run(runner, "lstm_eltwise", "lstm_eltwise_tb", HERE)
