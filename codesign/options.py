"""Checks of command-line values that several stages share, so each stage states the same limit.

A stage checks its options before it announces or starts any work, and its error names the option as
the user typed it (`--pes 0`), not the Python name behind it.
"""

from __future__ import annotations

from codesign.errors import CodesignError


def pe_range() -> tuple[int, int]:
    """The engine's NumPe range (codesign.engine.types.NUM_PE_RANGE): the one limit on --pes."""
    from codesign.engine.types import NUM_PE_RANGE

    return NUM_PE_RANGE


def check_pes(value, option: str = "--pes") -> int:
    """`value` as a PE count the engine can be built with, else a CodesignError naming `option`."""
    lo, hi = pe_range()
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise CodesignError(f"{option} {value!r} is outside {lo}..{hi}")
    return value


def check_positive(value, option: str) -> None:
    if value is not None and not value > 0:
        raise CodesignError(f"{option} {value!r} must be greater than 0")


def check_board(name: str, option: str = "--board"):
    """The Board called `name`, else a CodesignError naming `option` and the known boards."""
    from codesign.synth.boards import BOARDS

    if name not in BOARDS:
        raise CodesignError(f"{option} {name!r} is not one of {', '.join(sorted(BOARDS))}")
    return BOARDS[name]


def options_from_args(cls, args):
    """A stage's options dataclass from its parsed command line: every field is the option of that name."""
    import dataclasses

    return cls(**{f.name: getattr(args, f.name) for f in dataclasses.fields(cls)})
