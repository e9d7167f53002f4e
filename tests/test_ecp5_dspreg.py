"""codesign.synth.ecp5_dspreg: the flops around a multiply move into the MULT18X18D's own registers (same
cycles), what they cannot stand in for is left alone, and nextpnr times the block from its registers."""

import json
import re
from pathlib import Path

import pytest

from codesign.synth.ecp5_dspreg import absorb_multiplier_registers

# A registered multiply with an enable per register, and a flop after it (the product is added to).
MUL = """
module mul (input logic clk_i, ea_i, eb_i, ep_i, input logic [8:0] a_i, input logic [15:0] b_i,
            output logic [24:0] q_o);
  logic [8:0] a_q; logic [15:0] b_q; logic [24:0] p_q, r_q;
  always_ff @(posedge clk_i) begin
    if (ea_i) a_q <= a_i;
    if (eb_i) b_q <= b_i;
    if (ep_i) p_q <= $signed(a_q) * $signed(b_q);
    r_q <= p_q + 25'd3;
  end
  assign q_o = r_q;
endmodule
"""

# a_q is read beside the multiplier too; the product goes on into a second multiply.
SHARED = """
module shared (input logic clk_i, input logic [8:0] a_i, input logic [15:0] b_i, c_i,
               output logic [8:0] a_o, output logic [31:0] q_o);
  logic [8:0] a_q; logic [15:0] b_q, c_q; logic [24:0] p_q; logic [31:0] q_q;
  always_ff @(posedge clk_i) begin
    a_q <= a_i;
    b_q <= b_i;
    c_q <= c_i;
    p_q <= $signed(a_q) * $signed(b_q);
    q_q <= $signed(p_q[24:8]) * $signed(c_q);
  end
  assign a_o = a_q;
  assign q_o = q_q;
endmodule
"""


