"""Fitting the engine's resource estimator on Yosys runs, and checking it on configurations it never saw.

Design of experiments: every factor the sweep varies (NumPe, WeightWidth, IndexWidth, memory depth per
PE, inputs, units, classes, layers, cell width, activation width; the accumulator and table widths follow
from them as the encoder derives them, the other types are the shipped spec's) has TRAINING levels that
include both ends of its range, and HELD-OUT levels strictly between them (`LEVELS`). Training points
form a Latin hypercube over the training levels plus the two corner points and the hand-set probes
(`PROBES`); held-out points a Latin hypercube over the held-out levels only. No held-out point shares a
level of any factor with the training set, so the check is interpolation to new values, not a re-sampling
of the fitted grid.

Fitting: each resource's form (codesign.sweep.estimate.FORMS: a sum of physically named terms, each a
product of build quantities) is fitted by non-negative least squares on the RELATIVE residual (every row
divided by its measured count), since the bar is a relative error. BRAM and DSP are derived from the
primitive geometry; the fit only picks each group's copy count (0 or 1). The training set's
leave-one-out error is stored beside the held-out one: it is what a change of form should be judged on,
so that the held-out check stays a check.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from codesign.sweep.estimate import (
    DERIVED,
    FITTED,
    FORMS,
    RESOURCES,
    EngineGeometry,
    estimate_counts,
    features,
)

# Factor levels: training levels span each range (both ends); held-out levels lie strictly between them.
LEVELS: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {
    # 5 and 10: a NumPe that is not a power of 2 costs more (row select; LocalRows padded), so training
    # must hold some
    "num_pe": ((2, 4, 5, 8, 10, 16), (3, 6, 12)),
    "weight_width": ((4, 8, 12, 16), (6, 10, 14)),
    "index_width": ((2, 4, 6), (3, 5)),
    "depth": ((64, 256, 1024, 2048), (128, 512, 1536)),
    "inputs": ((4, 12, 32), (8, 20)),
    "units": ((8, 16, 32, 64), (12, 24, 48)),
    "classes": ((4, 9, 16), (6, 12)),
    "layers": ((1, 2), (1, 2)),
    "cell_width": ((12, 16), (14,)),
    # the broadcast activation (act); above 18 bits every PE multiplies in two parts (csc_pe g_split_mul).
    # The shipped specs give 21 (SPEC_TYPES), a training level.
    "act_width": ((16, 21, 24), (18, 23)),
}
FACTORS = tuple(LEVELS)
# Training points set by hand to break a confound of the Latin hypercube: with the training levels of
# units (4 x units a power of 2), a NumPe that is not a power of 2 always gives a LocalRows that is not one
# either, and the reverse; the held-out points hold the other pairings. The probes hold every pairing:
# NumPe 10 at 8 units (LocalRows 4) and NumPe 5 / 10 at 40 units (LocalRows 32 / 16), NumPe 4 / 8 at 40
# units (LocalRows 40 / 20). 40 units is a training level of the probes only, none of the held-out ones.
PROBES = (
    {
        "num_pe": 10,
        "weight_width": 8,
        "index_width": 4,
        "depth": 256,
        "inputs": 12,
        "units": 8,
        "classes": 9,
        "layers": 1,
        "cell_width": 12,
        "act_width": 21,
    },
    {
        "num_pe": 10,
        "weight_width": 16,
        "index_width": 2,
        "depth": 2048,
        "inputs": 32,
        "units": 8,
        "classes": 16,
        "layers": 2,
        "cell_width": 16,
        "act_width": 21,
    },
    {
        "num_pe": 5,
        "weight_width": 12,
        "index_width": 4,
        "depth": 1024,
        "inputs": 12,
        "units": 40,
        "classes": 9,
        "layers": 1,
        "cell_width": 16,
        "act_width": 21,
    },
    {
        "num_pe": 10,
        "weight_width": 8,
        "index_width": 6,
        "depth": 256,
        "inputs": 32,
        "units": 40,
        "classes": 16,
        "layers": 2,
        "cell_width": 12,
        "act_width": 21,
    },
    {
        "num_pe": 4,
        "weight_width": 16,
        "index_width": 2,
        "depth": 2048,
        "inputs": 4,
        "units": 40,
        "classes": 4,
        "layers": 1,
        "cell_width": 12,
        "act_width": 21,
    },
    {
        "num_pe": 8,
        "weight_width": 4,
        "index_width": 4,
        "depth": 64,
        "inputs": 12,
        "units": 40,
        "classes": 16,
        "layers": 2,
        "cell_width": 16,
        "act_width": 21,
    },
)
# Every point is one Yosys run of the engine (bench/fit_estimator.py records each run's time): 40 runs in
# all (+ 2 spot checks), a budget one machine gets through in one sitting.
TRAIN_POINTS = 20  # plus the two corners and the probes
HELDOUT_POINTS = 10
SEED = 5

# The types the sweep's engine points get: the encoder's (codesign.engine.encoder.derive_types) from the
# shipped spec. The table input, gate and bias types are fixed by the spec's activations and bias
# precision; act's integer bits stay the spec's while its width is a factor (act_width).
SPEC = Path(__file__).resolve().parents[2] / "models" / "jvowels_lstm" / "spec.yml"


@lru_cache(maxsize=1)
def spec_types():
    """EngineTypes of the shipped spec at 8-bit weights (what codesign.sweep.evaluate derives)."""
    from codesign.engine.encoder import derive_types
    from codesign.engine.types import state_type, weight_type
    from codesign.spec import load_spec
    from codesign.sweep.evaluate import bias_type

    spec = load_spec(SPEC)
    return derive_types(
        spec.model.activation, spec.model.recurrent_activation, spec.precision.input.fixed_type(),
        state_type(spec.precision.state), weight_type(8, 7), bias_type(spec), 1,
    )  # fmt: skip


@dataclass(frozen=True)
class BuildConfig:
    """One engine build: the factors of the design of experiments."""

    num_pe: int
    weight_width: int
    index_width: int
    depth: int  # WeightDepth: words per PE memory
    inputs: int
    units: int
    classes: int
    layers: int
    cell_width: int
    act_width: int
    role: str = "train"  # train | heldout | shipped (spot check, outside both)

    @property
    def name(self) -> str:
        return (
            f"pe{self.num_pe}-w{self.weight_width}-i{self.index_width}-d{self.depth}-x{self.inputs}"
            f"-h{self.units}x{self.layers}-c{self.classes}-cw{self.cell_width}-a{self.act_width}"
        )

    def types(self):
        """The engine types of this build: the spec's (SPEC_TYPES) at this act, weight and cell width, and
        the accumulator the encoder derives (exact for every row of up to inputs + units terms)."""
        from codesign.engine.types import accumulator_type, weight_type

        t = spec_types()
        act = dataclasses.replace(t.act, width=self.act_width)  # the spec's integer bits
        cell = dataclasses.replace(t.cell, width=self.cell_width)
        weight = weight_type(self.weight_width, self.weight_width - 1)
        terms = max(self.inputs + self.units, 2 * self.units if self.layers > 1 else 0)
        acc = accumulator_type(act, weight, t.bias, terms)
        return dataclasses.replace(t, act=act, weight=weight, acc=acc, cell=cell)

    @property
    def acc_width(self) -> int:
        return self.types().acc.width

    def geometry(self) -> EngineGeometry:
        """What codesign.sweep.evaluate hands the estimator for a model of this shape."""
        x, h, c, n_layers = self.inputs, self.units, self.classes, self.layers
        cols = [x + h] + [2 * h] * (n_layers - 1)
        colptr = sum(k + 1 for k in cols) + h + 1
        t = self.types()
        return EngineGeometry(
            num_pe=self.num_pe,
            weight_width=self.weight_width,
            index_width=self.index_width,
            act_width=t.act.width,
            acc_width=t.acc.width,
            cell_width=t.cell.width,
            gate_width=t.gate.width,
            table_width=t.table_width,
            table_depth=1 << t.table_in.width,
            bias_width=t.bias.width,
            bias_depth=4 * h * n_layers + c,
            depth=self.depth,
            colptr_depth=colptr,
            ptr_width=max(1, self.depth.bit_length()),
            max_local_rows=-(-max(4 * h, c) // self.num_pe),
            inputs_plus_units=max(cols),
            layer_words_max=(self.depth // (n_layers + 1),) * n_layers,
            head_words_max=self.depth // (n_layers + 1),
            timesteps=1,
            inputs=x,
            units=h,
            classes=c,
        )

    def rtl_parameters(self) -> dict[str, int]:
        """sparse_lstm_engine's parameters for this build (no MemDir: contents do not change the count)."""
        return rtl_parameters(self.geometry())


