"""pytest side of the PE / index-decoder test: 40 local rows, so zero runs need chains of padding words.
ActWidth 16 multiplies in one MULT18X18D; 21 (the balanced models' act type) splits the multiply in two."""

from pathlib import Path

import pytest

from codesign import sim

HERE = Path(__file__).resolve().parent


@pytest.mark.parametrize("act_width", [16, 21])
def test_csc_pe(act_width: int) -> None:
    params = {
        "LocalRows": 40,
        "WeightDepth": 512,
        "ColptrDepth": 64,
        "AccWidth": 45,
        "FifoDepth": 8,
        "ActWidth": act_width,
    }
    sources = [sim.RTL_DIR / "csc_index_decoder.sv", sim.RTL_DIR / "csc_pe.sv"]
    runner = sim.build("csc_pe", params, sources)
    sim.run(runner, "csc_pe", "csc_pe_tb", HERE)
