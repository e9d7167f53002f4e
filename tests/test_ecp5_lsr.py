"""codesign.synth.ecp5_lsr: a flop's reset that reaches its LSR through inverter and buffer LUTs takes the
chain's source instead, inverted in the flop (LSRMUX) when the chain inverted it; nextpnr places it."""

import json

import pytest

from codesign.synth.ecp5_lsr import fold_reset_inverters, single_input_function
from codesign.synth.yosys import flatten


def lut(init: str, a="x", b="0", c="0", d="0") -> dict:
    pins = {"A": a, "B": b, "C": c, "D": d}
    return {
        "type": "LUT4",
        "parameters": {"INIT": init},
        "connections": {p: [7 if v == "x" else v] for p, v in pins.items()},
    }


@pytest.mark.parametrize(
    "cell, expected",
    [
        (lut("0101010101010101"), (7, True)),  # Z = !A
        (lut("1010101010101010"), (7, False)),  # Z = A
        (lut("0000000000000010", b="0"), (7, False)),  # Z = A & !B & !C & !D, B..D tied to 0: a buffer
        (lut("0000000000001000", a="1", b="x"), (7, False)),  # Z = A & B with A tied to 1
        (lut("0000000000000000"), None),  # a constant
        (lut("0110011001100110", b=8), None),  # A ^ B: two live inputs
        ({"type": "TRELLIS_FF", "connections": {}, "parameters": {}}, None),
    ],
)
def test_single_input_functions(cell, expected):
    # (INIT strings are MSB first, as Yosys writes them: bit {D, C, B, A} = 0 is the last character)
    assert single_input_function(cell) == expected


# An active-low asynchronous reset through a keep_hierarchy module: Yosys inverts it in each module.
RESETS = """
(* keep_hierarchy *)
module leaf (input logic clk_i, rst_ni, d_i, output logic q_o);
  always_ff @(posedge clk_i or negedge rst_ni) if (!rst_ni) q_o <= 1'b0; else q_o <= d_i;
endmodule
module resets (input logic clk_i, rst_ni, input logic [1:0] d_i, output logic [2:0] q_o);
  logic rst_n;
  assign rst_n = !(!rst_ni);
  always_ff @(posedge clk_i or negedge rst_ni) if (!rst_ni) q_o[2] <= 1'b0; else q_o[2] <= ^d_i;
  for (genvar k = 0; k < 2; k++) begin : g_leaf
    leaf u_leaf (.clk_i, .rst_ni(rst_n), .d_i(d_i[k]), .q_o(q_o[k]));
  end
endmodule
"""


def test_the_flops_take_the_reset_port_and_invert_it(ecp5, tmp_path):
    flat = flatten(ecp5.synth(tmp_path, "resets", RESETS), "resets", tmp_path / "flat.json")
    design = json.loads(flat.read_text())
    top = design["modules"]["resets"]
    rst = top["ports"]["rst_ni"]["bits"][0]
    flops = [c for c in top["cells"].values() if c["type"] == "TRELLIS_FF"]
    assert len(flops) == 3 and any(c["connections"]["LSR"] != [rst] for c in flops)  # through LUTs
    luts = sum(c["type"] == "LUT4" for c in top["cells"].values())
    ports = {b for p in top["ports"].values() for b in p["bits"]}
    assert fold_reset_inverters(top, ports) == 3
    for ff in flops:
        assert ff["connections"]["LSR"] == [rst] and ff["parameters"]["LSRMUX"] == "INV"
    assert sum(c["type"] == "LUT4" for c in top["cells"].values()) < luts  # the inverters went
    (tmp_path / "folded.json").write_text(json.dumps(design))
    ecp5.pnr(tmp_path, "folded.json", "--freq", "50")  # (fails the test unless nextpnr routes it)
