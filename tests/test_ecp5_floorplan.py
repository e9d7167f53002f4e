"""codesign.synth.ecp5_floorplan: each engine lane's block RAMs and multipliers get sites near their lane's
centre (no site twice), the netlist is flattened so shared modules' blocks get sites of their own, nextpnr
places them there, and the shipped site list is what nextpnr's placement of a full design reports."""

import json
from pathlib import Path

import pytest

from codesign.errors import CodesignError
from codesign.synth.boards import get_board
from codesign.synth.ecp5_floorplan import census, lane_centres, load_sites, plan, write_floorplanned

BOARD = get_board("ulx3s-85f")


def fake_module(lanes: int, brams: int, mults: int) -> dict:
    cells = {}
    for k in range(lanes):
        for i in range(brams):
            cells[f"u_engine.g_ew[{k}].u_eltwise.table.mem_q.0.{i}"] = {"type": "DP16KD"}
        for i in range(mults):
            cells[f"u_engine.g_pe[{k}].u_pe.mul_{i}"] = {"type": "MULT18X18D"}
    cells["u_engine.other_ram"] = {"type": "DP16KD"}  # in no lane
    cells["u_engine.g_pe[0].u_pe.flop"] = {"type": "TRELLIS_FF"}
    return {"cells": cells}


def test_each_lane_gets_sites_near_its_centre_and_none_twice():
    sites = load_sites(BOARD)
    assert (len(sites["DP16KD"]), len(sites["MULT18X18D"])) == (208, 156)  # the LFE5U-85F's totals
    module = fake_module(8, 10, 5)
    placed = plan(module, sites)
    assert len(placed) == 8 * 15 and len(set(placed.values())) == len(placed)
    assert "u_engine.other_ram" not in placed and "u_engine.g_pe[0].u_pe.flop" not in placed
    centres = lane_centres(8, sites)
    for k in range(8):
        mine = [bel for name, bel in placed.items() if f"[{k}]." in name]
        for bel in mine:
            x, y = (int(v[1:]) for v in bel.split("/")[:2])
            # nearer its own lane's centre than any other lane's
            own = abs(x - centres[k][0]) + abs(y - centres[k][1])
            assert all(own <= abs(x - c[0]) + abs(y - c[1]) for c in centres), (k, bel)


def test_lanes_sit_in_two_rows_of_column_bands():
    centres = lane_centres(8, load_sites(BOARD))
    assert len({x for x, _ in centres}) == 4 and len({y for _, y in centres}) == 2
    assert centres[0][1] < centres[4][1] and centres[0][0] < centres[1][0] < centres[2][0] < centres[3][0]


def test_more_blocks_than_sites_is_one_error():
    with pytest.raises(CodesignError, match=r"^floorplan: 240 MULT18X18D in lanes, 156 sites$"):
        plan(fake_module(8, 1, 30), load_sites(BOARD))


# Two lanes, each a PE (keep_hierarchy, one module for both) with a block RAM read and a multiply.
LANES = """
(* keep_hierarchy *)
module lane_pe (input logic clk_i, input logic [9:0] addr_i, input logic [17:0] d_i, output logic [35:0] p_o);
  logic [17:0] mem [1024];
  logic [17:0] rd_q, d_q;
  logic [35:0] p_q;
  always_ff @(posedge clk_i) begin
    mem[addr_i] <= d_i;
    rd_q <= mem[addr_i ^ 10'h3];
    d_q <= d_i;
    p_q <= rd_q * d_q;
  end
  assign p_o = p_q;
endmodule
module lanes (input logic clk_i, input logic [9:0] addr_i, input logic [17:0] d_i, output logic [1:0] q_o);
  for (genvar k = 0; k < 2; k++) begin : g_pe
    logic [35:0] p;
    lane_pe u_pe (.clk_i, .addr_i, .d_i(d_i ^ 18'(k)), .p_o(p));
    assign q_o[k] = ^p;
  end
endmodule
"""


def test_shared_modules_are_flattened_and_nextpnr_places_the_blocks_there(ecp5, tmp_path):
    fp = write_floorplanned(
        ecp5.synth(tmp_path, "lanes", LANES), "lanes", load_sites(BOARD), tmp_path / "fp.json"
    )
    out, lanes, blocks = fp.netlist, fp.lanes, fp.blocks
    assert (lanes, blocks) == (2, 4)  # per lane one DP16KD and one MULT18X18D, each with its own site
    top = json.loads(out.read_text())["modules"]["lanes"]
    wanted = {n: c["attributes"]["BEL"] for n, c in top["cells"].items() if "BEL" in c.get("attributes", {})}
    assert len(wanted) == 4 and len(set(wanted.values())) == 4
    ecp5.pnr(tmp_path, out.name, "--no-route", "--write", "placed.json", "--freq", "50")
    (placed,) = json.loads((tmp_path / "placed.json").read_text())["modules"].values()
    assert {n: placed["cells"][n]["attributes"]["NEXTPNR_BEL"] for n in wanted} == wanted


def test_the_shipped_site_list_is_the_census(yowasp_tools, tmp_path):
    sites = census(BOARD, tmp_path, progress=False)
    shipped = json.loads((Path(__file__).parents[1] / "codesign/synth/sites/LFE5U-85F.json").read_text())
    assert sites == shipped
