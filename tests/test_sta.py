"""codesign.synth.sta: every endpoint's slack from nextpnr's SDF, named by the RTL, and nextpnr's own Fmax
from the worst of them."""

import json
import re
from pathlib import Path

import pytest

from codesign.errors import CodesignError
from codesign.synth import sta

# a -> LUT -> b, and a constant into the LUT (nextpnr leaves constants out of its timing); times in ps
SDF = r"""(DELAYFILE (SDFVERSION "3.0") (DESIGN "top") (TIMESCALE 1ps)
 (CELL (CELLTYPE "top") (INSTANCE )
  (DELAY (ABSOLUTE
   (INTERCONNECT a_ff/Q lut/A (1000:1500:2000) (1000:1500:2000))
   (INTERCONNECT \$PACKER_VCC/F lut/B (9000:9000:9000) (9000:9000:9000))
   (INTERCONNECT lut/F b_ff/DI (100:200:300) (100:200:300))
   (INTERCONNECT lut/F c_ff\[1\]/CE (600:700:800) (600:700:800)))))
 (CELL (CELLTYPE "TRELLIS_FF") (INSTANCE a_ff)
  (DELAY (ABSOLUTE (IOPATH CLK Q (400:450:500) (400:450:500)))))
 (CELL (CELLTYPE "TRELLIS_COMB") (INSTANCE lut)
  (DELAY (ABSOLUTE (IOPATH A F (200:220:240) (200:220:240)) (IOPATH B F (200:220:240) (200:220:240)))))
 (CELL (CELLTYPE "TRELLIS_FF") (INSTANCE b_ff)
  (DELAY (ABSOLUTE (IOPATH CLK Q (400:450:500) (400:450:500))))
  (TIMINGCHECK (SETUPHOLD (posedge DI) (posedge CLK) (50:60:70) (0:0:0))))
 (CELL (CELLTYPE "TRELLIS_FF") (INSTANCE c_ff\[1\])
  (DELAY (ABSOLUTE (IOPATH CLK Q (400:450:500) (400:450:500))))))
"""

# the netlist nextpnr read: b_ff drives the RTL net count_q[3]; c_ff only a net Yosys named
NETLIST = {
    "modules": {
        "top": {
            "attributes": {"top": "00000000000000000000000000000001"},
            "cells": {
                "a_ff": {"type": "TRELLIS_FF", "connections": {"Q": [2]}, "attributes": {"src": "t.sv:3"}},
                "b_ff": {"type": "TRELLIS_FF", "connections": {"Q": [3]}, "attributes": {"src": "t.sv:7.1"}},
                "c_ff[1]": {
                    "type": "TRELLIS_FF",
                    "connections": {"Q": [4]},
                    "attributes": {"src": "/x/t.sv:9.1"},
                },
                "lut": {"type": "LUT4", "connections": {"Z": [5]}, "attributes": {}},
            },
            "netnames": {
                "a_q": {"bits": [2], "attributes": {"src": "t.sv:2.1-2.5"}},
                "count_q": {"bits": [9, 9, 9, 3], "attributes": {"src": "t.sv:5.1-5.5"}},
                "b_ff_TRELLIS_FF_Q": {"bits": [3], "attributes": {}},
                "lut_LUT4_Z_TRELLIS_FF_CE_Q": {"bits": [4], "attributes": {}},
            },
        }
    }
}


@pytest.fixture
def design(tmp_path: Path) -> tuple[sta.Sdf, sta.Names]:
    (tmp_path / "routed.sdf").write_text(SDF)
    return sta.read_sdf(tmp_path / "routed.sdf"), sta.Names(NETLIST)


def test_slack_is_the_period_less_the_slow_corner_path_and_the_setup(design):
    sdf, _ = design
    ends = {e.pin: e for e in sta.endpoints(sdf, 4000.0)}
    # clock-to-Q 500 + route 2000 + LUT 240 + route 300 + setup 70 (the constant's 9 ns route is no path)
    assert ends["b_ff/DI"].slack_ps == pytest.approx(4000 - 3110)
    assert [pin for _, pin in ends["b_ff/DI"].path] == ["a_ff/Q", "lut/A", "lut/F", "b_ff/DI"]
    # a clock enable: checked as DI is (its setup 0 here: nextpnr's SDF gives none for CE)
    assert ends["c_ff[1]/CE"].slack_ps == pytest.approx(4000 - 3540)
    assert set(ends) == {"b_ff/DI", "c_ff[1]/CE"}  # a_ff's inputs: no path reaches them


def test_the_census_names_registers_by_the_rtl_net_they_drive(design):
    sdf, names = design
    census = sta.census(sta.endpoints(sdf, 3200.0), names, 3200.0)
    assert census["failing"] == 1 and census["endpoints"] == 2
    assert census["fmax_mhz"] == pytest.approx(1e6 / 3540, abs=0.01)
    assert census["groups"] == [
        # Yosys' own name only: the RTL process instead
        {"group": "<t.sv:9>", "failing": 1, "worst_slack_ns": -0.34, "from": "a_q", "where": "t.sv:9"}
    ]
    assert names.group("b_ff/DI") == "count_q"  # the bit index goes
    lines = sta.format_census(census)
    assert lines[0].startswith("Endpoints missing 312.5 MHz: 1 of 2 (worst slack -0.340 ns")


def test_a_malformed_sdf_is_one_error(tmp_path):
    (tmp_path / "bad.sdf").write_text("(DELAYFILE (CELL (INSTANCE x)")
    with pytest.raises(CodesignError, match="unbalanced|DELAYFILE"):
        sta.read_sdf(tmp_path / "bad.sdf")
    with pytest.raises(CodesignError, match="cannot read"):
        sta.read_sdf(tmp_path / "missing.sdf")


def test_the_command_says_what_is_missing_in_one_line(tmp_path, capsys):
    assert sta.main([str(tmp_path), "--clock", "100"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no netlist_pnr.json or netlist.json" in err[0]
    assert sta.main([str(tmp_path)]) == 2
    assert "give --clock" in capsys.readouterr().err


MUL = """
module mul (input logic clk_i, input logic [8:0] a_i, input logic [15:0] b_i, output logic [24:0] q_o);
  logic [8:0] a_q; logic [15:0] b_q; logic [24:0] p_q, r_q;
  always_ff @(posedge clk_i) begin
    a_q <= a_i;
    b_q <= b_i;
    p_q <= $signed(a_q) * $signed(b_q);
    r_q <= p_q + 25'd3;
  end
  assign q_o = r_q;
endmodule
"""


def test_the_worst_endpoint_gives_nextpnrs_fmax(ecp5, tmp_path):
    netlist = ecp5.synth(tmp_path, "mul", MUL)
    log = ecp5.pnr(tmp_path, netlist.name, "--freq", "300", "--sdf", "routed.sdf")
    reported = float(re.findall(r"Max frequency for clock .*?: ([\d.]+) MHz", log)[-1])
    census = sta.analyse(tmp_path / "routed.sdf", netlist, 300.0)
    assert census["fmax_mhz"] == pytest.approx(reported, abs=0.01)
    assert census["failing"] > 0 and census["groups"][0]["group"] in ("p_q", "r_q")
    assert json.dumps(census)  # report.json takes it as is
