"""The fixed-point types of the hls4ml configuration (`Fixed`, per-layer and per-model type sets), apart
from the code that derives them (`codesign.hls.exact`) and writes them out (`codesign.hls.config`)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from codesign.spec import Precision


@dataclass(frozen=True)
class Fixed:
    """A signed fixed-point type: `width` bits, `integer` of them (sign included) before the point."""

    width: int
    integer: int
    rounding: str = "TRN"
    overflow: str = "WRAP"

    @property
    def frac(self) -> int:
        return self.width - self.integer

    def hls4ml(self) -> str:
        if (self.rounding, self.overflow) == ("TRN", "WRAP"):
            return f"fixed<{self.width},{self.integer}>"
        return f"fixed<{self.width},{self.integer},{self.rounding},{self.overflow}>"

    def cpp(self) -> str:
        return f"ap_fixed<{self.width},{self.integer},AP_{self.rounding},AP_{self.overflow}>"

    @classmethod
    def from_cpp(cls, text: str) -> Fixed:
        """The inverse of `cpp`."""
        m = re.fullmatch(r"ap_fixed<(\d+),(-?\d+),AP_(\w+),AP_(\w+)>", text)
        if m is None:
            raise ValueError(f"not an ap_fixed<W,I,AP_Q,AP_O> type: {text!r}")
        return cls(int(m[1]), int(m[2]), m[3], m[4])


def of_precision(p: Precision, rounding: str = "RND_CONV", overflow: str = "SAT") -> Fixed:
    return Fixed(p.bits, p.integer + 1, rounding, overflow)


def integer_bits_for(bound: float) -> int:
    """Integer bits (sign included) of a signed type holding [-bound, bound]."""
    return max(1, math.floor(math.log2(bound)) + 2) if bound > 0 else 1


def exact_accumulator(bound: float, frac: int, min_integer: int = 1) -> Fixed:
    integer = max(integer_bits_for(bound), min_integer)
    return Fixed(integer + frac, integer)


@dataclass(frozen=True)
class LayerTypes:
    name: str
    weight: Fixed
    recurrent_weight: Fixed | None
    bias: Fixed
    accum: Fixed
    result: Fixed  # the layer's output values (exact h_t; the head's logits)
    input_bound: float
    state: Fixed | None = None  # where a recurrent layer keeps h_{t-1} and c_{t-1}


@dataclass(frozen=True)
class ModelTypes:
    input: Fixed
    layers: list[LayerTypes]
    head: LayerTypes
    # block-pruned recurrent kernels (spec compression.block): stored as non-zero blocks, see block_sparse.py
    block_sparse: tuple[int, int] | None = None
    exact: bool = True
    inexact_reason: str | None = None  # why C-simulation can differ from QKeras, when it can
