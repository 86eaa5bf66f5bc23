"""The per-photo CPU work of a batch (resizing for the encoder, colour statistics) on a few threads.

On a GPU the forward pass of a batch costs far less than preparing its photos one after another on the
CPU (bench/gpu.py prints both), so a batch's photos are prepared side by side. PIL's resize and numpy's
array operations release the GIL, so threads are enough. A batch of one photo (the CPU worker's case)
runs inline: no thread to wake, nothing to gain.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from .threads import current_budget

T = TypeVar("T")
R = TypeVar("R")

_lock = threading.Lock()
_pool: tuple[int, int, ThreadPoolExecutor] | None = None  # (pid, size, pool): a forked child makes its own


def photo_threads() -> int:
    """Threads preparing a batch: the process's thread budget (threads.py)."""
    return current_budget()


def _executor(size: int) -> ThreadPoolExecutor:
    global _pool
    with _lock:
        if _pool is None or _pool[0] != os.getpid() or _pool[1] != size:
            _pool = (os.getpid(), size, ThreadPoolExecutor(size, thread_name_prefix="photo-prep"))
        return _pool[2]


def map_photos(work: Callable[[T], R], photos: Sequence[T], threads: int | None = None) -> list[R]:
    """[work(p) for p in photos], in order, on up to threads threads (default photo_threads()). The first
    exception a photo raises is raised here, as the plain loop would."""
    size = min(len(photos), threads if threads is not None else photo_threads())
    if size < 2:
        return [work(p) for p in photos]
    return list(_executor(size).map(work, photos))
