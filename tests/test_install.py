"""A non-editable install works away from the source tree: `pip install .` into a fresh venv, then
`codesign hls`, `codesign sim` and `codesign synth` from another folder. The RTL, file lists, HLS headers
and testbench must come from the installed package (codesign/resources.py), not from this checkout.

The venv gets no dependencies of its own: a .pth line puts the running environment's site-packages
after its own (TensorFlow is not installed twice), and codesign itself is installed with --no-deps and
--no-build-isolation (setuptools from the running environment, no network). Synthesis targets pynq-z2
(Yosys counts, about a minute) rather than ulx3s-85f, whose place-and-route takes 5 to 20 minutes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MODEL = "jvowels_lstm"

pytestmark = pytest.mark.slow


def _run(argv: list[str], cwd: Path, env: dict, timeout: int = 1200) -> subprocess.CompletedProcess:
    result = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{' '.join(argv)}\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, dict, Path]:
    """(the venv's bin folder, an environment without this checkout on it, a work folder with a model)."""
    tmp = tmp_path_factory.mktemp("install")
    source = tmp / "source"  # a copy, so the build leaves no build/ or egg-info in the checkout
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(ROOT / "codesign", source / "codesign", ignore=shutil.ignore_patterns("__pycache__"))
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    where = "import sysconfig; print(sysconfig.get_path('purelib'))"
    purelib = Path(subprocess.check_output([venv / "bin" / "python", "-c", where], text=True).strip())
    (purelib / "_codesign_test_deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    env = {
        k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "CODESIGN_SIM_BUILD", "VIRTUAL_ENV")
    }
    env |= {"TF_CPP_MIN_LOG_LEVEL": "3", "PATH": f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"}
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation"]
    _run([*pip, str(source)], tmp, env)
    work = tmp / "work"
    shutil.copytree(ROOT / "models" / MODEL, work / "models" / MODEL)
    return venv / "bin", env, work


def test_the_installed_package_is_the_one_used(installed):
    bin_dir, env, work = installed
    code = "import codesign, codesign.resources as r; print(codesign.__file__, r.RTL_DIR, r.HLS_INCLUDE_DIR)"
    lines = _run([str(bin_dir / "python"), "-c", code], work, env).stdout.split()
    venv = bin_dir.parent
    for line in lines:
        assert Path(line).is_relative_to(venv) and not Path(line).is_relative_to(ROOT), line
    assert (Path(lines[1]) / "engine.f").is_file() and (Path(lines[2]) / "codesign_activations.h").is_file()


def test_hls_sim_and_synth_run_from_another_folder(installed):
    bin_dir, env, work = installed
    codesign = str(bin_dir / "codesign")
    spec = f"models/{MODEL}/spec.yml"
    _run([codesign, "hls", spec, "-q"], work, env)
    hls = json.loads((work / "build" / "hls" / MODEL / "report.json").read_text())
    assert hls["agreement"] == 1.0
    assert (
        work / "build" / "hls" / MODEL / "project" / "firmware" / "nnet_utils" / "codesign_activations.h"
    ).is_file()

    _run([codesign, "sim", spec, "--pes", "8", "--samples", "2"], work, env)
    sim = json.loads((work / "build" / "rtl" / MODEL / "sim_report.json").read_text())
    assert (sim["samples"], sim["mismatches"]) == (2, 0)
    assert (work / "build" / "sim").is_dir()  # the Verilator build is the work folder's, not the package's

    _run([codesign, "synth", spec, "--board", "pynq-z2", "--pes", "8", "-q"], work, env)
    synth = json.loads((work / "build" / "synth" / f"{MODEL}-pynq-z2" / "report.json").read_text())
    assert synth["lut"] > 0 and synth["dsp"] > 0
