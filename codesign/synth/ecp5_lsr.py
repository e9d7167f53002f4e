"""ECP5 flop resets: inverters on the way to a flop's LSR folded into the flop's own LSR inversion.

An ECP5 flop's set/reset input (LSR) is active high, the RTL's resets are active low (`rst_ni`), so Yosys puts
a LUT inverter before the LSR of every flop with an asynchronous reset, one per module: the ULX3S top's
inverter after the reset's global buffer (DCCA), then one in each PE and unit (keep_hierarchy keeps them
apart). Those LUTs take the reset off the global network onto local routing across the chip: a route of
3.8 ns, a LUT, 2.6 ns more into a PE's flop. The slice has an LSR inversion of its own (LSRMUX = INV), so
on the flattened netlist every chain of single-input LUTs (inverters and buffers: the other inputs constant)
before an LSR is skipped: the flop takes the chain's source and inverts it when the chain did (an odd number
of inverters). LUTs left without loads go.
"""

from __future__ import annotations

from codesign.synth.yosys import cell_pins

LUT_INPUTS = ("A", "B", "C", "D")  # LUT4: Z = INIT[{D, C, B, A}]


def _init_bits(cell: dict) -> list[int]:
    init = str(cell["parameters"]["INIT"]).strip()
    value = int(init, 2) if set(init) <= {"0", "1"} else int(init, 0)
    return [(value >> i) & 1 for i in range(16)]


def single_input_function(cell: dict) -> tuple[int, bool] | None:
    """(the net bit, inverted) when LUT4 `cell` passes one live input on, inverted or not (its other inputs
    constant); None otherwise."""
    if cell["type"] != "LUT4":
        return None
    c = cell["connections"]
    live = [(k, c[p][0]) for k, p in enumerate(LUT_INPUTS) if isinstance(c.get(p, ["0"])[0], int)]
    if len(live) != 1:
        return None
    index, bit = live[0]
    fixed = sum(1 << k for k, p in enumerate(LUT_INPUTS) if c.get(p, ["0"])[0] == "1")
    bits = _init_bits(cell)
    low, high = bits[fixed], bits[fixed | (1 << index)]
    if (low, high) == (0, 1):
        return bit, False
    if (low, high) == (1, 0):
        return bit, True
    return None  # a constant


def fold_reset_inverters(module: dict, keep: set[int]) -> int:
    """Rewire every TRELLIS_FF whose LSR comes through single-input LUTs to the chain's source, in place;
    `keep`: net bits read outside the module (their LUTs stay). Returns the flops changed."""
    cells = module["cells"]
    drivers, _ = cell_pins(module)
    changed = 0
    skipped: set[str] = set()  # the chains' LUTs
    for ff in [c for c in cells.values() if c["type"] == "TRELLIS_FF"]:
        bit = ff["connections"].get("LSR", ["0"])[0]
        inverted, steps = False, 0
        while isinstance(bit, int) and bit in drivers:
            lut = drivers[bit][0]
            step = single_input_function(cells[lut])
            if step is None:
                break
            skipped.add(lut)
            bit, inverted, steps = step[0], inverted ^ step[1], steps + 1
        if steps == 0:
            continue
        ff["connections"]["LSR"] = [bit]
        if inverted:
            lsrmux = str(ff["parameters"].get("LSRMUX", "LSR")).strip()
            ff["parameters"]["LSRMUX"] = "INV" if lsrmux == "LSR" else "LSR"
        changed += 1
    # the chains' LUTs nothing reads any more
    while True:
        _, loads = cell_pins(module)
        dead = [
            n
            for n in skipped
            if n in cells and all(not loads.get(b) and b not in keep for b in cells[n]["connections"]["Z"])
        ]
        if not dead:
            return changed
        for name in dead:
            del cells[name]
