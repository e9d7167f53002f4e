"""Every register's worst path in an ECP5 netlist, estimated in seconds instead of a 20-minute route.

nextpnr reports one critical path per clock; when thousands of endpoints fail, fixing them one route at a
time is too slow. This walks the flattened Yosys netlist (`synth_ecp5`'s netlist.json) once, with
nextpnr-ecp5's cell delays for the -6 speed grade (as its timing reports print them) and a routing
delay per net that grows with fanout, and lists the register groups whose estimated arrival is worst,
each with the register group its path starts from. Routing is a guess (placement decides it), so the
figures rank paths; they do not predict Fmax.

    python -m codesign.synth.paths build/synth/<name>/netlist.json --top ulx3s_engine_top
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from codesign.errors import CodesignError
from codesign.synth import yosys
from codesign.synth.yosys import MAPPED_SUFFIX, cell_pins

# Cell delays (ns) as nextpnr-ecp5 prints them for LFE5U -6.
FF_CLK_TO_Q = 0.52
EBR_CLK_TO_Q = 5.83  # DP16KD without its output register
LUT = 0.24
MUX = 0.15  # PFUMX / L6MUX21 from their dedicated inputs
MUX_SELECT = 0.25
CARRY_IN = 0.45  # CCU2C data input to sum / carry out
CARRY_CHAIN = 0.07  # CCU2C carry in to carry out
CARRY_SUM = 0.44
LUTRAM_READ = 0.40  # TRELLIS_DPR16X4 read address to data out
MULT = 3.93  # MULT18X18D with no pipeline registers
LSR_SETUP = 0.42


def route_delay(fanout: int) -> float:
    """A routed net's delay: about 1 ns for a short net, more as its fanout spreads it."""
    return 0.95 + 0.15 * math.log2(max(fanout, 1))


@dataclass
class Endpoint:
    name: str  # the register group the path ends in
    arrival: float
    levels: int  # LUT-like cells on the path
    source: str  # the register group the path starts from
    path: list[str]  # the nets from the source to the endpoint, with their arrival times
    where: str  # the RTL source of the endpoint's register (file:line of its process)


def _comb_arc(cell: dict, src: str, dst: str) -> float | None:
    """Delay from input port `src` to output port `dst` of a combinational cell, None if no arc."""
    kind = cell["type"]
    if kind == "LUT4":
        return LUT
    if kind in ("PFUMX", "L6MUX21"):
        return MUX_SELECT if src in ("C0", "SD") else MUX
    if kind == "CCU2C":
        if src == "CIN":
            return CARRY_CHAIN if dst == "COUT" else CARRY_SUM
        return CARRY_IN
    if kind == "TRELLIS_DPR16X4":
        return LUTRAM_READ if src.startswith("RAD") else None
    if kind == "MULT18X18D" and _mult_is_combinational(cell):
        return MULT if src[0] in "AB" and src[1:].isdigit() else None
    return None


def _mult_is_combinational(cell: dict) -> bool:
    params = cell.get("parameters", {})
    return all(
        str(params.get(p, "NONE")) == "NONE" for p in ("REG_INPUTA_CLK", "REG_INPUTB_CLK", "REG_OUTPUT_CLK")
    )


def _launch(cell: dict, port: str) -> float | None:
    """Clock-to-out of a sequential cell's output port, None if the port is not launched by a clock."""
    kind = cell["type"]
    if kind == "TRELLIS_FF" and port == "Q":
        return FF_CLK_TO_Q
    if kind == "DP16KD" and port.startswith("DO"):
        return EBR_CLK_TO_Q if str(cell.get("parameters", {}).get("REGMODE_A", "NOREG")) == "NOREG" else 1.0
    if kind == "MULT18X18D" and not _mult_is_combinational(cell) and port.startswith("P"):
        return FF_CLK_TO_Q
    return None


def _dedicated(driver: tuple[dict, str], sink: tuple[dict, str]) -> bool:
    """Nets inside a slice or carry chain: no general routing."""
    (dcell, dport), (scell, sport) = driver, sink
    if scell["type"] == "PFUMX" and sport in ("ALUT", "BLUT"):
        return True
    if scell["type"] == "L6MUX21" and sport in ("D0", "D1"):
        return True
    return dcell["type"] == "CCU2C" and dport == "COUT" and sport == "CIN"


def _rtl_source(cell: dict) -> str:
    """file:line of the RTL process a mapped cell came from ('' for cells of the techmap library)."""
    for src in cell.get("attributes", {}).get("src", "").split("|"):
        if (".sv:" in src or ".v:" in src) and not src.startswith("/share/"):
            return Path(src.split(":")[0]).name + ":" + src.split(":")[1].split(".")[0]
    return ""


@contextmanager
def _recursion_limit(limit: int):
    """Python's recursion limit raised to `limit` for the block, then put back."""
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, limit))
    try:
        yield
    finally:
        sys.setrecursionlimit(old)


def _group(name: str) -> str:
    """A register group: the net name without its bit index ("~": a name Yosys made from a neighbour's)."""
    return re.sub(r"\[\d+\]$", "", MAPPED_SUFFIX.sub("~", name))


