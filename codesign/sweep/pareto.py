"""Pareto fronts over design points: which points no other point beats on every objective."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def pareto_mask(objectives: np.ndarray, maximize: Sequence[bool]) -> np.ndarray:
    """True for the non-dominated rows of `objectives` (n points x k objectives).

    Row j dominates row i when j is at least as good on every objective and strictly better on one;
    equal rows do not dominate each other, so duplicates of a front point are all on the front."""
    x = np.asarray(objectives, np.float64)
    if x.ndim != 2 or x.shape[1] != len(maximize):
        raise ValueError(f"objectives {x.shape} do not match {len(maximize)} directions")
    # Turn every objective into "larger is better".
    x = x * np.where(np.asarray(maximize, bool), 1.0, -1.0)
    at_least = (x[None, :, :] >= x[:, None, :]).all(axis=2)  # [i, j]: j >= i everywhere
    strictly = (x[None, :, :] > x[:, None, :]).any(axis=2)  # [i, j]: j > i somewhere
    return ~(at_least & strictly).any(axis=1)


def front_order(objectives: np.ndarray, maximize: Sequence[bool]) -> np.ndarray:
    """Indices of the front points sorted by the second objective (for drawing a 2-D front)."""
    mask = pareto_mask(objectives, maximize)
    idx = np.flatnonzero(mask)
    return idx[np.argsort(np.asarray(objectives)[idx, 1], kind="stable")]
