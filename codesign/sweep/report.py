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


def board_excess(row: dict, board: str) -> list[str]:
    """Which estimated resources exceed the board's totals, e.g. ['LUT 83773 > 53200'] (empty: it fits).
    Xilinx boards count block RAM in RAMB36 tiles (2 RAMB18 each); BRAM is checked on 7-series /
    UltraScale and ECP5 (18 Kbit blocks), not on iCE40 (4 Kbit)."""
    from codesign.synth.boards import BOARDS

    b = BOARDS[board]
    bram18 = {"xc7": 2 * b.bram, "xcu": 2 * b.bram, "ecp5": b.bram}.get(b.family)
    limits = {
        "lut": ("LUT", b.lut),
        "ff": ("FF", b.ff),
        "dsp": ("DSP", b.dsp),
        "bram_18k": ("BRAM18", bram18),
    }
    return [
        f"{name} {row[key]} > {limit:g}"
        for key, (name, limit) in limits.items()
        if limit is not None and row.get(key) is not None and row[key] > limit
    ]


def best_within(rows: list[dict], tolerance: float, board: str | None = None) -> dict | None:
    """The buildable point with the largest memory savings whose accuracy is within `tolerance`
    (absolute) of the float baseline; ties go to the more accurate point. With `board`: only points
    whose estimate fits it."""
    ok = [r for r in feasible(rows) if r["accuracy"] >= r["baseline_accuracy"] - tolerance - 1e-12]
    if board is not None:
        ok = [r for r in ok if not board_excess(r, board)]
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


MODE_TEXT = {
    "analytic": "Mode analytic: the cached model's weights pruned (or projected onto block-circulant "
    "W_x, W_h) "
    "and quantized to each point's bits, no retraining; accuracy is the numpy reference model's on the "
    "test split.",
    "finetune": "Mode finetune: every point is a model trained by `codesign.compress`: gradual pruning "
    "(or least-squares block-circulant projection of W_x and W_h) followed by QAT fine-tuning at the "
    "point's weight precision (kernel, recurrent kernel and dense kernel at `bits`); accuracy is the "
    "numpy reference model's on the test split (equal to what Keras measured on the fine-tuned model: "
    "results.csv's `finetuned_keras_accuracy`).",
}
BAR_SAVINGS = 20.0  # issue 5's bar: >= 20x memory savings within the tolerance


def _bar_lines(rows: list[dict], tolerance: float, board: str) -> list[str]:
    """Issue 5's bar, checked on the measured rows: >= 20x memory savings within the tolerance."""
    ok = [r for r in feasible(rows) if r["accuracy"] >= r["baseline_accuracy"] - tolerance - 1e-12]
    met = sorted((r for r in ok if r["memory_savings"] >= BAR_SAVINGS), key=lambda r: -r["memory_savings"])
    head = f"**Bar (>= {BAR_SAVINGS:g}x memory savings at <= {100 * tolerance:g} point(s) loss): "
    if met:
        names = "; ".join(
            f"{r['technique']} ({r['memory_savings']:.1f}x, {r['accuracy_loss_points']:.2f} pt loss, "
            f"{_fit_text(r, board)})"
            for r in met
        )
        return [head + f"met by {len(met)} point(s)**: {names}.", ""]
    best = max(ok, key=lambda r: r["memory_savings"], default=None)
    why = (
        "no point is within the tolerance"
        if best is None
        else (f"the most within the tolerance is {best['memory_savings']:.1f}x ({best['technique']})")
    )
    return [head + f"not met**: {why}.", ""]


