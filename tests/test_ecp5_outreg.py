"""codesign.synth.ecp5_outreg: a block RAM read registered straight into flops gets the DP16KD's output
register instead (same cycles), anything else is left alone, and nextpnr times the converted block RAM from
its output register."""

import copy
import json
import re
from pathlib import Path

import pytest

from codesign.synth.ecp5_outreg import absorb_output_registers

RTL = (
    Path(__file__).resolve().parents[1] / "codesign" / "rtl"
)  # (YoWASP sees it by a relative path: tool_path)

# Three copies of the activation table (2048 x 25: three DP16KD each), read at the same address:
# `plain_q` takes the data straight (convertible), `sum_q` through an add, `held_q` under an enable.
SOURCE = """
module three_reads (input logic clk_i, input logic we_i, en_i, input logic [10:0] addr_i,
                    input logic [24:0] wdata_i, output logic [24:0] plain_o, sum_o, held_o);
  logic [10:0] addr_q;
  logic [24:0] d0, d1, d2, plain_q, sum_q, held_q;
  always_ff @(posedge clk_i) begin
    addr_q  <= addr_i;
    plain_q <= d0;
    sum_q   <= d1 + 25'd1;
    if (en_i) held_q <= d2;
  end
  act_table #(.AddrWidth(11), .Width(25)) u_plain (.clk_i, .rd_en_i(1'b1), .rd_addr_i(addr_q),
    .rd_data_o(d0), .wr_en_i(we_i), .wr_addr_i(addr_i), .wr_data_i(wdata_i));
  act_table #(.AddrWidth(11), .Width(25)) u_sum (.clk_i, .rd_en_i(1'b1), .rd_addr_i(addr_q),
    .rd_data_o(d1), .wr_en_i(we_i), .wr_addr_i(addr_i), .wr_data_i(wdata_i));
  act_table #(.AddrWidth(11), .Width(25)) u_held (.clk_i, .rd_en_i(1'b1), .rd_addr_i(addr_q),
    .rd_data_o(d2), .wr_en_i(we_i), .wr_addr_i(addr_i), .wr_data_i(wdata_i));
  assign plain_o = plain_q;
  assign sum_o   = sum_q;
  assign held_o  = held_q;
endmodule
"""


@pytest.fixture(scope="module")
def netlist(ecp5, tmp_path_factory) -> Path:
    return ecp5.synth(tmp_path_factory.mktemp("outreg"), "three_reads", SOURCE, RTL / "act_table.sv")


def rams(design: dict) -> dict[str, dict]:
    return {n: c for n, c in design["modules"]["three_reads"]["cells"].items() if c["type"] == "DP16KD"}


def flops(design: dict) -> dict[str, dict]:
    return {n: c for n, c in design["modules"]["three_reads"]["cells"].items() if c["type"] == "TRELLIS_FF"}


def test_only_the_plain_read_is_converted(netlist):
    design = json.loads(netlist.read_text())
    before_rams, before_ffs = copy.deepcopy(rams(design)), flops(design)
    ports, moved = absorb_output_registers(design)
    after = rams(design)
    converted = {
        n
        for n, c in after.items()
        if "OUTREG" in (c["parameters"]["REGMODE_A"], c["parameters"]["REGMODE_B"])
    }
    assert converted and all(n.startswith("u_plain.") for n in converted)
    assert len(converted) == ports == 3  # the 25-bit table's three block RAMs, one read port each
    assert moved == 25 and len(flops(design)) == len(before_ffs) - 25
    # each converted output now drives the net the removed flop's Q drove (plain_q, hence plain_o)
    plain_bits = set(design["modules"]["three_reads"]["ports"]["plain_o"]["bits"])
    driven = {
        b
        for n in converted
        for port, bits in after[n]["connections"].items()
        if re.fullmatch(r"DO[AB]\d+", port)
        for b in bits
    }
    assert plain_bits <= driven
    for n in set(before_rams) - converted:  # the sum and the held reads keep NOREG and their flops
        assert after[n] == before_rams[n]


