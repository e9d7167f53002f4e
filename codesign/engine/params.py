"""One source of the engine's RTL parameters: the encoder's params.json -> rtl/sparse_lstm_engine.sv's
parameter names (simulation, synthesis, the sweep's estimator fit and the testbench all go through here).

    rtl_parameters(params)                  # every parameter of the module, from params.json's content
    rtl_parameters(params, config=False)    # the build only (the load stream sets the configuration)
    image_rtl_parameters(image, ...)        # the same from an EngineImage
    rtl_defaults()                          # the module's own defaults, read from its header
    declared_parameters(source, module)     # a module's parameters, `ENGINE_PARAMETERS expanded

`tests/test_engine_params.py` checks that the names are exactly the module's parameters.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path

from codesign.errors import CodesignError
from codesign.resources import RTL_DIR

ENGINE_TOP = "sparse_lstm_engine"
ENGINE_SOURCE = RTL_DIR / f"{ENGINE_TOP}.sv"
# The parameter list itself, once: `ENGINE_PARAMETERS, which the engine and ulx3s_engine_top expand.
PARAMETERS_HEADER = RTL_DIR / "engine_parameters.svh"
ROUND_CODE = {"AP_TRN": 0, "AP_RND": 1, "AP_RND_CONV": 2}  # CellRound (engine_pkg.sv ROUND_*)
FIFO_DEPTH = 16  # per-PE column queue depth of every build codesign makes

# The types, table steps and cell kind of an image (a build must match them exactly).
TYPE_PARAMETERS = (
    "ActWidth", "ActFrac", "WeightWidth", "WeightFrac", "IndexWidth", "BiasWidth", "BiasShift",
    "TableInWidth", "TableInFrac", "GateWidth", "GateFrac", "CellWidth", "CellFrac", "CellRound",
    "SigmoidStep", "TanhStep", "Gru",
)  # fmt: skip
# Sizes a build must be at least as large as (one build serves every model that fits).
MAXIMA_PARAMETERS = ("MaxInputs", "MaxUnits", "MaxClasses", "MaxLayers", "WeightDepth", "AccWidth")
# The configuration after power-up (the load stream may change it) and the $readmemh folder.
CONFIG_PARAMETERS = (
    "NumInputs", "Units0", "Units1", "NumClasses", "NumLayers", "EmitH", "ThresholdX", "ThresholdH",
)  # fmt: skip


def _maxima(params: Mapping) -> dict[str, int]:
    units = list(params["units"])
    return {
        "MaxInputs": int(params["inputs"]),
        "MaxUnits": max(units),
        "MaxClasses": int(params["classes"]),
        "MaxLayers": max(len(units), 1),
        "WeightDepth": int(params["weight_depth"]),
        "AccWidth": int(params["types"]["acc"]["width"]),
    }


def rtl_parameters(
    params: Mapping,
    *,
    config: bool = True,
    maxima: Mapping[str, int] | None = None,
    mem_dir: Path | str | None = None,
    emit_h: bool = False,
    fifo_depth: int = FIFO_DEPTH,
    share_tables: bool = False,
) -> dict[str, int | str | Path]:
    """sparse_lstm_engine's parameters for an image described by `params` (params.json's content, or a
    dict with its keys: num_pe, weight_width, index_width, weight_depth, bias_shift, sigmoid_step,
    tanh_step, inputs, units, classes, types.{act,weight,acc,bias,table_in,gate,cell}.{width,frac},
    types.cell.rounding, optionally cell: lstm (default) | gru and, for a delta image,
    delta.{threshold_x,threshold_h} in act raw).

    `maxima` overrides the Max*/WeightDepth/AccWidth sizes (default: the image's own). `config` adds the
    power-up configuration (the model's shape, `emit_h`); `share_tables` lets PE pairs share one
    dual-port copy of each activation table; `mem_dir` adds MemDir (a Path stays a Path: the
    synthesis driver passes it as a path the tool can open)."""
    cell = params.get("cell", "lstm")
    if cell not in ("lstm", "gru"):
        raise CodesignError(f"image {params.get('name', '?')}: cell {cell}: the RTL runs LSTM and GRU layers")
    t = params["types"]
    delta = params.get("delta")
    thresholds = (0, 0) if delta is None else (int(delta["threshold_x"]), int(delta["threshold_h"]))
    for name, th in zip(("threshold_x", "threshold_h"), thresholds, strict=True):
        if not 0 <= th < 2 ** t["act"]["width"]:
            raise CodesignError(
                f"image {params.get('name', '?')}: delta.{name}: {th} act LSBs does not fit the "
                f"{t['act']['width']}-bit act type"
            )
    units = list(params["units"])
    p: dict[str, int | str | Path] = {
        "NumPe": int(params["num_pe"]),
        "ActWidth": t["act"]["width"],
        "ActFrac": t["act"]["frac"],
        "WeightWidth": int(params["weight_width"]),
        "WeightFrac": t["weight"]["frac"],
        "IndexWidth": int(params["index_width"]),
        "BiasWidth": t["bias"]["width"],
        "BiasShift": int(params["bias_shift"]),
        "TableInWidth": t["table_in"]["width"],
        "TableInFrac": t["table_in"]["frac"],
        "GateWidth": t["gate"]["width"],
        "GateFrac": t["gate"]["frac"],
        "CellWidth": t["cell"]["width"],
        "CellFrac": t["cell"]["frac"],
        "CellRound": ROUND_CODE[t["cell"]["rounding"]],
        "SigmoidStep": int(params["sigmoid_step"]),
        "TanhStep": int(params["tanh_step"]),
        "Gru": int(cell == "gru"),  # gru_eltwise as the element-wise unit (docs/engine.md "One GRU step")
    }
    p |= _maxima(params) | dict(maxima or {})
    p["FifoDepth"] = int(fifo_depth)
    p["ShareTables"] = int(bool(share_tables))  # PE pairs share dual-port tables: half the EBR, slower
    p["Delta"] = int(delta is not None)  # the delta-mode hardware (M memories, held vectors, wider broadcast)
    if config:
        p |= {
            "NumInputs": int(params["inputs"]),
            "Units0": units[0],
            "Units1": units[1] if len(units) > 1 else 0,
            "NumClasses": int(params["classes"]),
            "NumLayers": len(units),
            "EmitH": int(bool(emit_h)),
            "ThresholdX": thresholds[0],
            "ThresholdH": thresholds[1],
        }
    if mem_dir is not None:
        p["MemDir"] = mem_dir
    return p


def image_rtl_parameters(image, **kwargs) -> dict[str, int | str | Path]:
    """`rtl_parameters` of an EngineImage."""
    from codesign.engine.encoder import image_params

    return rtl_parameters(image_params(image), **kwargs)


def _without_comments(text: str) -> str:
    return re.sub(r"//[^\n]*", "", re.sub(r"/\*.*?\*/", "", text, flags=re.S))


@cache
def header_macros(header: Path = PARAMETERS_HEADER) -> dict[str, str]:
    """The `define NAME text of a header (engine_parameters.svh: ENGINE_PARAMETERS, ENGINE_PARAMETER_MAP),
    continuation lines joined, comments dropped."""
    text = _without_comments(Path(header).read_text()).replace("\\\n", " ")
    return {m[1]: m[2].strip() for m in re.finditer(r"^\s*`define\s+([A-Za-z_]\w*)(.*)$", text, flags=re.M)}


def _split_list(text: str) -> list[str]:
    """The comma-separated items of a list; commas inside brackets or strings stay in their item."""
    items, depth, quoted, start = [], 0, False, 0
    for i, ch in enumerate(text):
        if ch == '"' and (i == 0 or text[i - 1] != "\\"):
            quoted = not quoted
        elif not quoted and ch in "([{":
            depth += 1
        elif not quoted and ch in ")]}":
            depth -= 1
        elif not quoted and ch == "," and depth == 0:
            items.append(text[start:i])
            start = i + 1
    return [*items, text[start:]]


def declared_parameters(source: Path, module: str) -> dict[str, str]:
    """The overridable parameters (not the localparams) `module` declares in `source`, with the macros of
    engine_parameters.svh expanded: name -> default expression text ({} without a parameter list)."""
    text = _without_comments(Path(source).read_text())
    m = re.search(rf"\bmodule\s+{re.escape(module)}\s*#\s*\(", text)
    if m is None:
        return {}
    depth, end = 1, m.end()
    while depth and end < len(text):  # to the list's closing parenthesis
        depth += {"(": 1, ")": -1}.get(text[end], 0)
        end += 1
    macros = header_macros()
    header = re.sub(r"`([A-Za-z_]\w*)", lambda u: macros.get(u[1], u[0]), text[m.end() : end - 1])
    out = {}
    for decl in _split_list(header):
        d = re.match(r"\s*parameter\b[^=]*?\b([A-Za-z_]\w*)\s*=\s*(.+?)\s*$", decl, flags=re.S)
        if d:
            out[d[1]] = d[2]
    return out


def module_parameters(source: Path = ENGINE_SOURCE) -> dict[str, str]:
    """The module's overridable parameters (not its localparams): name -> default expression text."""
    return declared_parameters(source, ENGINE_TOP)


def _value(text: str) -> int | str:
    m = re.fullmatch(r"(\d*)'([bdh])([0-9a-fA-F_]+)", text)
    if m:
        return int(m.group(3).replace("_", ""), {"b": 2, "d": 10, "h": 16}[m.group(2)])
    return int(text) if re.fullmatch(r"-?\d+", text) else text


def rtl_defaults(source: Path = ENGINE_SOURCE) -> dict[str, int | str]:
    """The module's parameter defaults (integers where they are literals)."""
    return {k: _value(v) for k, v in module_parameters(source).items()}
