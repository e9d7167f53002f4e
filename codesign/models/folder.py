"""The one writer of model folders: train, compress and circulant compression all go through it.

A model folder holds spec.yml, weights.h5 (the QKeras model's latent weights), float.weights.h5 (its
float twin) and metrics.json. `write_model_folder` writes them together (staged: a failure leaves the
folder as it was) and adds to metrics.json the provenance of the weights just written: the versions of
the software that produced them, the date, and the command.
"""

from __future__ import annotations

import datetime
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

FLOAT_WEIGHTS = "float.weights.h5"
WEIGHTS = "weights.h5"  # the QKeras model's latent weights; its quantizers give the hardware values
METRICS = "metrics.json"
SPEC = "spec.yml"
PROVENANCE_PACKAGES = ("tensorflow", "qkeras", "numpy", "codesign")

_command: list[str] | None = None


def set_command(argv: Sequence[str] | None) -> None:
    """Record the command line being run (the CLI calls this); None: fall back to sys.argv."""
    global _command
    _command = None if argv is None else [str(a) for a in argv]


def current_command() -> str:
    if _command is not None:
        return shlex.join(_command)
    argv = list(sys.argv) or ["python"]
    argv[0] = Path(argv[0]).name or "python"
    return shlex.join(argv)


def package_version(name: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    if name == "codesign":
        import codesign

        return codesign.__version__
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def provenance() -> dict:
    """What produced a model folder's weights now: package versions, UTC date, command line."""
    return {
        "versions": {name: package_version(name) for name in PROVENANCE_PACKAGES},
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": current_command(),
    }


def write_model_folder(target: Path, metrics: dict, model, float_model, spec_text: str | None = None) -> Path:
    """Write a complete model folder at `target`; returns its spec.yml.

    `spec_text` is the new folder's spec.yml (it must read back as a spec); None keeps the spec.yml
    already in `target` (training a model in its own folder). metrics.json gets `provenance`.
    """
    import yaml

    from codesign.outputs import staged_folder, write_json
    from codesign.spec import parse_spec

    target = Path(target)
    spec_path = target / SPEC
    if spec_text is not None:
        parse_spec(yaml.safe_load(spec_text), str(spec_path), spec_path)  # must read back before writing
    metrics = {**metrics, "provenance": provenance()}
    with staged_folder(target) as stage:
        if spec_text is not None:
            (stage / SPEC).write_text(spec_text)
        float_model.save_weights(stage / FLOAT_WEIGHTS)
        model.save_weights(stage / WEIGHTS)
        write_json(stage / METRICS, metrics)
    return spec_path
