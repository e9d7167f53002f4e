"""The slack of every register input after nextpnr's route, read back from the SDF it writes.

nextpnr reports one critical path per clock. When a few hundred endpoints miss the clock, that path
changes with every seed and says nothing about the rest; this lists them all, grouped by the register
(or memory) they end in, each group with its worst slack and where its worst path starts. The delays are
nextpnr's own (cell and routed interconnect, slow corner), so the worst endpoint gives nextpnr's Fmax.

    python -m codesign.synth.sta build/synth/<name>-ulx3s-85f [--clock MHz] [--count N] [--paths K]

`codesign synth` asks nextpnr-ecp5 for the SDF (routed.sdf) and puts this census in report.json.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from codesign.errors import CodesignError
from codesign.synth.yosys import MAPPED_SUFFIX

# Ports a sequential cell is clocked from: an IOPATH out of one of them launches a path.
CLOCK_PORTS = frozenset({"CLK", "CLKA", "CLKB", "WCK", "CLK0", "CLK1", "CLK2", "CLK3"})
_TOKEN = re.compile(r"\(|\)|[^\s()]+")


@dataclass
class Sdf:
    """The timing graph of a routed design: pins are 'instance/port'; delays in ps (slow corner)."""

    fanin: dict[str, list[tuple[str, float]]] = field(default_factory=lambda: defaultdict(list))
    launch: dict[str, float] = field(default_factory=dict)  # output pin -> clock-to-out
    setup: dict[str, float] = field(default_factory=dict)  # clocked input pin -> setup time
    cell_type: dict[str, str] = field(default_factory=dict)


@dataclass
class Endpoint:
    pin: str  # instance/port
    slack_ps: float
    path: list[tuple[float, str]]  # (arrival in ps, pin) from the launching pin to this one


def _delay(triple: list) -> float:
    """The slow corner of an SDF triple '(min:typ:max)' (nextpnr times with it)."""
    return float(triple[0].split(":")[-1])


def _parse(text: str) -> list:
    tokens = _TOKEN.findall(text)
    stack: list[list] = [[]]
    for tok in tokens:
        if tok == "(":
            stack.append([])
        elif tok == ")":
            if len(stack) < 2:
                raise CodesignError("SDF: unbalanced parentheses")
            done = stack.pop()
            stack[-1].append(done)
        else:
            stack[-1].append(tok)
    if len(stack) != 1 or not stack[0] or stack[0][0][:1] != ["DELAYFILE"]:
        raise CodesignError("SDF: no DELAYFILE")
    return stack[0][0]


def _name(token: str) -> str:
    return token.replace("\\", "")  # SDF escapes [ ] . $ in identifiers


def _port(spec) -> str:
    """'A' or '(posedge CLK)' -> the port name."""
    return spec if isinstance(spec, str) else spec[-1]


def read_sdf(path: Path) -> Sdf:
    """nextpnr's SDF (--sdf) as a timing graph. Constant drivers ($PACKER_VCC/GND) are left out, as nextpnr
    leaves them out of its timing."""
    try:
        tree = _parse(Path(path).read_text())
    except OSError as exc:
        raise CodesignError(f"{path}: cannot read the SDF ({exc.strerror})") from None
    except CodesignError as exc:
        raise CodesignError(f"{path}: {exc}") from None
    sdf = Sdf()
    for cell in tree[1:]:
        if not isinstance(cell, list) or cell[:1] != ["CELL"]:
            continue
        ctype, inst = "", ""
        for item in cell[1:]:
            head = item[0]
            if head == "CELLTYPE":
                ctype = item[1].strip('"')
            elif head == "INSTANCE":
                inst = _name(item[1]) if len(item) > 1 else ""
            elif head == "DELAY":
                for block in item[1:]:
                    for arc in block[1:]:
                        if arc[0] == "IOPATH":
                            src, dst, d = _port(arc[1]), arc[2], _delay(arc[3])
                            if src in CLOCK_PORTS:
                                pin = f"{inst}/{dst}"
                                sdf.launch[pin] = max(d, sdf.launch.get(pin, 0.0))
                            else:
                                sdf.fanin[f"{inst}/{dst}"].append((f"{inst}/{src}", d))
                        elif arc[0] == "INTERCONNECT":
                            src, dst = _name(arc[1]), _name(arc[2])
                            if not src.startswith("$PACKER_"):
                                sdf.fanin[dst].append((src, _delay(arc[3])))
            elif head == "TIMINGCHECK":
                for check in item[1:]:
                    if check[0] in ("SETUPHOLD", "SETUP"):
                        pin = f"{inst}/{_port(check[1])}"
                        sdf.setup[pin] = max(_delay(check[3]), sdf.setup.get(pin, 0.0))
        if inst:
            sdf.cell_type[inst] = ctype
    for inst, ctype in sdf.cell_type.items():
        if ctype == "TRELLIS_FF":  # clock enable and the M input: checked like DI (nextpnr's SDF omits them)
            for port in ("CE", "M", "DI"):
                sdf.setup.setdefault(f"{inst}/{port}", sdf.setup.get(f"{inst}/DI", 0.0))
    return sdf


def _arrivals(sdf: Sdf) -> dict[str, tuple[float, str | None]]:
    """Every pin's latest arrival (ps) and the pin it came through, iteratively (paths are thousands deep)."""
    arr: dict[str, tuple[float, str | None]] = {}
    for pin, t in sdf.launch.items():
        arr[pin] = (t, None)
    for root in list(sdf.fanin):
        if root in arr:
            continue
        stack = [root]
        while stack:
            pin = stack[-1]
            if pin in arr:
                stack.pop()
                continue
            pending = [p for p, _ in sdf.fanin.get(pin, ()) if p not in arr]
            if pending:
                stack.extend(pending)
                continue
            best: tuple[float, str | None] = (0.0, None)
            for p, d in sdf.fanin.get(pin, ()):
                if arr[p][0] + d > best[0] or best[1] is None:
                    best = (arr[p][0] + d, p)
            arr[pin] = best
            stack.pop()
    return arr


