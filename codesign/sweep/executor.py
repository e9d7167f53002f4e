"""Running the points: a per-point cache, local processes by default, a Dask cluster on request.

Cache: one JSON file per finished point, `<cache_dir>/<key>.json`, key = sha256 of the point, the
settings that change a row and the model's weights hash. The main process writes each file (atomically:
temporary file, then rename) the moment its point finishes, so an interrupted sweep (Ctrl-C, a killed
job, a `limit`) resumes where it stopped and never recomputes a finished point.

Executors: `workers=1` evaluates in this process (no pool: cheap for a handful of points, and what
tests count calls on); otherwise a `ProcessPoolExecutor` with `workers` processes (default
os.cpu_count()), the context sent once per process by its initializer. With `scheduler="tcp://..."`
(or a `dask.distributed.Client`) the points go to that cluster instead; the context is scattered to
every worker once.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import tempfile
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from codesign.errors import CodesignError
from codesign.sweep.evaluate import SweepContext, evaluate_point

Evaluator = Callable[[SweepContext, dict], dict]


@dataclass
class SweepRun:
    rows: list[dict]  # one per point, in point order (points not reached are missing)
    computed: list[str] = field(default_factory=list)  # keys evaluated by this run
    cached: list[str] = field(default_factory=list)  # keys read back from the cache
    complete: bool = True  # False when `limit` stopped the run early


def point_key(point: dict, settings: dict, weights_hash: str) -> str:
    text = json.dumps({"point": point, "settings": settings, "weights": weights_hash}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def _write_atomic(path: Path, data: Any) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=1)
        f.write("\n")
    os.replace(tmp, path)


def _read_cached(path: Path, point: dict) -> dict | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None  # missing, or cut short by a crash mid-write of an older version: recompute
    if data.get("point") != point or not isinstance(data.get("row"), dict):
        return None
    return data["row"]


# One context per worker process, set by the pool's initializer (sent once, not once per point).
_WORKER: dict[str, Any] = {}


def _init_worker(ctx: SweepContext, evaluate: Evaluator) -> None:
    _WORKER["ctx"], _WORKER["evaluate"] = ctx, evaluate


def _evaluate_in_worker(point: dict) -> dict:
    return _WORKER["evaluate"](_WORKER["ctx"], point)


def run_points(
    points: list[dict],
    ctx: SweepContext,
    cache_dir: Path,
    workers: int | None = None,
    scheduler: str | Any | None = None,
    progress: bool = True,
    limit: int | None = None,
    on_result: Callable[[str, dict], None] | None = None,
    evaluate: Evaluator = evaluate_point,
) -> SweepRun:
    """Evaluate every point not already cached; return all rows in point order.

    `limit`: evaluate at most this many new points, then stop (the run is then not `complete`).
    `on_result(key, row)`: called in this process after each new point is cached (an exception from
    it stops the sweep like an interrupt; what finished stays cached)."""
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    settings = ctx.settings()
    keys = [point_key(p, settings, ctx.base.weights_hash) for p in points]
    if len(set(keys)) != len(keys):
        raise ValueError("duplicate design points")
    rows: dict[str, dict] = {}
    run = SweepRun(rows=[])
    todo = []
    for key, point in zip(keys, points, strict=True):
        row = _read_cached(cache_dir / f"{key}.json", point)
        if row is None:
            todo.append((key, point))
        else:
            rows[key] = row
            run.cached.append(key)
    if limit is not None and len(todo) > limit:
        todo, run.complete = todo[:limit], False

    bar = tqdm(total=len(points), initial=len(run.cached), desc="sweep", unit="point", disable=not progress)

    def finished(key: str, point: dict, row: dict) -> None:
        row = {"key": key, **row}
        _write_atomic(
            cache_dir / f"{key}.json",
            {
                "key": key,
                "point": point,
                "settings": settings,
                "weights_hash": ctx.base.weights_hash,
                "row": row,
            },
        )
        rows[key] = row
        run.computed.append(key)
        bar.update(1)
        if on_result is not None:
            on_result(key, row)

    try:
        if not todo:
            pass
        elif scheduler is not None:
            _run_dask(todo, ctx, scheduler, evaluate, finished)
        elif (workers or os.cpu_count() or 1) == 1 or len(todo) == 1:
            for key, point in todo:
                finished(key, point, evaluate(ctx, point))
        else:
            _run_pool(todo, ctx, workers or os.cpu_count() or 1, evaluate, finished)
    finally:
        bar.close()
    run.rows = [rows[k] for k in keys if k in rows]
    return run


def _run_pool(todo, ctx, workers: int, evaluate: Evaluator, finished) -> None:
    # Fine-tuning runs TensorFlow, which must not inherit a forked parent's runtime: fresh processes.
    # Analytic points stay numpy-only, and fork starts them fastest.
    context = multiprocessing.get_context("spawn" if ctx.mode == "finetune" else None)
    pool = ProcessPoolExecutor(
        max_workers=min(workers, len(todo)),
        mp_context=context,
        initializer=_init_worker,
        initargs=(ctx, evaluate),
    )
    try:
        pending = {pool.submit(_evaluate_in_worker, point): (key, point) for key, point in todo}
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                key, point = pending.pop(future)
                finished(key, point, future.result())
    finally:
        # On an interrupt: drop what has not started; what finished is cached already.
        pool.shutdown(wait=True, cancel_futures=True)


def _run_dask(todo, ctx, scheduler, evaluate: Evaluator, finished) -> None:
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise CodesignError('--scheduler needs dask.distributed: pip install "dask[distributed]"') from None
    own = isinstance(scheduler, str)
    if own:
        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError) as exc:
            raise CodesignError(f"--scheduler {scheduler}: cannot connect ({exc})") from None
    else:
        client = scheduler
    futures = []
    try:
        shared = client.scatter(ctx, broadcast=True)
        futures = [
            client.submit(evaluate, shared, point, key=f"sweep-point-{key}", pure=False)
            for key, point in todo
        ]
        by_key = {f.key: (key, point) for f, (key, point) in zip(futures, todo, strict=True)}
        for future in as_completed(futures):
            key, point = by_key[future.key]
            finished(key, point, future.result())
    finally:
        if futures:
            client.cancel([f for f in futures if not f.done()])
        if own:
            client.close()
