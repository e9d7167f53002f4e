"""The sweep's outputs: results.csv and results.json (one row per point), report.md (the survey-style
table), and Pareto plots (accuracy vs LUT, DSP, BRAM, latency) as PNG."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from codesign.compress.survey import survey_table_markdown
from codesign.sweep.fit import report_lines as estimator_report_lines
from codesign.sweep.pareto import front_order

# Leading CSV columns; any other key a row has follows in first-seen order.
COLUMNS = (
    "key",
    "target",
    "structure",
    "bits",
    "sparsity",
    "num_pe",
    "reuse_factor",
    "block",
    "circulant_block",
    "feasible",
    "accuracy",
    "baseline_accuracy",
    "accuracy_loss_points",
    "relative_performance",
    "flag",
    "measured_sparsity",
    "params_before",
    "params_after",
    "size_kb",
    "memory_savings",
    "macs_per_sequence",
    "compute_savings",
    "lut",
    "ff",
    "bram_18k",
    "dsp",
    "latency_cycles",
    "latency_us",
    "clock_mhz",
)
PLOTS = {  # file stem -> (row key, axis label)
    "pareto_lut": ("lut", "LUT (estimate)"),
    "pareto_dsp": ("dsp", "DSP (estimate)"),
    "pareto_bram": ("bram_18k", "BRAM (18 Kbit blocks, estimate)"),
    "pareto_latency": ("latency_us", "latency per sequence (us)"),
}


def _columns(rows: list[dict]) -> list[str]:
    cols = [c for c in COLUMNS if any(c in r for r in rows)]
    for r in rows:
        cols.extend(k for k in r if k not in cols)
    return cols


def write_csv(path: Path, rows: list[dict]) -> None:
    cols = _columns(rows)
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=cols)
        writer.writeheader()
        for r in rows:
            writer.writerow({k: ("" if r.get(k) is None else _csv_value(r.get(k))) for k in cols})


def _csv_value(v):
    if isinstance(v, list):
        return "x".join(map(str, v))
    return v


def feasible(rows: list[dict]) -> list[dict]:
    return [r for r in rows if r.get("feasible")]


def best_within(rows: list[dict], tolerance: float) -> dict | None:
    """The buildable point with the largest memory savings whose accuracy is within `tolerance`
    (absolute) of the float baseline; ties go to the more accurate point."""
    ok = [r for r in feasible(rows) if r["accuracy"] >= r["baseline_accuracy"] - tolerance - 1e-12]
    if not ok:
        return None
    return max(ok, key=lambda r: (r["memory_savings"], r["accuracy"]))


def accuracy_memory_front(rows: list[dict]) -> list[dict]:
    """Buildable points Pareto-optimal in (accuracy up, model size down), smallest first."""
    rows = feasible(rows)
    if not rows:
        return []
    obj = np.array([[r["accuracy"], r["size_kb"]] for r in rows])
    return [rows[i] for i in front_order(obj, (True, False))]


def report_markdown(config, rows: list[dict], complete: bool, total: int) -> str:
    """report.md: baseline, the Pareto-optimal points in the survey's format, the best point within the
    tolerance, what each plot's front holds, and the estimator-error section (issue 5, item 4)."""
    tol_points = 100 * config.tolerance
    baseline = rows[0]["baseline_accuracy"] if rows else float("nan")
    lines = [
        f"# Sweep {config.name}",
        "",
        f"Model `{config.model}`, mode `{config.mode}`, {len(rows)} of {total} points"
        + ("" if complete else " (incomplete: rerun to finish; finished points are cached)")
        + f". Float baseline accuracy {baseline:.4f}; memory savings against the float model "
        "(32 bits per parameter), model size counting the storage the hardware uses (CSC words incl. "
        "padding and column pointers for the engine; non-zero blocks and block indices for block-sparse; "
        "defining vectors for circulant; biases at their precision). Compute savings: MACs per sequence "
        f"with zero weights skipped. E: within {tol_points:g} point(s) of the baseline; S: above it. "
        f"Resources and latency are analytic estimates at {config.clock_mhz:g} MHz ({config.board}).",
        "",
    ]
    best = best_within(rows, config.tolerance)
    lines.append(f"## Best point within {tol_points:g} point(s) of the float baseline")
    lines.append("")
    if best is None:
        lines.append("None: no buildable point keeps the accuracy within the tolerance.")
    else:
        lines.append(
            f"**{best['technique']}**: accuracy {best['accuracy']:.4f} ({best['relative_performance']:.1f}% "
            f"of the baseline), {best['size_kb']:.2f} KB, **{best['memory_savings']:.1f}x memory savings**, "
            f"{best['compute_savings']:.1f}x compute savings, LUT {best['lut']}, FF {best['ff']}, "
            f"BRAM {best['bram_18k']}, DSP {best['dsp']}, {best['latency_cycles']} cycles "
            f"({best['latency_us']:.2f} us) per sequence."
        )
        lines += ["", survey_table_markdown([best])]
    front = accuracy_memory_front(rows)
    lines += [
        "",
        "## Pareto-optimal points (accuracy vs model size)",
        "",
        survey_table_markdown(front) if front else "No buildable points.\n",
        "",
        "| point | target | LUT | FF | BRAM 18K | DSP | cycles / sequence | us |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in front:
        lines.append(
            f"| {r['technique']} | {r['target']} | {r['lut']} | {r['ff']} | {r['bram_18k']} | {r['dsp']} | "
            f"{r['latency_cycles']} | {r['latency_us']:.2f} |"
        )
    lines += ["", "## Pareto plots", ""]
    for stem, (key, label) in PLOTS.items():
        n = len(_plot_front(feasible(rows), key))
        lines.append(f"- `{stem}.png`: accuracy vs {label}; {n} point(s) on the front")
    skipped = [r for r in rows if not r.get("feasible")]
    if skipped:
        lines += ["", f"{len(skipped)} point(s) not buildable (left out of the fronts):", ""]
        lines += sorted({f"- {r['note']}" for r in skipped})
    lines += [
        "",
        "## Estimator error (held-out configurations)",
        "",
        "<!-- estimator-error-table: filled by the estimator fit of issue 5, item 4 -->",
        *estimator_report_lines(),
        "",
    ]
    return "\n".join(lines)


def _plot_front(rows: list[dict], key: str) -> list[dict]:
    rows = [r for r in rows if r.get(key) is not None]
    if not rows:
        return []
    obj = np.array([[r["accuracy"], r[key]] for r in rows], np.float64)
    return [rows[i] for i in front_order(obj, (True, False))]


def write_plots(folder: Path, rows: list[dict], tolerance: float, title: str) -> list[Path]:
    """One PNG per resource: every buildable point, the Pareto front (max accuracy, min cost) marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = feasible(rows)
    paths = []
    groups = sorted({(r["target"], r["structure"]) for r in rows})
    markers = {"engine": "o", "hls": "s"}
    for stem, (key, label) in PLOTS.items():
        fig, ax = plt.subplots(figsize=(7, 4.5), dpi=110)
        have = [r for r in rows if r.get(key) is not None]
        for i, (target, structure) in enumerate(groups):
            g = [r for r in have if r["target"] == target and r["structure"] == structure]
            if g:
                ax.scatter(
                    [r[key] for r in g],
                    [r["accuracy"] for r in g],
                    s=22,
                    alpha=0.6,
                    marker=markers.get(target, "o"),
                    color=f"C{i}",
                    label=f"{target} {structure}",
                )
        front = _plot_front(have, key)
        if front:
            xs, ys = [r[key] for r in front], [r["accuracy"] for r in front]
            ax.step(xs, ys, where="post", color="black", linewidth=1.2)
            ax.scatter(
                xs, ys, s=70, facecolors="none", edgecolors="black", linewidths=1.4, label="Pareto front"
            )
        if have:
            base = have[0]["baseline_accuracy"]
            ax.axhline(base, color="grey", linestyle="--", linewidth=0.8, label=f"float baseline {base:.3f}")
            ax.axhline(
                base - tolerance,
                color="grey",
                linestyle=":",
                linewidth=0.8,
                label=f"baseline - {100 * tolerance:g} pt",
            )
            values = [r[key] for r in have if r[key] > 0]
            if values and max(values) / min(values) > 10:
                ax.set_xscale("log")
        ax.set_xlabel(label)
        ax.set_ylabel("test accuracy")
        ax.set_title(f"{title}: accuracy vs {label}")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
        fig.tight_layout()
        path = folder / f"{stem}.png"
        fig.savefig(path)
        plt.close(fig)
        paths.append(path)
    return paths
