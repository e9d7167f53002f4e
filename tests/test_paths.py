"""codesign.synth.paths: the path estimate ranks a deep path above a shallow one, names both ends, and
refuses bad input with one line."""

import subprocess
import sys
from pathlib import Path

import pytest

from codesign.synth import paths

# Two registers fed from the same flops: `deep_q` through a 16-bit add and a compare, `short_q` through one
# AND. The estimate must put deep_q first, with more LUT levels, and start both at the input flops.
SOURCE = """
module two_paths (input logic clk_i, input logic [15:0] a_i, b_i, output logic deep_o, short_o);
  logic [15:0] a_q, b_q;
  logic        deep_q, short_q;
  always_ff @(posedge clk_i) begin
    a_q     <= a_i;
    b_q     <= b_i;
    deep_q  <= (a_q + b_q) == 16'h1234;
    short_q <= a_q[0] & b_q[0];
  end
  assign deep_o  = deep_q;
  assign short_o = short_q;
endmodule
"""


@pytest.fixture(scope="module")
def netlist(yowasp_tools, tmp_path_factory) -> Path:
    yosys = yowasp_tools[0]
    folder = tmp_path_factory.mktemp("paths")
    (folder / "two_paths.sv").write_text(SOURCE)
    script = "read_verilog -sv two_paths.sv; synth_ecp5 -top two_paths; write_json netlist.json"
    subprocess.run([yosys, "-q", "-p", script], cwd=folder, check=True)
    return folder / "netlist.json"


def test_deep_path_ranks_first(netlist):
    ends = paths.analyse(paths.flatten(netlist, "two_paths"), "two_paths")
    # (a register is named by a net on its output: here the port it drives, deep_o / short_o)
    deep = next(e for e in ends if e.name.startswith("deep"))
    short = next(e for e in ends if e.name.startswith("short"))
    assert ends[0] is deep
    assert deep.arrival > short.arrival and deep.levels > short.levels
    assert deep.source.startswith(("a_q", "b_q")) and short.source.startswith(("a_q", "b_q"))
    assert len(deep.path) > len(short.path) and deep.where.startswith("two_paths.sv:")


def test_bad_input_is_one_line_and_exit_2(netlist, tmp_path):
    run = [sys.executable, "-m", "codesign.synth.paths"]
    missing = subprocess.run(
        [*run, str(tmp_path / "none.json"), "--top", "x"], capture_output=True, text=True
    )
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1 and "no such netlist" in missing.stderr
    wrong = subprocess.run([*run, str(netlist), "--top", "nope"], capture_output=True, text=True)
    assert wrong.returncode == 2 and "--top 'nope'" in wrong.stderr
