"""ECP5 block RAM output registers: a netlist pass between Yosys and nextpnr.

A DP16KD without its output register (REGMODE NOREG, all Yosys infers) delivers its data 5.83 ns after the
clock on an LFE5U -6; with it (OUTREG) 0.96 ns, one cycle later (nextpnr 0.11.1's timing of the two modes).
The RTL registers every block RAM read straight into flops (docs/engine.md: nothing after a table's output
but a flop), so those flops can move into the block RAM: same cycles, same values, and the 5.83 ns no longer
starts a route across the chip. Opt-in (`codesign synth --bram-outreg`): where such a flop also stood by a
far consumer (the engine's tables feed multipliers), its route moves to the block RAM's side instead, and the
engine as it stands routes slower with it (docs/fmax.md).

A port (A or B) of a DP16KD is converted when, in its module of the Yosys JSON netlist (write_json):
- REGMODE is NOREG, its output clock enable OCE is constant 1 and its reset RST constant 0;
- every data output bit it drives has exactly one load, the D input of a TRELLIS_FF, and is not a module port;
- each such flop is clocked by the port's clock net on the same edge, has no clock enable (CEMUX 1) and no
  set/reset (LSR constant 0), and powers up at 0 (REGSET RESET, as the output register does).
Then REGMODE becomes OUTREG, the flops' Q nets are driven by the block RAM's outputs and the flops go.
Why that is the same circuit: without OUTREG the port's output latch changes only on a clock edge with the
port's clock enable CE (it holds otherwise); a flop with no enable samples that latch on every edge; the
output register with OCE = 1 does exactly that, inside the block RAM.
"""

from __future__ import annotations

import json
from pathlib import Path

from codesign.synth.yosys import cell_pins, instance_counts, port_bits

DATA_OUT_BITS = 18  # DOA0..DOA17, DOB0..DOB17


def _flop_takes_port(ff: dict, clock: list) -> bool:
    p, c = ff["parameters"], ff["connections"]
    return (
        c.get("CLK") == clock
        and str(p.get("CLKMUX", "CLK")).strip() == "CLK"
        and str(p.get("CEMUX", "")).strip() == "1"
        and c.get("LSR", ["0"]) == ["0"]
        and str(p.get("REGSET", "RESET")).strip() == "RESET"
    )


def _convert_port(module: dict, name: str, side: str, loads, module_ports: set[int]) -> int:
    """Move the flops after port `side` of DP16KD `name` into its output register: how many (0: none)."""
    ram = module["cells"][name]
    p, c = ram["parameters"], ram["connections"]
    if str(p.get(f"REGMODE_{side}", "NOREG")).strip() != "NOREG":
        return 0
    if c.get(f"OCE{side}") != ["1"] or c.get(f"RST{side}") != ["0"]:
        return 0
    if str(p.get(f"CLK{side}MUX", f"CLK{side}")).strip() != f"CLK{side}":
        return 0
    clock = c.get(f"CLK{side}")
    flops: dict[str, str] = {}  # data output port -> its flop
    for k in range(DATA_OUT_BITS):
        out = f"DO{side}{k}"
        bit = c.get(out, [None])[0]
        if bit in module_ports:
            return 0  # read outside the module: its loads there would see the data a cycle late
        if not isinstance(bit, int) or not loads.get(bit):
            continue  # unused output
        sinks = loads[bit]
        if len(sinks) != 1 or sinks[0][1] != "DI":
            return 0
        ff = module["cells"][sinks[0][0]]
        if ff["type"] != "TRELLIS_FF" or not _flop_takes_port(ff, clock):
            return 0
        flops[out] = sinks[0][0]
    if not flops:
        return 0
    for out, ff_name in flops.items():
        c[out] = list(module["cells"][ff_name]["connections"]["Q"])
        del module["cells"][ff_name]
    p[f"REGMODE_{side}"] = "OUTREG"
    return len(flops)


def absorb_output_registers(netlist: dict) -> tuple[int, int]:
    """Convert every DP16KD port that qualifies (module docstring), in place: (ports, flops absorbed) over
    every instance in the design."""
    ports = flops = 0
    instances = instance_counts(netlist)
    for module_name, module in netlist["modules"].items():
        rams = [n for n, cell in module.get("cells", {}).items() if cell["type"] == "DP16KD"]
        if not rams:
            continue
        # (a data output bit belongs to one port, so converting a port leaves the others' loads as they were)
        loads, module_ports = cell_pins(module)[1], port_bits(module)
        times = instances.get(module_name, 0)
        for name in rams:
            for side in ("A", "B"):
                n = _convert_port(module, name, side, loads, module_ports)
                ports, flops = ports + times * (n > 0), flops + times * n
    return ports, flops


def write_with_output_registers(netlist: Path, out: Path) -> tuple[Path, tuple[int, int]]:
    """`netlist` with its block RAMs' output flops absorbed, written to `out`: (out, (ports, flops))."""
    data = json.loads(Path(netlist).read_text())
    counts = absorb_output_registers(data)
    Path(out).write_text(json.dumps(data))
    return Path(out), counts