# Not part of the fit or of the held-out check (they share levels with training): the shipped model's own
# builds, models/jvowels_lstm at 8-bit weights, dense on 4 PEs and 90% balanced-sparse on 8 (memory depths
# as codesign.sweep.evaluate computes them), reported apart as a spot check.
SHIPPED = ((4, 1475), (8, 134))  # (NumPe, WeightDepth)


def shipped_configs() -> list[BuildConfig]:
    """SHIPPED: 12 inputs, 32 units, 9 classes, 8-bit weights, 4-bit indices, at the spec's own act and
    cell widths."""
    t = spec_types()
    return [
        BuildConfig(
            num_pe=pe,
            weight_width=8,
            index_width=4,
            depth=depth,
            inputs=12,
            units=32,
            classes=9,
            layers=1,
            cell_width=t.cell.width,
            act_width=t.act.width,
            role="shipped",
        )  # fmt: skip
        for pe, depth in SHIPPED
    ]


def rtl_parameters(g: EngineGeometry) -> dict[str, int]:
    """Top-level parameters of rtl/sparse_lstm_engine.sv for a geometry (the build the estimate is of),
    through codesign.engine.params from the params.json fields the geometry stands for (default cell
    rounding and table steps; no MemDir: contents do not change the count)."""
    from codesign.engine.params import rtl_parameters as engine_rtl_parameters

    x, h, c = g.shape()
    layers = len(g.layer_words_max)
    t = spec_types()  # every type keeps the spec's integer bits at the geometry's width
    act_frac, gate_frac = g.act_width - t.act.integer, g.gate_width - t.gate.integer
    acc_frac = act_frac + g.weight_width - 1

    def fixed(width: int, frac: int, rounding: str = "AP_TRN") -> dict:
        return {"width": width, "frac": frac, "rounding": rounding}

    params = {
        "num_pe": g.num_pe,
        "weight_width": g.weight_width,
        "index_width": g.index_width,
        "weight_depth": g.depth,
        "bias_shift": acc_frac - t.bias.frac,
        "sigmoid_step": 1,
        "tanh_step": 2,
        "inputs": x,
        "units": [h] * layers,
        "classes": c,
        "types": {
            "act": fixed(g.act_width, act_frac),
            "weight": fixed(g.weight_width, g.weight_width - 1),
            "acc": fixed(g.acc_width, acc_frac),
            "bias": fixed(g.bias_width, g.bias_width - t.bias.integer),
            "table_in": fixed(int(g.table_depth).bit_length() - 1, t.table_in.frac),
            "gate": fixed(g.gate_width, gate_frac),
            "cell": fixed(g.cell_width, g.cell_width - t.cell.integer, t.cell.rounding),
        },
    }
    return engine_rtl_parameters(params)


