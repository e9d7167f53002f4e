"""Vivado in batch mode, when it is on PATH: synth_design, report_utilization, report_timing_summary.

The design is synthesized out of context (no I/O buffers: the engine is a core, not a board top) and
timed against one clock on the clock port. Fmax = 1000 / (period - WNS) of that clock. Without Vivado
the Xilinx boards use Yosys' synth_xilinx counts, marked as estimates.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from codesign.errors import CodesignError
from codesign.synth.boards import Board
from codesign.synth.tools import run_tool

NOT_INSTALLED = "vivado: not installed (not on PATH); the Yosys synth_xilinx estimate is used"

# report_utilization row labels: 7-series names first, UltraScale names second.
UTILIZATION_ROWS = {
    "lut": ("Slice LUTs", "CLB LUTs"),
    "ff": ("Slice Registers", "CLB Registers"),
    "bram": ("Block RAM Tile",),
    "dsp": ("DSPs",),
    "uram": ("URAM",),
}


def vivado_path() -> str | None:
    return shutil.which("vivado")


def _tcl_value(value) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    return f'"{value}"'  # a Verilog string parameter: Vivado wants it quoted inside -generic


def vivado_tcl(
    files: Sequence[Path],
    top: str,
    board: Board,
    params: Mapping[str, object],
    defines: Mapping[str, str | None],
    include_dirs: Sequence[Path],
    clock_port: str,
    clock_mhz: float,
    implement: bool,
) -> str:
    period = 1000.0 / clock_mhz
    lines = [
        "set_param general.maxThreads 2",
        f"read_verilog -sv {{{' '.join(str(Path(f).resolve()) for f in files)}}}",
    ]
    synth = [f"synth_design -top {top} -part {board.part} -mode out_of_context -flatten_hierarchy rebuilt"]
    for name, value in params.items():
        synth.append(f"-generic {{{name}={_tcl_value(value)}}}")
    if include_dirs:
        synth.append(f"-include_dirs {{{' '.join(str(Path(d).resolve()) for d in include_dirs)}}}")
    for name, value in defines.items():
        synth.append(f"-verilog_define {{{name if value is None else f'{name}={value}'}}}")
    lines.append(" ".join(synth))
    lines.append(f"create_clock -name {clock_port} -period {period:.3f} [get_ports {clock_port}]")
    if implement:
        lines += ["opt_design", "place_design", "route_design"]
    lines += [
        "report_utilization -file utilization.rpt",
        "report_timing_summary -max_paths 1 -file timing_summary.rpt",
        "exit",
    ]
    return "\n".join(lines) + "\n"


def _table_rows(text: str):
    """Rows of every `| a | b |` table as dicts keyed by the table's header row."""
    header: list[str] | None = None
    for line in text.splitlines():
        if not line.startswith("|"):
            if not line.startswith("+"):
                header = None
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if header is None:
            header = cells
            continue
        yield dict(zip(header, cells, strict=False))


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def parse_utilization(text: str) -> tuple[dict[str, float], dict[str, float]]:
    """(used, available) for lut, ff, bram, dsp, uram from report_utilization's text."""
    used: dict[str, float] = {}
    available: dict[str, float] = {}
    for row in _table_rows(text):
        label = row.get("Site Type", "").rstrip("*").strip()
        for key, labels in UTILIZATION_ROWS.items():
            if label in labels and key not in used:
                u, a = _number(row.get("Used", "")), _number(row.get("Available", ""))
                if u is not None:
                    used[key] = u
                if a is not None:
                    available[key] = a
    missing = [k for k in ("lut", "ff", "bram", "dsp") if k not in used]
    if missing:
        raise CodesignError(f"report_utilization: no row for {', '.join(missing)}")
    return used, available


def _section(text: str, title: str) -> list[str]:
    """Lines of a report_timing_summary section, from its `| Title` banner to the next banner."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.strip() == f"| {title}":
            body = []
            for following in lines[i + 3 :]:
                if following.startswith("| "):
                    break
                body.append(following)
            return body
    return []


def _table_after_dashes(body: list[str]) -> list[list[str]]:
    """Rows of a whitespace table: the lines after its `-----  -----` rule, up to a blank line."""
    rows, started = [], False
    for line in body:
        if not started:
            started = bool(line.strip()) and set(line.strip()) <= {"-", " "}
            continue
        if not line.strip():
            break
        rows.append(line.split())
    return rows


@dataclass
class TimingSummary:
    wns_ns: float | None  # design-wide worst negative slack (setup)
    period_ns: dict[str, float]  # clock -> period
    clock_wns_ns: dict[str, float]  # clock -> its intra-clock setup WNS

    def fmax_mhz(self) -> dict[str, float]:
        return {
            clk: 1000.0 / (self.period_ns[clk] - wns)
            for clk, wns in self.clock_wns_ns.items()
            if clk in self.period_ns
        }


def parse_timing_summary(text: str) -> TimingSummary:
    design = _table_after_dashes(_section(text, "Design Timing Summary"))
    wns = _number(design[0][0]) if design else None
    periods = {}
    for row in _table_after_dashes(_section(text, "Clock Summary")):
        # name  {rise fall}  period  frequency: the waveform is two tokens
        if len(row) >= 5:
            periods[row[0]] = float(row[3])
    clock_wns = {}
    for row in _table_after_dashes(_section(text, "Intra Clock Table")):
        if len(row) >= 2 and _number(row[1]) is not None:
            clock_wns[row[0]] = float(row[1])
    if wns is None and not clock_wns:
        raise CodesignError("report_timing_summary: no Design Timing Summary or Intra Clock Table found")
    return TimingSummary(wns_ns=wns, period_ns=periods, clock_wns_ns=clock_wns)


def parse_version(text: str) -> str:
    m = re.search(r"Vivado v\.?(\d{4}\.\d+)", text)
    return f"vivado {m.group(1)}" if m else "vivado"


@dataclass
class VivadoResult:
    used: dict[str, float]
    available: dict[str, float]
    timing: TimingSummary
    version: str
    log: Path

    @property
    def fmax_mhz(self) -> float | None:
        fmax = self.timing.fmax_mhz()
        return min(fmax.values()) if fmax else None


def run_vivado(
    files: Sequence[Path],
    top: str,
    board: Board,
    out_dir: Path,
    *,
    params: Mapping[str, object],
    defines: Mapping[str, str | None],
    include_dirs: Sequence[Path],
    clock_port: str,
    clock_mhz: float,
    implement: bool = False,
    progress: bool = True,
) -> VivadoResult:
    exe = vivado_path()
    if exe is None:
        raise CodesignError(NOT_INSTALLED)
    out_dir = Path(out_dir)
    tcl = out_dir / "vivado.tcl"
    tcl.write_text(
        vivado_tcl(files, top, board, params, defines, include_dirs, clock_port, clock_mhz, implement)
    )
    log = out_dir / "vivado.log"
    run_tool(
        [exe, "-mode", "batch", "-nojournal", "-log", "vivado_run.log", "-source", tcl.name],
        out_dir,
        log,
        "vivado",
        progress,
        lambda line: line[7:40] if line.startswith("Command: ") else None,
    )
    util_text = (out_dir / "utilization.rpt").read_text()
    used, available = parse_utilization(util_text)
    return VivadoResult(
        used=used,
        available=available,
        timing=parse_timing_summary((out_dir / "timing_summary.rpt").read_text()),
        version=parse_version(util_text),
        log=log,
    )
