"""No test may depend on the CPU's float32 kernels (docs/testing.md, issue 9): the tests that compare Keras
with the float64 reference, the recorded metrics and the HLS C-simulation give the same verdicts with
oneDNN on and off and with one or two intra-op threads.

TensorFlow 2.14 reads TF_ENABLE_ONEDNN_OPTS when it loads (oneDNN's fused and blocked kernels, on by
default on x86 Linux) and TF_NUM_INTRAOP_THREADS when it creates its first session/context
(tensorflow/core/common_runtime/process_util.cc, NumIntraOpThreadsFromEnvironment): both must be in the
environment before TensorFlow starts, so each configuration runs in its own pytest subprocess. That the
thread count takes effect is checked, not assumed: the pool's threads follow it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FILES = [
    "tests/test_reference.py",
    "tests/test_train.py",
    "tests/test_compress.py",
    "tests/test_circulant.py",
    "tests/test_hls.py",
    "tests/test_hls_block_sparse.py",
    "tests/test_sweep.py",
    "tests/test_engine.py",
]
CONFIGS = [(onednn, threads) for onednn in ("0", "1") for threads in ("1", "2")]

_PROBE = """
import os, time
import tensorflow as tf
a = tf.random.normal((1024, 1024))
tf.linalg.matmul(a, a).numpy()
start = time.perf_counter()
for _ in range(20):
    tf.linalg.matmul(a, a).numpy()
threads = len(os.listdir("/proc/self/task"))
print(time.perf_counter() - start, threads)
"""


def _env(onednn: str, threads: str) -> dict:
    env = dict(os.environ, TF_ENABLE_ONEDNN_OPTS=onednn, TF_NUM_INTRAOP_THREADS=threads)
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    return env


@pytest.mark.slow
def test_intra_op_threads_come_from_the_environment():
    """The intra-op pool has as many threads as TF_NUM_INTRAOP_THREADS says (the process's OS threads grow
    by one per pool thread). The matmul times are printed, not asserted: on a shared 2-core machine two
    threads are not reliably faster (measured alone: 1.64 s on one thread, 0.87 s on two)."""
    seconds, tasks = {}, {}
    for threads in ("1", "2", "4"):
        out = subprocess.run(
            [sys.executable, "-c", _PROBE], env=_env("1", threads), capture_output=True, text=True, check=True
        )
        seconds[threads], tasks[threads] = (float(v) for v in out.stdout.split()[-2:])
    print(f"matmul seconds by intra-op threads: {seconds}; OS threads: {tasks}")
    assert tasks["2"] == tasks["1"] + 1 and tasks["4"] == tasks["1"] + 3


@pytest.mark.slow  # runs the files above four times: 20 to 30 minutes on 2 cores
def test_same_verdicts_with_and_without_onednn_and_with_one_or_two_threads(tmp_path):
    verdicts, times = {}, {}
    for onednn, threads in CONFIGS:
        report = tmp_path / f"onednn{onednn}-threads{threads}.xml"
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-n", "2", "-m", "not slow", "-p", "no:cacheprovider"]
            + [f"--junitxml={report}", *FILES],
            cwd=ROOT,
            env=_env(onednn, threads),
            capture_output=True,
            text=True,
        )
        times[(onednn, threads)] = time.perf_counter() - start
        verdicts[(onednn, threads)] = _verdicts(report)
        tail = "\n".join(proc.stdout.splitlines()[-15:])
        label = f"TF_ENABLE_ONEDNN_OPTS={onednn} TF_NUM_INTRAOP_THREADS={threads}"
        print(f"{label}: {times[(onednn, threads)]:.0f} s\n{tail}")
        assert proc.returncode == 0, f"oneDNN {onednn}, {threads} threads: tests failed\n{tail}"
    first = verdicts[CONFIGS[0]]
    assert first and all(v in ("passed", "skipped") for v in first.values())
    for config in CONFIGS[1:]:
        assert verdicts[config] == first, f"verdicts differ under {config}"


def _verdicts(junit: Path) -> dict[str, str]:
    import xml.etree.ElementTree as ET

    out = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        name = f"{case.get('classname')}::{case.get('name')}"
        kinds = {child.tag for child in case}
        out[name] = next((k for k in ("failure", "error", "skipped") if k in kinds), "passed")
    return out