def endpoints(sdf: Sdf, period_ps: float) -> list[Endpoint]:
    """Every clocked input pin reached from a launching pin, with its slack at period_ps, worst first."""
    arr = _arrivals(sdf)
    out = []
    for pin, setup in sdf.setup.items():
        if pin not in arr or arr[pin][1] is None:
            continue
        path, node = [], pin
        while node is not None:
            path.append((arr[node][0], node))
            node = arr[node][1]
        if path[-1][1] not in sdf.launch:
            continue  # reached from inputs or constants only: not a register-to-register path
        out.append(Endpoint(pin, period_ps - arr[pin][0] - setup, path[::-1]))
    return sorted(out, key=lambda e: e.slack_ps)


class Names:
    """RTL names for packed cells, from the netlist nextpnr read: a flop by the net its Q drives (Yosys names
    the cell after a neighbour's net), anything else by its own name; with the RTL source line."""

    def __init__(self, netlist: dict):
        tops = [m for m, v in netlist["modules"].items() if v.get("attributes", {}).get("top")]
        module = netlist["modules"][tops[0] if tops else next(iter(netlist["modules"]))]
        bit_name: dict[int, str] = {}

        # RTL names (from a .sv line, no mapped-cell suffix) first, then Yosys' own, shortest first
        def rank(item: tuple[str, dict]) -> tuple[int, int, int]:
            name, net = item
            from_rtl = ".sv:" in net.get("attributes", {}).get("src", "") and not MAPPED_SUFFIX.search(name)
            return (net.get("hide_name", 0), not from_rtl, len(name))

        for name, net in sorted(module["netnames"].items(), key=rank):
            for bit in net["bits"]:
                if isinstance(bit, int):
                    bit_name.setdefault(bit, name)
        self.cells = module["cells"]
        self.q_name = {}
        for cname, cell in self.cells.items():
            q = cell.get("connections", {}).get("Q")
            if cell.get("type") == "TRELLIS_FF" and q and isinstance(q[0], int) and q[0] in bit_name:
                self.q_name[cname] = bit_name[q[0]]

    def cell(self, pin: str) -> str:
        """The netlist cell behind a packed pin ('x$DPRAM_COMB0/WD' -> 'x')."""
        return re.sub(r"\$.*$", "", pin.rsplit("/", 1)[0])

    def group(self, pin: str) -> str:
        """The register group: the RTL name without its bit index. A register left with only names Yosys made
        up (an unpacked array's flops, say) goes by its scope and RTL process ('u_engine.<e.sv:1252>')."""
        cell = self.cell(pin)
        name = self.q_name.get(cell, cell)
        if MAPPED_SUFFIX.search(name) and self.source(pin):
            scope = name.split("_TRELLIS_")[0].rsplit(".", 1)[0] if "." in name else ""
            return f"{scope}.<{self.source(pin)}>" if scope else f"<{self.source(pin)}>"
        return re.sub(r"(\[\d+\])+$", "", name)

    def source(self, pin: str) -> str:
        """file:line of the cell's RTL process ('' if none)."""
        src = self.cells.get(self.cell(pin), {}).get("attributes", {}).get("src", "")
        for part in src.split("|"):
            if ".sv:" in part or ".v:" in part:
                file, line = part.rsplit("/", 1)[-1].split(":")[:2]
                return f"{file}:{line.split('.')[0]}"
        return ""