def analyse(netlist: dict, top: str) -> list[Endpoint]:
    module = netlist["modules"][top]
    cells = module["cells"]
    names: dict[int, str] = {}

    # RTL names (a source line in a .sv file) first, then Yosys' generated ones, shortest first
    def rank(item: tuple[str, dict]) -> tuple[int, int, int]:
        name, net = item
        from_rtl = ".sv:" in net.get("attributes", {}).get("src", "")
        return (net.get("hide_name", 0), not from_rtl, len(name))

    for name, net in sorted(module["netnames"].items(), key=rank):
        for i, bit in enumerate(net["bits"]):
            if isinstance(bit, int) and bit not in names:
                names[bit] = f"{name}[{i}]" if len(net["bits"]) > 1 else name

    drivers, sinks = cell_pins(module)

    # arrival[bit] at the driver's output, with its LUT level count and the group it started from
    arrival: dict[int, tuple[float, int, str, int | None]] = {}  # ... and the input bit it came through

    def out_arrival(bit: int) -> tuple[float, int, str, int | None]:
        if bit in arrival:
            return arrival[bit]
        # (breaks combinational loops, which a synchronous design has none of)
        arrival[bit] = (0.0, 0, "?", None)
        cname, port = drivers.get(bit, (None, None))
        result = (0.0, 0, "input", None)
        if cname is not None:
            cell = cells[cname]
            launch = _launch(cell, port)
            if launch is not None:
                where = _rtl_source(cell)
                result = (launch, 0, _group(names.get(bit, cname)) + (f" ({where})" if where else ""), None)
            else:
                best = None
                for iport, ibits in cell["connections"].items():
                    if cell["port_directions"].get(iport) != "input":
                        continue
                    arc = _comb_arc(cell, iport, port)
                    if arc is None:
                        continue
                    for ibit in ibits:
                        if not isinstance(ibit, int):
                            continue
                        t, lv, src = in_arrival(ibit, (cell, iport))
                        cand = (t + arc, lv + (cell["type"] not in ("PFUMX", "L6MUX21")), src, ibit)
                        if best is None or cand[0] > best[0]:
                            best = cand
                if best is not None:
                    result = best
        arrival[bit] = result
        return result

    def in_arrival(bit: int, sink: tuple[dict, str]) -> tuple[float, int, str]:
        t, lv, src, _ = out_arrival(bit)
        driver = drivers.get(bit)
        if driver is not None and not _dedicated((cells[driver[0]], driver[1]), sink):
            t += route_delay(len(sinks[bit]))
        return t, lv, src

    def trace(bit: int | None) -> list[str]:
        path = []
        while bit is not None:
            path.append(f"{arrival[bit][0]:6.2f}  {names.get(bit, '?')}")
            bit = arrival[bit][3]
        return path[::-1]

    worst: dict[str, Endpoint] = {}
    with _recursion_limit(100_000):  # out_arrival recurses once per cell of a combinational path
        for cname, cell in cells.items():
            kind = cell["type"]
            if kind == "TRELLIS_FF":
                ports = {"DI": 0.0, "M": 0.0, "CE": 0.0, "LSR": LSR_SETUP}
                qbits = cell["connections"].get("Q", [])
                end = _group(names.get(qbits[0], cname)) if qbits and isinstance(qbits[0], int) else cname
            elif kind in ("DP16KD", "TRELLIS_DPR16X4") or (
                kind == "MULT18X18D" and not _mult_is_combinational(cell)
            ):
                ports = {
                    p: 0.0
                    for p, d in cell["port_directions"].items()
                    if d == "input" and not p.startswith("CLK")
                }
                if kind == "TRELLIS_DPR16X4":
                    ports = {p: s for p, s in ports.items() if not p.startswith("RAD")}
                end = f"{cname} ({kind})"
            else:
                continue
            for port, setup in ports.items():
                for bit in cell["connections"].get(port, []):
                    if not isinstance(bit, int):
                        continue
                    t, lv, src = in_arrival(bit, (cell, port))
                    t += setup
                    if end not in worst or t > worst[end].arrival:
                        worst[end] = Endpoint(end, round(t, 2), lv, src, trace(bit), _rtl_source(cell))
    return sorted(worst.values(), key=lambda e: -e.arrival)


def flatten(netlist_path: Path, top: str) -> dict:
    """The netlist with every module flattened into `top` (Yosys, which runs inside a WASI sandbox: cwd)."""
    netlist_path = Path(netlist_path)
    if not netlist_path.is_file():
        raise CodesignError(
            f"{netlist_path}: no such netlist (Yosys write_json, e.g. codesign synth's netlist.json)"
        )
    try:
        modules = json.loads(netlist_path.read_text())["modules"]
    except (ValueError, KeyError) as exc:
        raise CodesignError(f"{netlist_path}: not a Yosys JSON netlist ({exc!r})") from None
    if top not in modules:
        raise CodesignError(f"--top {top!r}: no such module in {netlist_path.name}")
    with tempfile.TemporaryDirectory(dir=netlist_path.parent) as tmp:
        return json.loads(yosys.flatten(netlist_path, top, Path(tmp) / "flat.json", clean=True).read_text())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("netlist", type=Path, help="synth_ecp5's netlist.json")
    parser.add_argument("--top", required=True, help="the top module")
    parser.add_argument("--count", type=int, default=40, help="register groups to list (default 40)")
    parser.add_argument(
        "--budget", type=float, default=8.0, help="ns: count the groups over it (default 8.0)"
    )
    parser.add_argument(
        "--paths", action="store_true", help="print each listed group's worst path, net by net"
    )
    args = parser.parse_args(argv)
    try:
        ends = analyse(flatten(args.netlist, args.top), args.top)
    except CodesignError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    over = [e for e in ends if e.arrival > args.budget]
    print(f"{len(over)} of {len(ends)} register groups estimated over {args.budget} ns")
    for e in ends[: args.count]:
        print(f"{e.arrival:6.2f} ns  {e.levels:2d} levels  {e.name} ({e.where})  <-  {e.source}")
        if args.paths:
            print("\n".join(f"          {step}" for step in e.path))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
