"""Shared fixtures. TensorFlow's C++ start-up chatter is silenced before anything imports it."""

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "models"


@pytest.fixture
def model_copy(tmp_path: Path):
    """Copy a committed model folder into tmp_path, so a test may edit its spec or weights."""

    def copy(name: str) -> Path:
        target = tmp_path / name
        shutil.copytree(MODELS / name, target)
        return target

    return copy
