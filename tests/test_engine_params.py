"""codesign.engine.params is the one mapping from an image to rtl/sparse_lstm_engine.sv's parameters;
rtl/engine_pkg.sv holds the constants the RTL and the Python side share."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from codesign.engine import EngineConfig, encode, image_params, load_stream, random_model
from codesign.engine.params import (
    CONFIG_PARAMETERS,
    MAXIMA_PARAMETERS,
    PARAMETERS_HEADER,
    TYPE_PARAMETERS,
    declared_parameters,
    header_macros,
    image_rtl_parameters,
    module_parameters,
    rtl_defaults,
    rtl_parameters,
)
from codesign.filelist import read_file_list
from codesign.resources import ENGINE_FILE_LIST, RTL_DIR, ULX3S_FILE_LIST
from codesign.synth.command import top_parameters


def _image(num_pe: int = 5, units=(13,)):
    return encode(random_model(11, 7, units, 3, 0.3), EngineConfig(num_pe=num_pe))


def _svh_parameters() -> list[str]:
    """The names ENGINE_PARAMETERS declares, read straight from engine_parameters.svh."""
    text = PARAMETERS_HEADER.read_text()
    body = re.search(r"^`define ENGINE_PARAMETERS\b(.*?)^\s*$", text, flags=re.S | re.M)
    assert body is not None
    return re.findall(r"^\s*parameter\b[^=\n]*?\b([A-Za-z_]\w*)\s*=", body.group(1), flags=re.M)


def test_names_are_exactly_the_modules_parameters() -> None:
    """Every parameter of `module sparse_lstm_engine #(...)` (localparams excluded), no other name: the
    module declares them by expanding ENGINE_PARAMETERS, and nothing else."""
    header = (RTL_DIR / "sparse_lstm_engine.sv").read_text()
    m = re.search(r"\bmodule\s+sparse_lstm_engine\s*#\s*\((.*?)\)\s*\(", header, flags=re.S)
    assert m is not None and "`ENGINE_PARAMETERS," in m.group(1)
    assert not re.search(r"^\s*parameter\b", m.group(1), flags=re.M)
    declared = set(_svh_parameters())
    assert declared == set(module_parameters())
    assert set(image_rtl_parameters(_image(), mem_dir=Path("m"))) == declared
    groups = {
        "NumPe",
        "FifoDepth",
        "ShareTables",
        "Delta",
        "MemDir",
        *TYPE_PARAMETERS,
        *MAXIMA_PARAMETERS,
        *CONFIG_PARAMETERS,
    }
    assert groups == declared


@pytest.mark.parametrize("units", [(13,), (9, 6)])
def test_values_follow_the_image(units) -> None:
    image = _image(4, units)
    t = image.types
    p = image_rtl_parameters(image)
    assert p["NumPe"] == 4 and p["WeightDepth"] == image.depth and p["AccWidth"] == t.acc.width
    assert (p["ActWidth"], p["ActFrac"], p["CellWidth"], p["CellFrac"]) == (
        t.act.width, t.act.frac, t.cell.width, t.cell.frac,
    )  # fmt: skip
    assert p["BiasShift"] == t.bias_shift and p["SigmoidStep"] == image.sigmoid_step
    assert (p["NumLayers"], p["Units0"], p["Units1"]) == (
        len(units),
        units[0],
        units[1] if len(units) > 1 else 0,
    )
    assert p["MaxUnits"] == max(units) and p["MaxLayers"] == len(units)
    build = image_rtl_parameters(image, config=False, maxima={"MaxUnits": 64})
    assert not set(CONFIG_PARAMETERS) & set(build) and build["MaxUnits"] == 64 and "MemDir" not in build


def test_every_caller_uses_it() -> None:
    from codesign.engine.sim_command import engine_build_params
    from codesign.synth.command import engine_parameters

    image = _image()
    params = image_params(image)
    assert engine_parameters(params, Path("m")) == rtl_parameters(params, mem_dir=Path("m"))
    build = engine_build_params(image)
    full = image_rtl_parameters(image, config=False)
    defaults = rtl_defaults()
    for k in TYPE_PARAMETERS:  # left out exactly when the RTL default is the image's value
        assert build.get(k, defaults[k]) == full[k]


def test_the_parameter_list_exists_once() -> None:
    """engine_parameters.svh is the only place an engine parameter is declared: the board top expands
    ENGINE_PARAMETERS and passes them on with ENGINE_PARAMETER_MAP, which names each once, in order."""
    names = _svh_parameters()
    assert len(names) == len(set(names))
    mapped = re.findall(r"\.(\w+)\s*\((\w+)\)", header_macros()["ENGINE_PARAMETER_MAP"])
    assert mapped == [(n, n) for n in names]
    for source in RTL_DIR.glob("*.sv"):  # the engine and every module instantiating it: no copy
        text = source.read_text()
        if not re.search(r"^\s*(module\s+)?sparse_lstm_engine\s*#", text, flags=re.M):
            continue  # a submodule (lstm_eltwise, say) has its own parameters, some of the same names
        copies = set(re.findall(r"\bparameter\b[^=;,]*?\b([A-Za-z_]\w*)\s*=", text)) & set(names)
        assert not copies, f"{source.name} declares {sorted(copies)}: expand ENGINE_PARAMETERS instead"
        assert "`ENGINE_PARAMETERS" in text, source.name
        if source.stem != "sparse_lstm_engine":
            assert "`ENGINE_PARAMETER_MAP" in text, source.name
    top = RTL_DIR / "ulx3s_engine_top.sv"
    board = {"ClkHz", "Baud", "RxFifoDepth", "HeartbeatBit", "PllClkiDiv", "PllClkfbDiv", "PllClkopDiv"}
    assert top_parameters(top, "ulx3s_engine_top") == set(names) | board | {"PllClkopCphase"}
    assert declared_parameters(top, "ulx3s_engine_top")["HeartbeatBit"] == "$clog2(ClkHz) - 2"
    # the file lists name the header (an include folder for synthesis and simulation)
    assert PARAMETERS_HEADER in read_file_list(ULX3S_FILE_LIST).headers()


def test_package_data_ships_every_rtl_file() -> None:
    """pyproject.toml's package data covers every file of rtl/ (the header too): an install finds them."""
    from fnmatch import fnmatch

    pyproject = (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text()
    line = re.search(r'^"codesign" = \[(.*)\]$', pyproject, flags=re.M)  # no tomllib before Python 3.11
    assert line is not None
    globs = re.findall(r'"([^"]+)"', line.group(1))
    for f in RTL_DIR.iterdir():
        assert any(fnmatch(f"rtl/{f.name}", g) for g in globs), f"rtl/{f.name} is not package data"


def test_defaults_parse() -> None:
    d = rtl_defaults()
    assert d["EmitH"] == 0 and isinstance(d["NumPe"], int) and d["MemDir"] == '""'


def _pkg_constants(text: str, prefix: str) -> dict[str, int]:
    return {
        name: int(value)
        for name, value in re.findall(
            rf"localparam\s+logic\s*\[[^\]]*\]\s*({prefix}\w*)\s*=\s*\d+'d(\d+)", text
        )
    }


def test_engine_pkg_matches_the_rtl_and_python() -> None:
    """engine_pkg.sv's select codes are those the engine decodes and codesign.engine.load_stream sends,
    and the package is first in the file list (every module may import it)."""
    pkg = (RTL_DIR / "engine_pkg.sv").read_text()
    engine = (RTL_DIR / "sparse_lstm_engine.sv").read_text()
    sel = _pkg_constants(pkg, "SEL_")
    assert sel == {name: getattr(load_stream, name) for name in sel} and len(sel) == 6
    assert _pkg_constants(engine, "SEL_") == sel
    flags = _pkg_constants(pkg, "COLFLAGS_")
    assert flags == {"COLFLAGS_LSB": load_stream.COLFLAGS_LSB} == _pkg_constants(engine, "COLFLAGS_")
    files = [
        ln.strip()
        for ln in ENGINE_FILE_LIST.read_text().splitlines()
        if ln.strip() and not ln.startswith("//")
    ]
    assert files[0] == "engine_pkg.sv"
    assert "engine_pkg.sv" not in (RTL_DIR / "ulx3s_engine.f").read_text()  # it includes engine.f