@pytest.mark.parametrize(
    "spoil",
    [
        lambda ram, ff: ff["parameters"].update(CEMUX="CE"),  # a flop with an enable
        lambda ram, ff: ff["connections"].update(LSR=[999999]),  # a flop with a set/reset
        lambda ram, ff: ff["parameters"].update(REGSET="SET"),  # powers up at 1
        lambda ram, ff: ff["parameters"].update(CLKMUX="INV"),  # the other clock edge
        lambda ram, ff: ram["connections"].update(RSTB=[999999]),  # the output register would reset
        lambda ram, ff: ram["connections"].update(OCEB=["0"]),
    ],
)
def test_a_port_with_a_different_flop_is_left_alone(netlist, spoil):
    design = json.loads(netlist.read_text())
    module = design["modules"]["three_reads"]
    name = next(n for n in rams(design) if n.startswith("u_plain."))
    ram = module["cells"][name]
    side = "B" if any(isinstance(b, int) for k in range(18) for b in ram["connections"][f"DOB{k}"]) else "A"
    assert side == "B"  # Yosys reads through port B; the spoilers above name it
    bit = ram["connections"]["DOB0"][0]
    ff = next(c for c in module["cells"].values() if c["connections"].get("DI") == [bit])
    spoil(ram, ff)
    absorb_output_registers(design)
    assert module["cells"][name]["parameters"]["REGMODE_B"] == "NOREG"


PLAIN = """
module plain_read (input logic clk_i, input logic we_i, input logic [10:0] addr_i, input logic [24:0] wdata_i,
                   output logic [24:0] plain_o);
  logic [10:0] addr_q;
  logic [24:0] d, plain_q;
  always_ff @(posedge clk_i) begin
    addr_q  <= addr_i;
    plain_q <= d;
  end
  act_table #(.AddrWidth(11), .Width(25)) u_plain (.clk_i, .rd_en_i(1'b1), .rd_addr_i(addr_q),
    .rd_data_o(d), .wr_en_i(we_i), .wr_addr_i(addr_i), .wr_data_i(wdata_i));
  assign plain_o = plain_q;
endmodule
"""


def test_a_port_read_outside_its_module_is_left_alone(netlist):
    """A data output that leaves the module (a port) may have loads elsewhere: they would see it late."""
    design = json.loads(netlist.read_text())
    module = design["modules"]["three_reads"]
    name = next(n for n in rams(design) if n.startswith("u_plain."))
    bit = module["cells"][name]["connections"]["DOB8"][0]
    # the output leaves through a port only (its flop here gone), the port's other outputs keep their flops
    del module["cells"][next(n for n, c in module["cells"].items() if c["connections"].get("DI") == [bit])]
    module["ports"]["peek_o"] = {"direction": "output", "bits": [bit]}
    absorb_output_registers(design)
    assert module["cells"][name]["parameters"]["REGMODE_B"] == "NOREG"


def test_nextpnr_times_the_output_register(ecp5, tmp_path):
    noreg = ecp5.synth(tmp_path, "plain_read", PLAIN, RTL / "act_table.sv")
    design = json.loads(noreg.read_text())
    assert absorb_output_registers(design) == (3, 25)
    (tmp_path / "outreg.json").write_text(json.dumps(design))

    def ram_clock_to_out(name: str) -> float:
        """The clock-to-output of the block RAM that starts the critical path (the only register path
        but the address flops' short one)."""
        log = ecp5.pnr(tmp_path, name, "--freq", "200")
        m = re.search(r"clk-to-q\s+([\d.]+)\s+[\d.]+\s+Source u_plain\.\S+\.DO", log)
        assert m, "the critical path does not start at the table"
        return float(m.group(1))

    assert ram_clock_to_out(noreg.name) > 5.0  # NOREG: 5.83 ns on an LFE5U -6
    assert ram_clock_to_out("outreg.json") < 1.5  # OUTREG: 0.96 ns


def test_synthesize_moves_the_flops_only_when_asked(yowasp_tools, tmp_path):
    from codesign.synth.command import synthesize

    (tmp_path / "plain_read.sv").write_text(PLAIN)
    files = [RTL / "act_table.sv", tmp_path / "plain_read.sv"]
    reports = {
        flag: synthesize(
            files,
            "plain_read",
            None,
            "ulx3s-85f",
            tmp_path / f"outreg{int(flag)}",
            bram_outreg=flag,
            bitstream=False,
            progress=False,
            log=lambda _line: None,
        )
        for flag in (False, True)
    }
    assert reports[False]["ff"] - reports[True]["ff"] == 25  # nextpnr's count after packing
    assert any("25 flip-flops after 3 block RAM ports" in note for note in reports[True]["notes"])
    assert not any("block RAM ports" in note for note in reports[False]["notes"])
    assert (tmp_path / "outreg1" / "netlist_pnr.json").is_file()
    assert reports[True]["fmax_mhz"] > reports[False]["fmax_mhz"]  # the table's read no longer limits it
