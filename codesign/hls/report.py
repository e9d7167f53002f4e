"""Parsers for Vitis HLS / Vivado HLS C-synthesis reports (`<top>_csynth.xml` and `<top>_csynth.rpt`).

Both tools write `<project>_prj/solution1/syn/report/<top>_csynth.{xml,rpt}`. Vivado HLS calls the DSP
column `DSP48E`, Vitis HLS `DSP`; both are reported as `dsp`. Latency and interval are in cycles.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from codesign.errors import CodesignError

RESOURCES = ("bram_18k", "dsp", "ff", "lut", "uram")
_COLUMN = {"BRAM_18K": "bram_18k", "DSP": "dsp", "DSP48E": "dsp", "FF": "ff", "LUT": "lut", "URAM": "uram"}


def _int(text: str | None) -> int | None:
    if text is None:
        return None
    text = text.strip()
    return None if text in ("", "-", "undef") else int(float(text))


def _float(text: str | None) -> float | None:
    if text is None or text.strip() in ("", "-", "undef"):
        return None
    return float(text.strip().split()[0])


def parse_csynth_xml(path: str | Path) -> dict:
    """Latency, interval, clock and resources of the top function from a csynth.xml."""
    path = Path(path)
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError) as exc:
        raise CodesignError(f"{path}: not a readable csynth.xml ({exc})") from None
    perf = root.find("PerformanceEstimates")
    area = root.find("AreaEstimates/Resources")
    if perf is None or area is None:
        raise CodesignError(f"{path}: no PerformanceEstimates / AreaEstimates in this csynth.xml")
    latency = perf.find("SummaryOfOverallLatency")
    out = {
        "tool_version": root.findtext("ReportVersion/Version"),
        "part": root.findtext("UserAssignments/Part"),
        "top": root.findtext("UserAssignments/TopModelName"),
        "clock_target_ns": _float(root.findtext("UserAssignments/TargetClockPeriod")),
        "clock_estimated_ns": _float(perf.findtext("SummaryOfTimingAnalysis/EstimatedClockPeriod")),
        "latency_min": _int(latency.findtext("Best-caseLatency")) if latency is not None else None,
        "latency_max": _int(latency.findtext("Worst-caseLatency")) if latency is not None else None,
        "ii_min": _int(latency.findtext("Interval-min")) if latency is not None else None,
        "ii_max": _int(latency.findtext("Interval-max")) if latency is not None else None,
    }
    for child in area:
        key = _COLUMN.get(child.tag)
        if key:
            out[key] = _int(child.text)
    available = root.find("AreaEstimates/AvailableResources")
    if available is not None:
        out["available"] = {_COLUMN[c.tag]: _int(c.text) for c in available if c.tag in _COLUMN}
    return out


def _table_rows(lines: list[str], start: int) -> list[list[str]]:
    """Cells of the `|...|` rows of the ASCII table starting at or after line `start`, until it ends."""
    rows = []
    i = start
    while i < len(lines) and not lines[i].strip().startswith("+"):
        i += 1
    for line in lines[i:]:
        s = line.strip()
        if s.startswith("+"):
            continue
        if not s.startswith("|"):
            break
        rows.append([c.strip() for c in s.strip("|").split("|")])
    return rows


def parse_csynth_rpt(path: str | Path) -> dict:
    """The same figures as `parse_csynth_xml` from the text report."""
    path = Path(path)
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise CodesignError(f"{path}: not readable ({exc})") from None
    out: dict = {"tool_version": None, "part": None}
    for line in lines:
        if m := re.match(r"\* Version:\s+(\S+)", line):
            out["tool_version"] = m.group(1)
        elif m := re.match(r"\* (?:Target device|Target Device):\s+(\S+)", line):
            out["part"] = m.group(1)
        elif m := re.match(r"== (?:Vitis|Vivado) HLS Report for '(\w+)'", line):
            out["top"] = m.group(1)
    found_latency = found_util = found_clock = False
    for i, line in enumerate(lines):
        if not found_clock and re.match(r"\s*\|\s*Clock\s*\|\s*Target", line):
            rows = _table_rows(lines, i - 1)
            if len(rows) >= 2:
                out["clock_target_ns"] = _float(rows[1][1])
                out["clock_estimated_ns"] = _float(rows[1][2])
                found_clock = True
        elif not found_latency and "Latency (cycles)" in line:
            rows = _table_rows(lines, i - 1)
            if len(rows) >= 3:  # two header rows, then the top function's row
                values = rows[2]
                out["latency_min"], out["latency_max"] = _int(values[0]), _int(values[1])
                out["ii_min"], out["ii_max"] = _int(values[4]), _int(values[5])
                found_latency = True
        elif not found_util and "== Utilization Estimates" in line:
            header = next((j for j in range(i, len(lines)) if re.search(r"\|\s*Name\s*\|", lines[j])), None)
            if header is None:
                continue
            rows = _table_rows(lines, header - 1)
            columns = [_COLUMN.get(c) for c in rows[0][1:]]
            for row in rows[1:]:
                if row[0] == "Total":
                    out.update({k: _int(v) for k, v in zip(columns, row[1:], strict=False) if k})
                elif row[0] == "Available":
                    out["available"] = {k: _int(v) for k, v in zip(columns, row[1:], strict=False) if k}
            found_util = True
    missing = [k for k in ("latency_max", "lut", "dsp") if out.get(k) is None]
    if missing:
        raise CodesignError(f"{path}: no {', '.join(missing)} found; not a csynth.rpt?")
    return out


def find_csynth_report(project_dir: str | Path, top: str) -> Path | None:
    """The csynth.xml of a synthesized hls4ml project, if any (Vitis and Vivado HLS use the same layout)."""
    candidates = sorted(Path(project_dir).glob(f"*_prj/solution1/syn/report/{top}_csynth.xml"))
    return candidates[0] if candidates else None
