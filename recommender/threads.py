"""Thread budgets: each engine process uses its share of the cores, set before any thread pool starts.

torch, ONNX Runtime, FAISS and numpy's BLAS each size their thread pools to the whole machine by default,
and their OpenMP threads spin while they wait. Two such processes on the 2-core dev machine slowed each
other 2.5-11x (a bare torch model: 3.4 s alone, 36 s each side by side; with one thread each, 4.0 s and
4.1 s). So a worker process's budget is its share of the cores: the CPUs it may use (its affinity, capped by a
cgroup CPU quota, as in a container) divided by the number of engine processes expected on them
(ENGINE_PROCESSES: a Celery worker sets it to its concurrency); any other process (a command) takes one
thread; ENGINE_THREADS overrides both.
Idle threads sleep instead of spinning (OMP_WAIT_POLICY=PASSIVE, ONNX Runtime without spinning), so a
process whose threads wait does not take the core from its neighbour.

set_thread_environment() sets the variables OpenMP and the BLAS libraries read when they load (call it
before torch or numpy is imported: config/settings.py does); configure_threads() sets the pools of the
libraries already loaded (the Engine calls it). FAISS gets one thread: the engine's searches are small.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path

logger = logging.getLogger(__name__)

_THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
_budget: int | None = None


def available_cpus() -> int:
    """The CPUs this process may run on: its affinity, capped by the cgroup's CPU quota if any."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    quota = cgroup_cpu_quota()
    if quota is not None:
        cpus = min(cpus, max(1, int(quota)))
    return max(1, cpus)


def cgroup_cpu_quota(root: Path = Path("/sys/fs/cgroup")) -> float | None:
    """CPUs allowed by the cgroup (v2 cpu.max, v1 cfs quota/period), or None when unlimited."""
    try:
        quota, period = (root / "cpu.max").read_text().split()[:2]
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        pass
    try:
        quota_us = int((root / "cpu" / "cpu.cfs_quota_us").read_text())
        period_us = int((root / "cpu" / "cpu.cfs_period_us").read_text())
        return None if quota_us <= 0 else quota_us / period_us
    except (OSError, ValueError):
        return None


def thread_budget(threads: int | None = None, processes: int | None = None) -> int:
    """threads when given (ENGINE_THREADS); in a worker, which knows how many engine processes it runs
    (ENGINE_PROCESSES, set from its concurrency), its share of the CPUs; else one thread.

    A process that is not a worker (a command, a script) cannot know what else runs beside it, and at
    batch 1 splitting each small operator of the encoder over threads gains little: measured side by side
    on the 2-core machine (bench/serving.py), `recommend` over 200 photos with one thread took 0.81x the
    floor against 1.16x with two, and two of them side by side 1.00x against 1.50x."""
    if threads:
        return max(1, threads)
    if processes is None:
        try:
            processes = int(os.environ["ENGINE_PROCESSES"])
        except (KeyError, ValueError):
            return 1
    return max(1, available_cpus() // max(1, processes))


def set_thread_environment(threads: int) -> None:
    """The variables that OpenMP and the BLAS libraries read when they load. Values already set by the
    person running the process win."""
    for name in _THREAD_VARIABLES:
        os.environ.setdefault(name, str(threads))
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def configure_threads(threads: int | None = None) -> int:
    """Size torch's and FAISS's pools for this process (one FAISS thread) and remember the budget for
    ONNX Runtime sessions made later. Returns the budget."""
    global _budget
    import faiss
    import torch

    n = thread_budget(threads)
    set_thread_environment(n)
    faiss.omp_set_num_threads(1)
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    with contextlib.suppress(RuntimeError):  # only allowed before the first inter-op work
        torch.set_num_interop_threads(1)
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(n, user_api="blas")
    except ImportError:  # pragma: no cover - threadpoolctl comes with the scientific stack
        pass
    if _budget != n:
        logger.debug("thread budget: %d (of %d CPUs)", n, available_cpus())
    _budget = n
    return n


def current_budget() -> int:
    """This process's thread budget: the one configure_threads set, else its share of the cores."""
    return _budget or thread_budget()


def onnx_threads() -> int:
    """Intra-op threads for a new ONNX Runtime session: the budget configure_threads set."""
    return current_budget()


def onnx_session_options(threads: int | None = None, *, spinning: bool = False) -> object:
    """ONNX Runtime session options within the budget: intra-op threads that sleep when idle. spinning:
    they spin between operators of a run (faster when the cores are held for it, idle_cpus.py) and stop
    when the run ends."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads or onnx_threads()
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
    if spinning:
        options.add_session_config_entry("session.force_spinning_stop", "1")
    return options
