"""Where stage outputs go, and writing them so that a failure leaves nothing half-written.

Every stage writes under one build root (`build_root()`: build/ in the working folder, or the folder
that $CODESIGN_BUILD or `codesign --build-dir` names). A stage writes into a hidden sibling folder and
the folder replaces the target only when the stage has finished; files already in the target (a
spec.yml, say) are carried over first.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

BUILD_ENV = "CODESIGN_BUILD"


def build_root() -> Path:
    """The folder every stage's default output lives under: $CODESIGN_BUILD, else build/ (relative to the
    working folder, so printed paths stay as short as the user's)."""
    return Path(os.environ.get(BUILD_ENV) or "build")


@contextmanager
def staged_folder(target: Path) -> Iterator[Path]:
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{target.name}.staging-", dir=target.parent))
    stage.chmod(0o755)  # mkdtemp makes it private; the result is an ordinary folder
    try:
        if target.is_dir():
            shutil.copytree(target, stage, dirs_exist_ok=True)
        yield stage
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    old = target.with_name(f".{target.name}.old-{os.getpid()}")
    if target.exists():
        target.rename(old)
    stage.rename(target)
    shutil.rmtree(old, ignore_errors=True)


def write_json(path: Path, data: Any) -> None:
    Path(path).write_text(json.dumps(data, indent=2, sort_keys=False) + "\n")


def read_json(path: Path) -> Any:
    return json.loads(Path(path).read_text())
