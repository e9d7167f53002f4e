"""Files that ship inside the codesign package, found through the package (importlib.resources).

`codesign/rtl/` holds the engine's SystemVerilog and its file lists, `codesign/hls/include/` the C++
headers of the project's HLS kernels. Both are package data (pyproject.toml), so an installed codesign
(`pip install .`, a wheel) finds them where it was installed, not in a source tree.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def package_path(*parts: str) -> Path:
    """A file or folder of the installed codesign package, as a file-system path (tools open it)."""
    return Path(str(resources.files("codesign").joinpath(*parts)))


RTL_DIR = package_path("rtl")
ENGINE_FILE_LIST = RTL_DIR / "engine.f"
ULX3S_FILE_LIST = RTL_DIR / "ulx3s_engine.f"
HLS_INCLUDE_DIR = package_path("hls", "include")
# The folder the codesign package is imported from: what a subprocess's PYTHONPATH needs.
IMPORT_ROOT = package_path().parent