def report_markdown(config, rows: list[dict], complete: bool, total: int) -> str:
    """report.md: baseline, the Pareto-optimal points in the survey's format, the best point within the
    tolerance, what each plot's front holds, and the estimator-error section (issue 5, item 4)."""
    tol_points = 100 * config.tolerance
    baseline = rows[0]["baseline_accuracy"] if rows else float("nan")
    lines = [
        f"# Sweep {config.name}",
        "",
        f"Model `{_shown_path(config.model)}`, mode `{config.mode}`, {len(rows)} of {total} points"
        + ("" if complete else " (incomplete: rerun to finish; finished points are cached)")
        + f". Float baseline accuracy {baseline:.4f}; memory savings against the float model "
        "(32 bits per parameter), model size counting the storage the hardware uses (CSC words incl. "
        "padding and column pointers for the engine; non-zero blocks and block indices for block-sparse; "
        "defining vectors for circulant; biases at their precision). Compute savings: MACs per sequence "
        f"with zero weights skipped. E: within {tol_points:g} point(s) of the baseline; S: above it. "
        f"Resources and latency are analytic estimates at {config.clock_mhz:g} MHz ({config.board}): "
        "engine points the Yosys-fitted engine model (its held-out error below), hls points "
        "`codesign.hls`'s estimate of the hls4ml project (Latency strategy: weights in fabric, so 0 BRAM; "
        "the Resource strategy's BRAM is results.csv's `bram_18k_resource`). Circulant points: MACs are the "
        "hls kernel's multiplies: the exact fast block product (R = 5, 14, 41 per 4x4, 8x8, 16x16 block, "
        "codesign.hls.fastconv) for weights wider than 4 bits, b^2 direct products for narrower ones.",
        "",
        MODE_TEXT.get(config.mode, ""),
        "",
        f"Worker time over the {len(rows)} point(s): {sum(r.get('seconds', 0.0) for r in rows):.0f} s "
        "(as measured by the run that computed each point; cached points keep that time).",
        "",
    ]
    lines += _bar_lines(rows, config.tolerance, config.board)
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
            f"({best['latency_us']:.2f} us) per sequence; {_fit_text(best, config.board)}."
        )
        lines += ["", survey_table_markdown([best])]
        fitting = best_within(rows, config.tolerance, config.board)
        if board_excess(best, config.board):
            lines.append(
                f"Best point within the tolerance that fits {config.board}: "
                + (
                    "none."
                    if fitting is None
                    else f"**{fitting['technique']}**: accuracy {fitting['accuracy']:.4f}, "
                    f"**{fitting['memory_savings']:.1f}x memory savings**, {fitting['compute_savings']:.1f}x "
                    f"compute savings, LUT {fitting['lut']}, FF {fitting['ff']}, BRAM {fitting['bram_18k']}, "
                    f"DSP {fitting['dsp']}, {fitting['latency_us']:.2f} us per sequence."
                )
            )
            lines.append("")
    front = accuracy_memory_front(rows)
    lines += [
        "",
        "## Pareto-optimal points (accuracy vs model size)",
        "",
        survey_table_markdown(front) if front else "No buildable points.\n",
        "",
        f"| point | target | LUT | FF | BRAM 18K | DSP | cycles / sequence | us | {config.board} |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in front:
        lines.append(
            f"| {r['technique']} | {r['target']} | {r['lut']} | {r['ff']} | {r['bram_18k']} | {r['dsp']} | "
            f"{r['latency_cycles']} | {r['latency_us']:.2f} | {_fit_text(r, config.board)} |"
        )
    lines += ["", "## Pareto plots", ""]
    images: list[str] = []
    for stem, (key, label) in PLOTS.items():
        n = len(_plot_front(feasible(rows), key))
        lines.append(f"- `{stem}.png`: accuracy vs {label}; {n} point(s) on the front")
        images.append(f"![accuracy vs {label}]({stem}.png)")
    lines += ["", *images] if rows else []
    skipped = [r for r in rows if not r.get("feasible")]
    if skipped:
        lines += ["", f"{len(skipped)} point(s) not buildable (left out of the fronts):", ""]
        lines += sorted({f"- {r['note']}" for r in skipped})
    lines += synthesis_lines(rows, config.board)
    lines += [
        "",
        "## Estimator error (held-out configurations)",
        "",
        "<!-- estimator-error-table: filled by the estimator fit of issue 5, item 4 -->",
        *estimator_report_lines(),
        "",
    ]
    return "\n".join(lines)


SYNTH_RESOURCES = (("lut", "LUT"), ("ff", "FF"), ("bram_18k", "BRAM 18K"), ("dsp", "DSP"))


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:+.1f}%"


def _count(value) -> str:
    return "-" if value is None else f"{value:g}"


def synthesis_lines(rows: list[dict], board: str) -> list[str]:
    """The engine points synthesized on request (`synthesize: true`): the analytic estimate beside
    Yosys' counts and its relative error, (estimate - Yosys) / Yosys. Empty without synthesized rows."""
    done = [r for r in rows if r.get("yosys_lut") is not None]
    if not done:
        return []
    tools = sorted({str(r.get("yosys_tool")) for r in done})
    lines = [
        "",
        f"## Yosys synthesis of engine points ({board})",
        "",
        f"{len(done)} engine point(s) synthesized with `codesign synth`'s flow ({', '.join(tools)}); "
        "each cell is estimate / Yosys (relative error of the estimate). Yosys counts are post-synthesis "
        "cells before packing; BRAM in 18 Kbit blocks.",
        "",
        "| point | " + " | ".join(label for _, label in SYNTH_RESOURCES) + " |",
        "| --- |" + " --- |" * len(SYNTH_RESOURCES),
    ]
    for r in done:
        cells = [
            f"{_count(r.get(key))} / {_count(r.get(f'yosys_{key}'))} ({_pct(r.get(f'{key}_rel_error'))})"
            for key, _ in SYNTH_RESOURCES
        ]
        lines.append(f"| {r['technique']} | " + " | ".join(cells) + " |")
    worst = []
    for key, label in SYNTH_RESOURCES:
        errs = [abs(r[f"{key}_rel_error"]) for r in done if r.get(f"{key}_rel_error") is not None]
        if errs:
            worst.append(f"{label} {100 * max(errs):.1f}%")
    if worst:
        lines += ["", "Largest |error| over these points: " + ", ".join(worst) + "."]
    return lines


def _shown_path(path) -> str:
    """Relative to the working folder when below it (what a committed report should show)."""
    from pathlib import Path

    path = Path(path)
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _fit_text(row: dict, board: str) -> str:
    excess = board_excess(row, board)
    return f"fits {board}" if not excess else f"exceeds {board}: " + ", ".join(excess)


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
        ax.legend(fontsize=7, loc="best")  # the spot covering the fewest points
        fig.tight_layout()
        path = folder / f"{stem}.png"
        fig.savefig(path)
        plt.close(fig)
        paths.append(path)
    return paths
