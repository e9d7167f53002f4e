"""The sweep file (`sweeps/<name>.yml`): a base model and the axes to sweep, validated into a SweepConfig.

    name: jvowels_small                    # optional: the file's stem
    model: models/jvowels_lstm/spec.yml    # relative to the working folder, else to this file
    mode: analytic                         # analytic (no retraining) | finetune (codesign compress:
                                           #   prune or circulant-project, QAT at the point's bits)
    board: pynq-z2                         # clock and resource totals (codesign.synth.boards)
    clock_mhz: 100                         # optional: overrides the board's clock
    tolerance: 0.01                        # E flag: accuracy within 1 point of the float baseline
    engine: {index_width: 4, step_overhead: 0}
    synthesize: false                      # optional: also run Yosys on every buildable engine point
                                           #   (codesign synth's flow on `board`; slow: minutes a point)
    axes:
      bits: [4, 6, 8]                      # weight precision (kernel, recurrent kernel, dense kernel)
      sparsity: [0.0, 0.5, 0.9]
      structure: [unstructured, balanced, block, circulant]
      target: [engine, hls]
      num_pe: [8]                          # engine points
      reuse_factor: [4]                    # hls points
      block: [[4, 4]]                      # block structure: (rows, cols) of the gate matrix
      circulant_block: [4]                 # circulant structure: b
      delta_threshold: [0, 0.125]          # engine points: delta network (codesign delta) with this
                                           #   threshold (real units, as whole LSBs of the input and state
                                           #   types); 0 = none. finetune mode fine-tunes it

Every error names the sweep file, the dotted field and the value. Combinations a target cannot build
are left out (the engine stores CSC, so no circulant; balanced pruning balances the engine's PEs, so
it is engine-only; hls4ml has no delta cell, so delta is engine-only) and a circulant point has no
sparsity of its own (its compression is 1/b). A point carries `delta_threshold` only when it is not 0.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from codesign.errors import CodesignError
from codesign.fields import FieldReader

MODES = ("analytic", "finetune")
TARGETS = ("engine", "hls")
STRUCTURES = ("unstructured", "balanced", "block", "circulant")
BITS_RANGE = (4, 16)
MAX_SPARSITY = 0.95
MAX_DELTA_THRESHOLD = 8.0  # real units; the inputs are normalised, so larger skips everything
# What each target can store and multiply (see the module docstring).
TARGET_STRUCTURES = {
    "engine": ("unstructured", "balanced", "block"),
    "hls": ("unstructured", "block", "circulant"),
}
DEFAULT_AXES = {
    "bits": [8],
    "sparsity": [0.0],
    "structure": ["unstructured"],
    "target": ["engine"],
    "num_pe": [8],
    "reuse_factor": [1],
    "block": [[4, 4]],
    "circulant_block": [4],
    "delta_threshold": [0.0],
}


@dataclass(frozen=True)
class EngineOptions:
    index_width: int = 4
    step_overhead: int = 0  # further cycles per layer step beyond the cycle model (0 for this RTL)
    head_overhead: int = 0


@dataclass(frozen=True)
class SweepConfig:
    name: str
    source: Path  # the sweep file
    model: Path  # the base model's spec.yml
    mode: str
    board: str
    clock_mhz: float
    tolerance: float
    engine: EngineOptions
    axes: dict[str, list] = field(default_factory=dict)
    synthesize: bool = False  # Yosys on every buildable engine point, beside the analytic estimate

    def points(self) -> list[dict]:
        """Every design point, as plain dicts (what the cache hashes and the rows carry)."""
        a = self.axes
        out, seen = [], set()
        for target, structure in itertools.product(a["target"], a["structure"]):
            if structure not in TARGET_STRUCTURES[target]:
                continue
            parallel = a["num_pe"] if target == "engine" else a["reuse_factor"]
            shapes = {"block": a["block"], "circulant": a["circulant_block"]}.get(structure, [None])
            sparsities = [0.0] if structure == "circulant" else a["sparsity"]
            deltas = a["delta_threshold"] if target == "engine" and structure != "circulant" else [0.0]
            combos = itertools.product(a["bits"], sparsities, parallel, shapes, deltas)
            for bits, sparsity, par, shape, delta in combos:
                point = {
                    "target": target,
                    "structure": structure,
                    "bits": bits,
                    "sparsity": sparsity,
                    "num_pe": par if target == "engine" else None,
                    "reuse_factor": par if target == "hls" else None,
                    "block": list(shape) if structure == "block" else None,
                    "circulant_block": shape if structure == "circulant" else None,
                }
                if delta:
                    point["delta_threshold"] = delta
                key = repr(sorted(point.items()))
                if key not in seen:
                    seen.add(key)
                    out.append(point)
        if not out:
            raise CodesignError(
                f"{self.source}: axes: no target builds any of the structures "
                f"{a['structure']} (engine: {', '.join(TARGET_STRUCTURES['engine'])}; "
                f"hls: {', '.join(TARGET_STRUCTURES['hls'])})"
            )
        return out


class _Fields(FieldReader):
    """Reads one sweep file; every complaint names `file: dotted.field: value`."""

    def values(self, value: Any, where: str) -> list:
        if not isinstance(value, list):
            value = [value]
        if not value:
            raise self.fail(where, "empty list: give at least one value")
        return value


def _axes(f: _Fields, raw: Any) -> dict[str, list]:
    m = f.mapping(raw, "axes", set(DEFAULT_AXES))
    axes: dict[str, list] = {}
    for name, default in DEFAULT_AXES.items():
        values = f.values(m.get(name, default), f"axes.{name}")
        where = [f"axes.{name}[{i}]" for i in range(len(values))]
        if name == "bits":
            values = [f.integer(v, w, *BITS_RANGE) for v, w in zip(values, where, strict=True)]
        elif name == "sparsity":
            values = [f.number(v, w, 0.0, MAX_SPARSITY) for v, w in zip(values, where, strict=True)]
        elif name == "structure":
            values = [f.choice(v, w, STRUCTURES) for v, w in zip(values, where, strict=True)]
        elif name == "target":
            values = [f.choice(v, w, TARGETS) for v, w in zip(values, where, strict=True)]
        elif name == "num_pe":
            values = [f.integer(v, w, 1, 64) for v, w in zip(values, where, strict=True)]
        elif name == "reuse_factor":
            values = [f.integer(v, w, 1, 4096) for v, w in zip(values, where, strict=True)]
        elif name == "delta_threshold":
            values = [
                float(f.number(v, w, 0.0, MAX_DELTA_THRESHOLD)) for v, w in zip(values, where, strict=True)
            ]
        elif name == "circulant_block":
            values = [f.integer(v, w, 2, 64) for v, w in zip(values, where, strict=True)]
        elif name == "block":
            if len(values) == 2 and all(isinstance(v, int) for v in values):
                values = [values]  # block: [4, 4] means one shape
            shapes = []
            for v, w in zip(values, where, strict=True):
                if not isinstance(v, list) or len(v) != 2:
                    raise f.fail(w, f"expected [rows, cols], got {v!r}")
                shapes.append([f.integer(b, f"{w}[{i}]", 1, 1024) for i, b in enumerate(v)])
            values = shapes
        axes[name] = list(dict.fromkeys(map(_hashable, values)))  # drop repeats, keep order
        axes[name] = [list(v) if isinstance(v, tuple) else v for v in axes[name]]
    return axes


def _hashable(v):
    return tuple(v) if isinstance(v, list) else v


def _model_path(f: _Fields, value: Any, source: Path) -> Path:
    if not isinstance(value, str) or not value:
        raise f.fail("model", f"expected the path of a model spec.yml, got {value!r}")
    for candidate in (Path(value), source.parent / value):
        path = candidate / "spec.yml" if candidate.is_dir() else candidate
        if path.is_file():
            return path.resolve()
    raise f.fail(
        "model", f"{value!r}: no spec file there (relative to the working folder or to the sweep file)"
    )


def parse_sweep(data: Any, source: Path) -> SweepConfig:
    """Validate a mapping (as loaded from YAML) into a SweepConfig."""
    from codesign.synth.boards import BOARDS

    f = _Fields(source)
    top = f.mapping(
        data,
        "",
        {"name", "model", "mode", "board", "clock_mhz", "tolerance", "engine", "axes", "synthesize"},
        {"model", "axes"},
    )
    name = top.get("name", source.stem)
    if not isinstance(name, str) or not name.replace("-", "_").isidentifier():
        raise f.fail("name", f"{name!r} is not a usable sweep name (letters, digits, _ and -)")
    board = f.choice(top.get("board", "pynq-z2"), "board", tuple(sorted(BOARDS)))
    clock = top.get("clock_mhz")
    clock = BOARDS[board].clock_mhz if clock is None else f.number(clock, "clock_mhz", 1.0, 2000.0)
    e = f.mapping(top.get("engine", {}), "engine", {"index_width", "step_overhead", "head_overhead"})
    engine = EngineOptions(
        index_width=f.integer(e.get("index_width", 4), "engine.index_width", 1, 8),
        step_overhead=f.integer(e.get("step_overhead", 0), "engine.step_overhead", 0, 100000),
        head_overhead=f.integer(e.get("head_overhead", 0), "engine.head_overhead", 0, 100000),
    )
    config = SweepConfig(
        name=name,
        source=source,
        model=_model_path(f, top["model"], source),
        mode=f.choice(top.get("mode", "analytic"), "mode", MODES),
        board=board,
        clock_mhz=clock,
        tolerance=f.number(top.get("tolerance", 0.01), "tolerance", 0.0, 1.0),
        engine=engine,
        axes=_axes(f, top["axes"]),
        synthesize=f.boolean(top.get("synthesize", False), "synthesize"),
    )
    if config.synthesize and "engine" not in config.axes["target"]:
        raise f.fail("synthesize", "true, but axes.target has no engine points (Yosys runs the engine only)")
    config.points()  # an empty product is an error now, not after loading the model
    return config


def load_sweep(path: str | Path) -> SweepConfig:
    path = Path(path)
    if not path.is_file():
        raise CodesignError(f"{path}: no such sweep file")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "?"
        raise CodesignError(f"{path}: {where}: malformed YAML ({getattr(exc, 'problem', exc)})") from None
    return parse_sweep(data, path)


def check_against_model(config: SweepConfig, spec, gate_shapes: list[tuple[int, int]]) -> None:
    """What only the model can tell: the engine runs LSTMs and reset_after GRUs; block shapes must tile
    every gate matrix."""
    f = _Fields(config.source)
    engine_cell = spec.model.cell == "lstm" or (spec.model.cell == "gru" and spec.model.reset_after)
    if "engine" in config.axes["target"] and not engine_cell:
        i = config.axes["target"].index("engine")
        what = "a GRU with reset_after: false" if spec.model.cell == "gru" else f"a {spec.model.cell}"
        raise f.fail(
            f"axes.target[{i}]", f"'engine' runs LSTM and reset_after GRU layers; {config.model} is {what}"
        )
    if any(config.axes["delta_threshold"]):
        i = next(i for i, v in enumerate(config.axes["delta_threshold"]) if v)
        gru_ok = spec.model.cell == "lstm" or (spec.model.cell == "gru" and spec.model.reset_after)
        if spec.precision.state is None or not gru_ok:
            raise f.fail(
                f"axes.delta_threshold[{i}]",
                f"{config.axes['delta_threshold'][i]}: a delta network needs an LSTM or a reset_after GRU "
                f"with precision.state ({config.model})",
            )
    if config.mode == "finetune" and "circulant" in config.axes["structure"]:
        from codesign.circulant import BLOCK_SIZES

        for i, b in enumerate(config.axes["circulant_block"]):
            bad = [u for u in spec.model.units if u % b]
            if b not in BLOCK_SIZES or bad:
                raise f.fail(
                    f"axes.circulant_block[{i}]",
                    f"{b}: QCirculantLSTM fine-tunes b in {BLOCK_SIZES} dividing every layer's units "
                    f"({list(spec.model.units)} in {config.model})",
                )
    if "block" in config.axes["structure"]:
        for i, (r, c) in enumerate(config.axes["block"]):
            for rows, cols in gate_shapes:
                if rows % r or cols % c:
                    raise f.fail(
                        f"axes.block[{i}]",
                        f"[{r}, {c}] does not tile the {rows}x{cols} gate matrix W = [W_x W_h] "
                        f"of {config.model}",
                    )
