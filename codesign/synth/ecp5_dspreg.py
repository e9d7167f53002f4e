"""ECP5 multiplier registers: a netlist pass between Yosys and nextpnr.

Yosys maps every multiply to a MULT18X18D with none of its registers (synth_ecp5 has no DSP register
packing), so a registered multiply `p_q <= a_q * b_q` crosses the chip twice: from a_q's flops to the
block (a route), through 3.93 ns of multiplier, and from the block to p_q's flops (another route). The block
has its own input registers (A, B) and output register (P); nextpnr 0.11.1 times a MULT18X18D with its
registers as clocked pins (a setup before the block, a clock-to-output after it), so moving the RTL's flops
inside leaves one route on each side of the block with the multiplier between two registers inside it.
Same cycles, same values.

A group of a MULT18X18D (its A pins, its B pins, or its P outputs) takes its flops when, in its module of
the Yosys JSON netlist (write_json), every pin of the group qualifies:
- an input pin is constant 0, or driven by the Q of a TRELLIS_FF; an output bit is unused, or drives exactly
  one load, the D input of a TRELLIS_FF, and is not a module port;
- those flops share one clock (the same for all groups of the block, on the rising edge) and one clock
  enable (active high, or none), have no set/reset (LSR constant 0) and power up at 0 (REGSET RESET), as
  the block's registers do (their reset pins are tied off, RST0 = 0).
The block's pin then takes the flop's D net (an input) or drives the flop's Q net (an output). An input flop
goes when nothing else reads it; otherwise it stays for its other loads and the block holds a copy.
Why a constant 1 on an input stops its group: a register powers up at 0, so until its first enabled edge
the block would see 0 where the flop-fed multiplier saw 1. (SIGNEDA/SIGNEDB stay as they are: with the
operand register still at its power-up 0 the product is 0 signed or not.)
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from codesign.synth.yosys import cell_pins, instance_counts, port_bits

DSP_REGS = ("product", "all")  # what `codesign synth --dsp-regs` moves: the product's flops, or all three
OPERAND_BITS = 18  # A0..A17, B0..B17
PRODUCT_BITS = 36  # P0..P35
# The block's control pins each group uses: one clock, one enable per group, the reset tied off.
GROUP_ENABLE = {"A": "CE0", "B": "CE1", "P": "CE2"}
GROUP_PARAM = {"A": "REG_INPUTA", "B": "REG_INPUTB", "P": "REG_OUTPUT"}


@dataclass
class _Group:
    name: str  # A, B or P
    flops: dict[str, str] = field(default_factory=dict)  # block pin -> its flop
    clock: list | None = None
    enable: list | None = None  # None: no enable (always clocked)


def _flop_control(ff: dict) -> tuple[list, list | None] | None:
    """(clock net, enable net or None) of a flop a block register can stand in for; None if it cannot."""
    p, c = ff["parameters"], ff["connections"]
    if str(p.get("CLKMUX", "CLK")).strip() != "CLK" or c.get("LSR", ["0"]) != ["0"]:
        return None
    if str(p.get("REGSET", "RESET")).strip() != "RESET":
        return None
    cemux = str(p.get("CEMUX", "")).strip()
    if cemux == "1":
        return c["CLK"], None
    if cemux == "CE":
        return c["CLK"], c["CE"]
    return None


def _join(group: _Group, control: tuple[list, list | None] | None) -> bool:
    if control is None:
        return False
    clock, enable = control
    if group.clock is None:
        group.clock, group.enable = clock, enable
        return True
    return group.clock == clock and group.enable == enable


def _input_group(module: dict, name: str, side: str, drivers) -> _Group | None:
    c = module["cells"][name]["connections"]
    group = _Group(side)
    for k in range(OPERAND_BITS):
        pin = f"{side}{k}"
        bit = c.get(pin, ["0"])[0]
        if bit == "0":
            continue
        driver = drivers.get(bit) if isinstance(bit, int) else None
        if driver is None or driver[1] != "Q":
            return None
        ff = module["cells"][driver[0]]
        if ff["type"] != "TRELLIS_FF" or not _join(group, _flop_control(ff)):
            return None
        group.flops[pin] = driver[0]
    return group if group.flops else None


def _output_group(module: dict, name: str, loads, module_ports: set[int]) -> _Group | None:
    c = module["cells"][name]["connections"]
    group = _Group("P")
    for k in range(PRODUCT_BITS):
        pin = f"P{k}"
        bit = c.get(pin, [None])[0]
        if not isinstance(bit, int) or not loads.get(bit):
            continue
        sinks = loads[bit]
        if bit in module_ports or len(sinks) != 1 or sinks[0][1] != "DI":
            return None
        ff = module["cells"][sinks[0][0]]
        if ff["type"] != "TRELLIS_FF" or not _join(group, _flop_control(ff)):
            return None
        group.flops[pin] = sinks[0][0]
    return group if group.flops else None


def _unregistered(cell: dict) -> bool:
    p = cell["parameters"]
    return all(str(p.get(f"{g}_CLK", "NONE")).strip() == "NONE" for g in GROUP_PARAM.values())


def _rewire(cell: dict, groups: list[_Group], module: dict) -> None:
    """Turn on the registers of `groups` (sharing one clock) in MULT18X18D `cell` and connect its pins
    around the flops they replace."""
    c, p, directions = cell["connections"], cell["parameters"], cell["port_directions"]
    c["CLK0"], c["RST0"] = list(groups[0].clock), ["0"]
    directions["CLK0"] = directions["RST0"] = "input"  # write_json lists only the pins Yosys connected
    for g in groups:
        enable = GROUP_ENABLE[g.name]
        c[enable] = list(g.enable) if g.enable is not None else ["1"]
        directions[enable] = "input"
        p[f"{GROUP_PARAM[g.name]}_CLK"] = "CLK0"
        p[f"{GROUP_PARAM[g.name]}_CE"] = enable
        p[f"{GROUP_PARAM[g.name]}_RST"] = "RST0"
        for pin, ff_name in g.flops.items():
            ff = module["cells"][ff_name]["connections"]
            c[pin] = list(ff["DI"]) if g.name != "P" else list(ff["Q"])


def absorb_multiplier_registers(netlist: dict, operands: bool = True) -> tuple[int, int]:
    """Move the flops around every MULT18X18D that qualifies (module docstring) into it, in place:
    (blocks changed, flops removed) over every instance in the design. operands=False moves the product's
    flops only (the operands' flops stay in the fabric, free to sit between their logic and the block)."""
    blocks = removed = 0
    instances = instance_counts(netlist)
    for module_name, module in netlist["modules"].items():
        cells = module.get("cells", {})
        dsps = [n for n, cell in cells.items() if cell["type"] == "MULT18X18D" and _unregistered(cell)]
        if not dsps:
            continue
        drivers, loads = cell_pins(module)
        module_ports = port_bits(module)
        # Output flops first: one that also feeds a block (a product multiplied again) stays a flop there,
        # since its D net is about to lose its driver.
        outputs = {n: _output_group(module, n, loads, module_ports) for n in dsps}
        taken = {ff for g in outputs.values() if g is not None for ff in g.flops.values()}
        chosen: dict[str, list[_Group]] = {}
        for n in dsps:
            operand_groups = (
                [_input_group(module, n, side, drivers) for side in ("A", "B")] if operands else []
            )
            groups = [g for g in operand_groups if g is not None and not taken & set(g.flops.values())]
            groups += [outputs[n]] if outputs[n] is not None else []
            if groups:
                chosen[n] = [g for g in groups if g.clock == groups[0].clock]
        for n, groups in chosen.items():
            _rewire(cells[n], groups, module)
        gone = {ff for gs in chosen.values() for g in gs if g.name == "P" for ff in g.flops.values()}
        inputs = {ff for gs in chosen.values() for g in gs if g.name != "P" for ff in g.flops.values()}
        # An input flop goes once nothing but the rewired blocks read it.
        _, loads_after = cell_pins(module)
        for ff_name in inputs:
            q = cells[ff_name]["connections"]["Q"][0]
            if not loads_after.get(q) and q not in module_ports:
                gone.add(ff_name)
        for ff_name in gone:
            del cells[ff_name]
        times = instances.get(module_name, 0)
        blocks, removed = blocks + times * len(chosen), removed + times * len(gone)
    return blocks, removed


def write_with_multiplier_registers(
    netlist: Path, out: Path, operands: bool = True
) -> tuple[Path, tuple[int, int]]:
    """`netlist` with the flops around its multipliers absorbed, written to `out`: (out, (blocks, flops))."""
    data = json.loads(Path(netlist).read_text())
    counts = absorb_multiplier_registers(data, operands)
    Path(out).write_text(json.dumps(data))
    return Path(out), counts
