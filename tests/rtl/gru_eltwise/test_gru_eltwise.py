"""pytest side of the GRU element-wise unit test (also covers act_table and fixed_cast)."""

from pathlib import Path

from gru_eltwise_tb import eltwise_image

from codesign import sim

HERE = Path(__file__).resolve().parent


def test_gru_eltwise() -> None:
    image = eltwise_image()
    t = image.types
    params = {
        "ZWidth": t.acc.width,
        "ZFrac": t.acc.frac,
        "UnitWidth": 12,
        "TableInWidth": t.table_in.width,
        "TableInFrac": t.table_in.frac,
        "GateWidth": t.gate.width,
        "GateFrac": t.gate.frac,
        "CellWidth": t.cell.width,
        "CellFrac": t.cell.frac,
        "CellRound": 2,
        "ActWidth": t.act.width,
        "ActFrac": t.act.frac,
        "SigmoidStep": image.sigmoid_step,
        "TanhStep": image.tanh_step,
    }
    sources = [sim.RTL_DIR / f for f in ("fixed_cast.sv", "act_table.sv", "gru_eltwise.sv")]
    runner = sim.build("gru_eltwise", params, sources)
    sim.run(runner, "gru_eltwise", "gru_eltwise_tb", HERE)
