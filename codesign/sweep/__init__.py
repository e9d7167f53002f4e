"""Design-space sweep: precision x sparsity x structure x NumPe / reuse factor x target, with the survey's
metrics, analytic resources, a per-point cache, local-process or Dask executors, Pareto reports.

    from codesign.sweep import load_sweep, run_sweep
    result = run_sweep(load_sweep("sweeps/jvowels_small.yml"))

(Cheap to import: no TensorFlow; the CLI stage is codesign.sweep.command.)
"""

from __future__ import annotations

from codesign.sweep.command import SweepResult, run_sweep
from codesign.sweep.config import SweepConfig, load_sweep, parse_sweep
from codesign.sweep.evaluate import SweepContext, evaluate_point
from codesign.sweep.executor import SweepRun, point_key, run_points
from codesign.sweep.pareto import pareto_mask

__all__ = [
    "SweepConfig",
    "SweepContext",
    "SweepResult",
    "SweepRun",
    "evaluate_point",
    "load_sweep",
    "pareto_mask",
    "parse_sweep",
    "point_key",
    "run_points",
    "run_sweep",
]