def census(ends: list[Endpoint], names: Names, period_ps: float, count: int = 15) -> dict:
    """The failing endpoints by group: how many, the worst slack, where the worst path starts."""
    failing = [e for e in ends if e.slack_ps < 0]
    per_group: Counter[str] = Counter()
    worst: dict[str, Endpoint] = {}
    for e in failing:
        g = names.group(e.pin)
        per_group[g] += 1
        worst.setdefault(g, e)  # ends are worst first
    groups = sorted(per_group, key=lambda g: worst[g].slack_ps)
    return {
        "clock_mhz": round(1e6 / period_ps, 2),
        "endpoints": len(ends),
        "failing": len(failing),
        "worst_slack_ns": round(ends[0].slack_ps / 1000, 3) if ends else None,
        "fmax_mhz": round(1e6 / (period_ps - ends[0].slack_ps), 2) if ends else None,
        "groups": [
            {
                "group": g,
                "failing": per_group[g],
                "worst_slack_ns": round(worst[g].slack_ps / 1000, 3),
                "from": names.group(worst[g].path[0][1]),
                "where": names.source(worst[g].pin),
            }
            for g in groups[:count]
        ],
        "groups_failing": len(groups),
    }


def analyse(sdf_path: Path, netlist_path: Path, clock_mhz: float, count: int = 15) -> dict:
    """The census (see census) of a routed design: nextpnr's SDF and the netlist it read."""
    try:
        netlist = json.loads(Path(netlist_path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise CodesignError(f"{netlist_path}: not a Yosys JSON netlist ({exc!r})") from None
    period = 1e6 / clock_mhz
    return census(endpoints(read_sdf(sdf_path), period), Names(netlist), period, count)


def format_census(c: dict) -> list[str]:
    """The census as text lines (timing.txt)."""
    lines = [
        f"Endpoints missing {c['clock_mhz']:g} MHz: {c['failing']} of {c['endpoints']} "
        f"(worst slack {c['worst_slack_ns']:.3f} ns, Fmax {c['fmax_mhz']:.2f} MHz), "
        f"in {c['groups_failing']} register groups; the worst {len(c['groups'])}:",
        f"  {'slack ns':>8}  {'count':>5}  group  <- where its worst path starts",
    ]
    for g in c["groups"]:
        where = f" ({g['where']})" if g["where"] else ""
        lines.append(f"  {g['worst_slack_ns']:8.3f}  {g['failing']:5d}  {g['group']}{where}  <- {g['from']}")
    return lines


def format_path(e: Endpoint, names: Names, sdf: Sdf) -> list[str]:
    """One endpoint's worst path, a line per cell output (and the endpoint): arrival, increment, RTL name."""
    lines, prev, prev_inst = [], 0.0, None
    for t, pin in e.path:
        inst, port = pin.rsplit("/", 1)
        # a cell's output: the launch, or a pin reached through the cell itself (an IOPATH)
        if (pin in sdf.launch or inst == prev_inst or pin == e.pin) and t > prev or not lines:
            where = names.source(pin)
            ctype = sdf.cell_type.get(inst, "?")
            lines.append(
                f"  {t / 1000:7.3f} (+{(t - prev) / 1000:6.3f})  {names.group(pin)}.{port}  [{ctype}]"
                + (f"  {where}" if where else "")
            )
            prev = t
        prev_inst = inst
    return lines


def _clock_of(build: Path) -> float:
    try:
        return float(json.loads((build / "report.json").read_text())["clock_target_mhz"])
    except (OSError, KeyError, TypeError, ValueError):
        raise CodesignError(f"{build}: no report.json with clock_target_mhz; give --clock") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("build", type=Path, help="a codesign synth folder (routed.sdf, netlist_pnr.json)")
    parser.add_argument("--clock", type=float, help="MHz (default: report.json's target clock)")
    parser.add_argument("--count", type=int, default=30, help="groups to list (default 30)")
    parser.add_argument("--paths", type=int, default=0, help="print the worst path of the first K groups")
    args = parser.parse_args(argv)
    try:
        clock = _clock_of(args.build) if args.clock is None else args.clock
        if clock <= 0:
            raise CodesignError(f"--clock {clock:g}: must be > 0 MHz")
        netlist_path = next(
            (args.build / n for n in ("netlist_pnr.json", "netlist.json") if (args.build / n).is_file()), None
        )
        if netlist_path is None:
            raise CodesignError(f"{args.build}: no netlist_pnr.json or netlist.json")
        try:
            names = Names(json.loads(netlist_path.read_text()))
        except (json.JSONDecodeError, KeyError, StopIteration) as exc:
            raise CodesignError(f"{netlist_path}: not a Yosys JSON netlist ({exc!r})") from None
        sdf = read_sdf(args.build / "routed.sdf")
    except CodesignError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    ends = endpoints(sdf, 1e6 / clock)
    print("\n".join(format_census(census(ends, names, 1e6 / clock, args.count))))
    shown: set[str] = set()
    for e in ends:
        if len(shown) >= args.paths or e.slack_ps >= 0:
            break
        group = names.group(e.pin)
        if group not in shown:
            shown.add(group)
            print(f"\n{group}: slack {e.slack_ps / 1000:.3f} ns")
            print("\n".join(format_path(e, names, sdf)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
