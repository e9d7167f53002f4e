"""Zhu & Gupta's gradual pruning schedule ("To prune, or not to prune", 2017, eq. 1).

s_t = s_f + (s_i - s_f) (1 - t / T)^3 for t = 0..T: prune fast while many redundant weights remain,
slowly as the network has fewer left to lose, with training between steps to recover.
"""

from __future__ import annotations

from codesign.errors import CodesignError


def polynomial_sparsity(step: int, total_steps: int, final: float, initial: float = 0.0) -> float:
    """The sparsity at `step` of `total_steps`: `initial` at 0, `final` at total_steps, cubic between."""
    if total_steps < 1:
        raise CodesignError(f"steps: {total_steps} pruning steps, need at least 1")
    if not 0 <= step <= total_steps:
        raise CodesignError(f"step {step} is outside [0, {total_steps}]")
    if step in (0, total_steps):
        return initial if step == 0 else final  # exactly: the formula rounds in the last bit
    return final + (initial - final) * (1.0 - step / total_steps) ** 3


def sparsity_schedule(final: float, total_steps: int, initial: float = 0.0) -> list[float]:
    """The sparsities to prune to at steps 1..T (step 0 is the unpruned start)."""
    return [polynomial_sparsity(t, total_steps, final, initial) for t in range(1, total_steps + 1)]
