"""The synth stage's report.json: one set of numbers per board, and where each number came from.

Keys other stages rely on (docs/architecture.md): board, part, tool, estimate, lut, ff, bram, dsp, fmax_mhz.
`estimate` is true when neither place-and-route nor a vendor tool produced the numbers (Yosys alone:
its counts are post-synthesis cell counts before packing, and it gives no Fmax). `sources` names the
tool behind each number; `utilization` is percent of the part's total of the same unit.
"""

from __future__ import annotations

from collections.abc import Mapping

from codesign.synth.boards import Board

RESOURCES = ("lut", "ff", "bram", "dsp")


def utilization(used: Mapping[str, float | None], available: Mapping[str, float]) -> dict[str, float | None]:
    """Percent of each resource used, to two decimals; None where a count or a total is missing."""
    out: dict[str, float | None] = {}
    for key in RESOURCES:
        u, a = used.get(key), available.get(key)
        out[key] = None if u is None or not a else round(100.0 * u / a, 2)
    return out


def build_report(
    board: Board,
    top: str,
    params: Mapping[str, object],
    *,
    numbers: Mapping[str, float | None],
    sources: Mapping[str, str | None],
    tool: str,
    estimate: bool,
    clock_mhz: float,
    available: Mapping[str, float] | None = None,
    details: Mapping[str, object] | None = None,
    notes: list[str] | None = None,
    name: str | None = None,
) -> dict:
    """Assemble report.json. `numbers` holds lut, ff, bram, dsp, fmax_mhz (None when not measured)."""
    totals = dict(board.totals)
    totals.update({k: v for k, v in (available or {}).items() if k in RESOURCES and v})
    fmax = numbers.get("fmax_mhz")
    return {
        "name": name or top,
        "board": board.name,
        "part": board.part,
        "family": board.family,
        "tool": tool,
        "estimate": estimate,
        **{k: numbers.get(k) for k in RESOURCES},
        "fmax_mhz": None if fmax is None else round(float(fmax), 2),
        "clock_target_mhz": clock_mhz,
        "timing_met": None if fmax is None else bool(fmax >= clock_mhz),
        "utilization": utilization(numbers, totals),
        "available": {k: totals[k] for k in RESOURCES},
        "bram_unit": board.bram_unit,
        "sources": {k: sources.get(k) for k in (*RESOURCES, "fmax_mhz")},
        "top": top,
        "params": dict(params),
        "notes": list(notes or []),
        **dict(details or {}),
    }


def format_report(report: Mapping) -> list[str]:
    """A short table for the terminal."""
    kind = "estimate" if report["estimate"] else "measured"
    lines = [f"{report['name']} on {report['board']} ({report['part']}): {report['tool']} [{kind}]"]
    lines.append(f"  {'resource':<9} {'used':>9} {'of':>9} {'util':>7}  from")
    for key in RESOURCES:
        used, pct = report[key], report["utilization"][key]
        used_s = "-" if used is None else f"{used:g}"
        pct_s = "-" if pct is None else f"{pct:.2f}%"
        source = report["sources"][key] or "-"
        lines.append(f"  {key:<9} {used_s:>9} {report['available'][key]:>9g} {pct_s:>7}  {source}")
    fmax = report["fmax_mhz"]
    if fmax is None:
        lines.append(f"  fmax      not measured (clock target {report['clock_target_mhz']:g} MHz)")
    else:
        verdict = "met" if report["timing_met"] else "NOT met"
        lines.append(
            f"  fmax      {fmax:.2f} MHz, target {report['clock_target_mhz']:g} MHz {verdict}"
            f"  ({report['sources']['fmax_mhz']})"
        )
    lines += [f"  note: {n}" for n in report["notes"]]
    return lines
