"""pytest side of the GRU element-wise unit test (also covers act_table and fixed_cast)."""

from pathlib import Path

from gru_eltwise_tb import eltwise_image

from codesign import sim
from codesign.tbkit import eltwise_parameters

HERE = Path(__file__).resolve().parent


def test_gru_eltwise() -> None:
    image = eltwise_image()
    params = eltwise_parameters(image, unit_width=12)
    sources = [sim.RTL_DIR / f for f in ("fixed_cast.sv", "act_table.sv", "gru_eltwise.sv")]
    runner = sim.build("gru_eltwise", params, sources)
    sim.run(runner, "gru_eltwise", "gru_eltwise_tb", HERE)
