"""pytest side of the PE / index-decoder test: 40 local rows, so zero runs need chains of padding words."""

from pathlib import Path

from codesign import sim

HERE = Path(__file__).resolve().parent


def test_csc_pe() -> None:
    params = {"LocalRows": 40, "WeightDepth": 512, "ColptrDepth": 64, "AccWidth": 40, "FifoDepth": 8}
    sources = [sim.RTL_DIR / "csc_index_decoder.sv", sim.RTL_DIR / "csc_pe.sv"]
    runner = sim.build("csc_pe", params, sources)
    sim.run(runner, "csc_pe", "csc_pe_tb", HERE)