def _latin_hypercube(levels: Mapping[str, Sequence[int]], n: int, rng: np.random.Generator) -> list[dict]:
    """n points; each factor's levels used (nearly) equally often, paired at random across factors."""
    columns = {}
    for name, values in levels.items():
        reps = -(-n // len(values))
        col = np.array(list(values) * reps)[:n]
        columns[name] = rng.permutation(col)
    return [{name: int(columns[name][i]) for name in levels} for i in range(n)]


def design_of_experiments(
    train_points: int = TRAIN_POINTS, heldout_points: int = HELDOUT_POINTS, seed: int = SEED
) -> list[BuildConfig]:
    """Training configurations (Latin hypercube over the training levels + both corners + PROBES), held-out
    ones (Latin hypercube over the held-out levels, which no training point uses), then the SHIPPED spot
    checks."""
    rng = np.random.default_rng(seed)
    train_levels = {k: v[0] for k, v in LEVELS.items()}
    held_levels = {k: v[1] for k, v in LEVELS.items()}
    corners = [{k: min(v) for k, v in train_levels.items()}, {k: max(v) for k, v in train_levels.items()}]
    train = corners + _latin_hypercube(train_levels, train_points, rng) + [dict(p) for p in PROBES]
    held = _latin_hypercube(held_levels, heldout_points, rng)
    configs = [BuildConfig(**p, role="train") for p in train] + [
        BuildConfig(**p, role="heldout") for p in held
    ]
    configs += shipped_configs()
    seen, unique = set(), []
    for c in configs:
        if c.name not in seen:
            seen.add(c.name)
            unique.append(c)
    return unique


def split(points: Sequence[Mapping]) -> tuple[list[Mapping], list[Mapping]]:
    """(training, held-out) measured points by their role."""
    return [p for p in points if p["role"] == "train"], [p for p in points if p["role"] == "heldout"]


def check_disjoint_levels(points: Sequence[Mapping]) -> list[str]:
    """Factors (other than layers, which has only two values) whose held-out values occur in training."""
    train, held = split(points)
    shared = []
    for name in FACTORS:
        if name == "layers":
            continue
        if {p["config"][name] for p in train} & {p["config"][name] for p in held}:
            shared.append(name)
    return shared


# ---- fitting ---------------------------------------------------------------------------------------------


def fit_coefficients(rows: Sequence[Mapping[str, float]], measured: Sequence[float]) -> dict[str, float]:
    """Non-negative least squares of sum_k coef_k * row[k] = measured, on relative residuals.

    Every row is divided by its measured value so that the fit minimises the relative error (what the bar
    is stated in); a term cannot go negative, which keeps every term's physical meaning (a cost >= 0).
    """
    from scipy.optimize import nnls

    names = sorted({k for r in rows for k in r})
    y = np.asarray(measured, np.float64)
    if np.any(y <= 0):
        raise ValueError("relative fit needs positive measured counts")
    a = np.array([[r.get(k, 0.0) for k in names] for r in rows], np.float64) / y[:, None]
    scale = np.abs(a).max(axis=0)
    scale[scale == 0] = 1.0
    coef, _ = nnls(a / scale, np.ones_like(y))
    return {k: float(c / s) for k, c, s in zip(names, coef, scale, strict=False)}


def fit(points: Sequence[Mapping]) -> dict[str, dict[str, float]]:
    """Coefficients of every fitted resource from the training points (each has geometry and measured)."""
    train, _ = split(points)
    coefficients = {}
    for resource in FITTED:
        rows = [features(EngineGeometry.from_dict(p["geometry"]))[resource] for p in train]
        coefficients[resource] = fit_coefficients(rows, [p["measured"][resource] for p in train])
    return coefficients


def errors(points: Sequence[Mapping], coefficients: Mapping[str, Mapping[str, float]]) -> dict:
    """Per resource over `points`: max and mean relative error (over the points whose count is > 0; the
    others are counted in `zero_points` with their largest absolute error) and max and mean absolute
    error, with the estimate and measurement of each point."""
    out: dict[str, dict] = {}
    per_point = []
    for p in points:
        est = estimate_counts(EngineGeometry.from_dict(p["geometry"]), coefficients)
        per_point.append({"name": p["name"], "estimate": est, "measured": dict(p["measured"])})
    for r in RESOURCES:
        est = np.array([q["estimate"][r] for q in per_point], np.float64)
        meas = np.array([q["measured"][r] for q in per_point], np.float64)
        if len(meas) == 0:
            continue
        absolute = np.abs(est - meas)
        entry = {"max_abs": float(absolute.max()), "mean_abs": float(absolute.mean()), "points": len(meas)}
        # relative error is undefined at a count of 0: over the non-zero points, zeros counted apart
        nonzero = meas > 0
        rel = absolute[nonzero] / meas[nonzero]
        entry |= {
            "max_rel": float(rel.max()) if rel.size else None,
            "mean_rel": float(rel.mean()) if rel.size else None,
            "zero_points": int((~nonzero).sum()),
            "zero_points_max_abs": float(absolute[~nonzero].max()) if (~nonzero).any() else None,
        }
        out[r] = entry
    return {"summary": out, "points": per_point}


def rtl_fingerprint(files: Sequence[Path]) -> str:
    """Hash of the RTL sources and headers: a cached synthesis is reused only for the very same RTL."""
    h = hashlib.sha256()
    for f in files:
        h.update(Path(f).name.encode())
        h.update(Path(f).read_bytes())
    return h.hexdigest()[:16]


def config_key(config: BuildConfig, rtl_hash: str, family: str) -> str:
    payload = json.dumps(
        {"params": config.rtl_parameters(), "rtl": rtl_hash, "family": family}, sort_keys=True
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


# Yosys' names of the engine's memories (PE 0 stands for every PE) -> codesign.sweep.estimate.engine_memories
YOSYS_MEMORIES = {
    "g_pe[0].u_pe.wmem_q": "pe_weights",
    "g_pe[0].u_pe.pmem_q": "pe_colptr",
    "g_pe[0].u_pe.pflag_q": "pe_colflags",
    "g_pe[0].u_pe.q_mem_q": "pe_queue",
    "g_pe[0].u_pe.acc_mem": "pe_acc",
    "g_bias[0].bmem_q": "pe_bias",
    "h_q": "h_state",  # written by every PE: flip-flops (not in engine_memories)
    "c_q": "c_state",
    "xl_q": "x_list",
    "g_list_bank[0].hmem_q": "h_lists",
    "g_list_bank[0].smem_q": "h_lists",
    # PE 0's element-wise unit's three tables (sigmoid; tanh of the gate; tanh of c_t); a GRU's two
    "g_ew[0].g_lstm.u_eltwise.g_gate_tables.u_sigmoid.mem_q": "pe_tables",
    "g_ew[0].g_lstm.u_eltwise.g_gate_tables.u_tanh_gate.mem_q": "pe_tables",
    "g_ew[0].g_lstm.u_eltwise.g_cell_table.u_tanh_cell.mem_q": "pe_tables",
    "g_ew[0].g_gru.u_eltwise.g_gate_table.u_sigmoid.mem_q": "pe_tables",
    "g_ew[0].g_gru.u_eltwise.g_cell_table.u_tanh.mem_q": "pe_tables",
}


# Modules kept as a hierarchy (keep_hierarchy): Yosys names their memories "$paramod$<hash>\\<module>.<mem>";
# the instance path PE 0 / unit 0 has in YOSYS_MEMORIES.
KEPT_MODULES = {
    "csc_pe": "g_pe[0].u_pe",
    "lstm_eltwise": "g_ew[0].g_lstm.u_eltwise",
    "gru_eltwise": "g_ew[0].g_gru.u_eltwise",
}


def _instance_name(name: str) -> str:
    name = name.removeprefix("sparse_lstm_engine.")
    if name.startswith("$paramod$") and "\\" in name:
        module, _, memory = name.split("\\", 1)[1].partition(".")
        if module in KEPT_MODULES:
            return f"{KEPT_MODULES[module]}.{memory}"
    return name


def memory_kinds(mapping: Mapping[str, str]) -> dict[str, str]:
    """Yosys' memory_libmap choices (from its log) as {estimator memory: bram | lutram | ff}."""
    out = {}
    for name, how in mapping.items():
        key = YOSYS_MEMORIES.get(_instance_name(name))
        if key is not None:
            out[key] = "bram" if "BLOCKRAM" in how else "lutram" if "LUTRAM" in how else "ff"
    return out


def measured_point(
    config: BuildConfig,
    counts: Mapping[str, float],
    seconds: float,
    memories: Mapping[str, str] | None = None,
) -> dict:
    """A data point as engine_cost.json stores it (with Yosys' memory mapping when known)."""
    return {
        "name": config.name,
        "role": config.role,
        "config": {k: v for k, v in asdict(config).items() if k != "role"},
        "geometry": config.geometry().as_dict(),
        "measured": {r: counts[r] for r in RESOURCES},
        "memories": memory_kinds(memories or {}),
        "seconds": round(float(seconds), 1),
    }


def fit_derived(points: Sequence[Mapping]) -> dict[str, dict[str, float]]:
    """Copies kept of every derived BRAM / DSP group, each 0 or 1 (the group is in the netlist once per
    instance, or Yosys removed it): the choice with the least total absolute error on the training
    points; among equal ones, the one keeping the most groups (the physical prior)."""
    from itertools import product

    train, _ = split(points)
    out = {}
    for resource in DERIVED:
        rows = [features(EngineGeometry.from_dict(p["geometry"]))[resource] for p in train]
        names = sorted(rows[0])
        a = np.array([[r[k] for k in names] for r in rows], np.float64)
        y = np.array([p["measured"][resource] for p in train], np.float64)
        best = min(
            product((1, 0), repeat=len(names)),
            key=lambda keep: (float(np.abs(a @ np.array(keep) - y).sum()), -sum(keep)),
        )
        out[resource] = {k: float(c) for k, c in zip(names, best, strict=True)}
    return out


def leave_one_out(points: Sequence[Mapping]) -> dict[str, dict[str, float]]:
    """Max and mean relative error of each fitted resource when every training point in turn is left out
    of the fit and estimated (training data only)."""
    train, _ = split(points)
    out = {}
    for resource in FITTED:
        rows = [features(EngineGeometry.from_dict(p["geometry"]))[resource] for p in train]
        y = [p["measured"][resource] for p in train]
        rel = []
        for i in range(len(train)):
            coef = fit_coefficients(rows[:i] + rows[i + 1 :], y[:i] + y[i + 1 :])
            est = sum(coef.get(k, 0.0) * v for k, v in rows[i].items())
            rel.append(abs(est - y[i]) / y[i])
        out[resource] = {"max_rel": float(max(rel)), "mean_rel": float(np.mean(rel))}
    return out


def fit_and_evaluate(points: Sequence[Mapping]) -> dict:
    """Coefficients from the training points, errors on training and held-out points, and the points."""
    shared = check_disjoint_levels(points)
    if shared:
        raise ValueError(f"held-out configurations reuse training levels of {', '.join(shared)}")
    coefficients = {**fit(points), **fit_derived(points)}
    train, held = split(points)
    return {
        "coefficients": {r: coefficients[r] for r in RESOURCES},
        "forms": FORMS,
        "levels": {k: {"train": list(v[0]), "heldout": list(v[1])} for k, v in LEVELS.items()},
        "train": errors(train, coefficients),
        "train_leave_one_out": leave_one_out(points),
        "heldout": errors(held, coefficients),
        "shipped": errors([p for p in points if p["role"] == "shipped"], coefficients),
        "points": list(points),
    }


def over_bar(result: Mapping, bar: float) -> list[str]:
    """Resources whose held-out error exceeds `bar`: relative over the non-zero counts, and absolute at a
    zero count (any error there is a wrong block or multiplier count)."""
    over = []
    for r, e in result["heldout"]["summary"].items():
        if (e["max_rel"] or 0.0) > bar or (e["zero_points_max_abs"] or 0.0) >= 1.0:
            over.append(r)
    return over


def error_table(result: Mapping) -> list[str]:
    """The held-out error table (markdown), as report.md shows it."""
    held = result["heldout"]["summary"]
    lines = [
        "| resource | max rel. error | mean rel. error | max abs. error | mean abs. error | points |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in RESOURCES:
        e = held.get(r)
        if e is None:
            continue
        rel = "n/a" if e["max_rel"] is None else f"{100 * e['max_rel']:.1f}%"
        mean = "n/a" if e["mean_rel"] is None else f"{100 * e['mean_rel']:.1f}%"
        pts = f"{e['points']}"
        if e["zero_points"]:
            pts += f" ({e['zero_points']} at 0: relative error over the others)"
        lines.append(f"| {r} | {rel} | {mean} | {e['max_abs']:.1f} | {e['mean_abs']:.1f} | {pts} |")
    return lines


def report_lines(path: Path | None = None) -> list[str]:
    """report.md's estimator section from the committed engine_cost.json (or say it is missing)."""
    from codesign.sweep.estimate import COST_FILE

    path = Path(path or COST_FILE)
    if not path.is_file():
        return [f"Not measured: {path.name} is missing (run bench/fit_estimator.py)."]
    result = json.loads(path.read_text())
    train, held = split(result["points"])
    rtl = result.get("rtl", {}).get("fingerprint", "?")
    lines = [
        f"Engine estimates (LUT, FF, BRAM 18K, DSP) fitted on {len(train)} Yosys runs "
        f"({result.get('tool', 'yosys')}, RTL {rtl}) and checked on "
        f"{len(held)} held-out configurations whose factor levels no training run uses "
        "(codesign/sweep/engine_cost.json; bench/fit_estimator.py re-fits). Held-out errors:",
        "",
        *error_table(result),
    ]
    shipped = result.get("shipped", {}).get("summary", {})
    if shipped:
        parts = [
            f"{r} {100 * e['max_rel']:.1f}%" if e["max_rel"] is not None else f"{r} {e['max_abs']:g} abs."
            for r, e in shipped.items()
        ]
        lines += [
            "",
            f"Spot check on the shipped model's own builds (models/jvowels_lstm, {len(SHIPPED)} builds; not "
            f"held out, they share levels with training), max relative error: {', '.join(parts)}.",
        ]
    return lines