@pytest.fixture(scope="module")
def netlists(ecp5, tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("dspreg")
    return {top: ecp5.synth(folder, top, src) for top, src in (("mul", MUL), ("shared", SHARED))}


def cells(design: dict, top: str, kind: str) -> dict[str, dict]:
    return {n: c for n, c in design["modules"][top]["cells"].items() if c["type"] == kind}


def net_of(design: dict, top: str, port: str) -> list:
    return design["modules"][top]["ports"][port]["bits"]


def test_the_three_registers_move_into_the_block(netlists):
    design = json.loads(netlists["mul"].read_text())
    before = len(cells(design, "mul", "TRELLIS_FF"))
    assert absorb_multiplier_registers(design) == (1, 9 + 16 + 25)  # a_q, b_q and p_q
    assert len(cells(design, "mul", "TRELLIS_FF")) == before - 50  # r_q stays
    (dsp,) = cells(design, "mul", "MULT18X18D").values()
    p, c = dsp["parameters"], dsp["connections"]
    for group, enable in (("REG_INPUTA", "CE0"), ("REG_INPUTB", "CE1"), ("REG_OUTPUT", "CE2")):
        assert (p[f"{group}_CLK"], p[f"{group}_CE"], p[f"{group}_RST"]) == ("CLK0", enable, "RST0")
    assert c["CLK0"] == net_of(design, "mul", "clk_i") and c["RST0"] == ["0"]
    # each register takes its flops' enable (Yosys keeps them the port nets; it puts the wider operand on A)
    operands = {tuple(c["CE0"]): "A", tuple(c["CE1"]): "B"}
    assert set(operands) == {tuple(net_of(design, "mul", e)) for e in ("ea_i", "eb_i")}
    assert c["CE2"] == net_of(design, "mul", "ep_i")
    # and the operand pins what the flops took: the module's inputs
    for enable, data in (("ea_i", "a_i"), ("eb_i", "b_i")):
        side = operands[tuple(net_of(design, "mul", enable))]
        width = len(net_of(design, "mul", data))
        assert [c[f"{side}{k}"][0] for k in range(width)] == net_of(design, "mul", data)
    assert all(dsp["port_directions"][pin] == "input" for pin in ("CLK0", "RST0", "CE0", "CE1", "CE2"))


def test_a_flop_read_elsewhere_stays_and_a_product_multiplied_again_moves_once(netlists):
    design = json.loads(netlists["shared"].read_text())
    assert absorb_multiplier_registers(design) == (2, 16 + 17 + 16 + 32)  # b_q, p_q (17 bits read), c_q, q_q
    flops = cells(design, "shared", "TRELLIS_FF").values()
    assert len(flops) == 9 and {f["connections"]["Q"][0] for f in flops} == set(
        net_of(design, "shared", "a_o")
    )
    registered = {
        name: {g for g in ("REG_INPUTA", "REG_INPUTB", "REG_OUTPUT") if f"{g}_CLK" in d["parameters"]}
        for name, d in cells(design, "shared", "MULT18X18D").items()
    }
    # the first block holds a copy of a_q (its flop stays for a_o); p_q became its output register, so
    # the second block reads p_q from it unregistered (A) and takes c_q (B) and q_q (P)
    first, second = sorted(registered.values(), key=len, reverse=True)
    assert first == {"REG_INPUTA", "REG_INPUTB", "REG_OUTPUT"}
    assert second == {"REG_INPUTB", "REG_OUTPUT"}


@pytest.mark.parametrize(
    "spoil, group",
    [
        (lambda ff: ff["connections"].update(LSR=[999999]), "REG_INPUTA"),  # a flop with a set/reset
        (lambda ff: ff["parameters"].update(REGSET="SET"), "REG_INPUTA"),  # powers up at 1
        (lambda ff: ff["parameters"].update(CLKMUX="INV"), "REG_INPUTA"),  # the other clock edge
        (lambda ff: ff["parameters"].update(CEMUX="INV"), "REG_INPUTA"),  # an active-low enable
        (lambda ff: ff["connections"].update(CE=[999999]), "REG_INPUTA"),  # another enable than its group's
    ],
)
def test_an_operand_group_with_a_different_flop_keeps_its_flops(netlists, spoil, group):
    design = json.loads(netlists["mul"].read_text())
    module = design["modules"]["mul"]
    (dsp,) = cells(design, "mul", "MULT18X18D").values()
    a_bits = {dsp["connections"][f"A{k}"][0] for k in range(18)} - {"0"}
    bit = dsp["connections"]["A0"][0]
    spoil(next(c for c in module["cells"].values() if c["connections"].get("Q") == [bit]))
    assert absorb_multiplier_registers(design) == (1, 50 - len(a_bits))  # B and P still move
    assert f"{group}_CLK" not in dsp["parameters"] and dsp["connections"]["A0"] == [bit]
    assert {"REG_INPUTB_CLK", "REG_OUTPUT_CLK"} <= set(dsp["parameters"])


def test_a_constant_one_operand_bit_keeps_its_group_out(netlists):
    """A register powers up at 0: until its first enabled edge it would read 0 where the pin reads 1."""
    design = json.loads(netlists["mul"].read_text())
    (dsp,) = cells(design, "mul", "MULT18X18D").values()
    dsp["connections"]["B17"] = ["1"]
    absorb_multiplier_registers(design)
    assert "REG_INPUTB_CLK" not in dsp["parameters"] and "REG_INPUTA_CLK" in dsp["parameters"]


@pytest.mark.parametrize("where", ["second load", "module port"])
def test_a_product_bit_read_beside_its_flop_keeps_the_output_flops(netlists, where):
    design = json.loads(netlists["mul"].read_text())
    module = design["modules"]["mul"]
    (dsp,) = cells(design, "mul", "MULT18X18D").values()
    bit = next(
        dsp["connections"][f"P{k}"][0] for k in range(36) if isinstance(dsp["connections"][f"P{k}"][0], int)
    )
    if where == "second load":
        other = next(
            c
            for c in module["cells"].values()
            if c["type"] == "TRELLIS_FF" and c["connections"]["DI"] != [bit]
        )
        other["connections"]["LSR"] = [bit]  # (any input pin: a second reader of the product bit)
    else:
        module["ports"]["peek_o"] = {"direction": "output", "bits": [bit]}
    absorb_multiplier_registers(design)
    assert "REG_OUTPUT_CLK" not in dsp["parameters"]


def test_nextpnr_times_the_block_from_its_registers(ecp5, netlists, tmp_path):
    design = json.loads(netlists["mul"].read_text())
    (tmp_path / "plain.json").write_text(json.dumps(design))  # (YoWASP sees only its working folder)
    absorb_multiplier_registers(design)
    (tmp_path / "registered.json").write_text(json.dumps(design))

    def route(netlist: str) -> str:
        return ecp5.pnr(tmp_path, netlist, "--freq", "200")

    def fmax(log: str) -> float:
        return float(re.findall(r"Max frequency for clock .*?: ([\d.]+) MHz", log)[-1])

    plain, registered = route("plain.json"), route("registered.json")
    # unregistered, a path crosses the multiplier (3.93 ns on an LFE5U -6) between fabric flops;
    # registered, the critical path starts at the block's output register (0.74 ns)
    start = re.search(r"clk-to-q\s+([\d.]+)\s+[\d.]+\s+Source \S*MULT18X18D\S*\.P\d+", registered)
    assert start and float(start.group(1)) < 1.5
    assert fmax(registered) > 1.5 * fmax(plain)


def test_synthesize_moves_the_flops_only_when_asked(yowasp_tools, tmp_path):
    from codesign.synth.command import synthesize

    (tmp_path / "mul.sv").write_text(MUL)
    reports = {
        mode: synthesize(
            [tmp_path / "mul.sv"],
            "mul",
            None,
            "ulx3s-85f",
            tmp_path / f"dsp_{mode}",
            dsp_regs=mode,
            bitstream=False,
            progress=False,
            log=lambda _line: None,
        )
        for mode in (None, "product", "all")
    }
    # nextpnr's flip-flop counts after packing: p_q (25) moves with the product, a_q and b_q (25) with all
    assert reports[None]["ff"] - reports["product"]["ff"] == 25
    assert reports[None]["ff"] - reports["all"]["ff"] == 50
    assert any(
        "25 flip-flops moved into the registers (product) of 1 MULT18X18D" in n
        for n in reports["product"]["notes"]
    )
    assert any(
        "50 flip-flops moved into the registers (operands and product) of 1" in n
        for n in reports["all"]["notes"]
    )
    assert not any("MULT18X18D" in note for note in reports[None]["notes"])
    assert (tmp_path / "dsp_all" / "netlist_pnr.json").is_file()


def test_an_unknown_mode_is_one_error_naming_the_option():
    from codesign.errors import CodesignError
    from codesign.synth.command import SynthOptions

    with pytest.raises(CodesignError, match=r"^--dsp-regs operands: one of product, all$"):
        SynthOptions(board="ulx3s-85f", dsp_regs="operands").validate()
