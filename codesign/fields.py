"""Validation of YAML input (specs, sweep files): each error names the file, the dotted field, the value."""

from __future__ import annotations

from typing import Any

from codesign.errors import CodesignError


class FieldReader:
    """Walks a YAML mapping and names every field it complains about as `file: dotted.field: message`."""

    def __init__(self, source: str):
        self.source = source

    def fail(self, where: str, message: str) -> CodesignError:
        return CodesignError(f"{self.source}: {where}: {message}")

    def mapping(self, value: Any, where: str, allowed: set[str], required: set[str] = frozenset()) -> dict:
        if not isinstance(value, dict):
            raise self.fail(where or "top level", f"expected a mapping, got {type(value).__name__} {value!r}")
        for key in value:
            if key not in allowed:
                known = ", ".join(sorted(allowed))
                raise self.fail(_join(where, str(key)), f"unknown field (known: {known})")
        for key in sorted(required):
            if key not in value:
                raise self.fail(_join(where, key), "missing required field")
        return value

    def integer(self, value: Any, where: str, low: int, high: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(where, f"expected an integer, got {value!r}")
        if not low <= value <= high:
            raise self.fail(where, f"{value} is out of range [{low}, {high}]")
        return value

    def number(self, value: Any, where: str, low: float, high: float) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(where, f"expected a number, got {value!r}")
        if not low <= value <= high:
            raise self.fail(where, f"{value} is out of range [{low}, {high}]")
        return float(value)

    def choice(self, value: Any, where: str, choices: tuple[str, ...]) -> str:
        if value not in choices:
            raise self.fail(where, f"{value!r} is not one of {', '.join(choices)}")
        return value

    def boolean(self, value: Any, where: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(where, f"expected true or false, got {value!r}")
        return value


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key
