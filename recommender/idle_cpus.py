"""Borrowing idle cores: a worker process runs the encoder on a neighbour's share of the CPUs while that
neighbour is not using it, and on its own share otherwise.

A prefork worker's processes each get an equal share of the cores (threads.py), which is right under load
and wastes the rest when one photo arrives alone: on the 2-core machine a lone run used one thread for the
encoder while the other core sat idle. Every engine process on the same CPUs shares one lock file per CPU
(a "slot"). Before a forward pass a process takes free slots without waiting: when it gets its share and
its neighbour's (twice its own budget, at most every CPU) it runs the wider session, else its own share,
holding what it uses until the pass ends. A process that finds every slot taken runs on its own share
anyway, so nothing ever waits for a lock; the overlap lasts at most one forward pass.

Only in a worker (ENGINE_PROCESSES set) whose threads come from its share (no ENGINE_THREADS), and only
for the ONNX Runtime encoder: commands take one thread and know nothing of what runs beside them. Off with
ENGINE_BORROW_IDLE_CPUS=0. flock locks belong to an open file, so a process forked after the slots were
opened opens its own (the pid check in hold()).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from .threads import available_cpus, current_budget, thread_budget

_lender: CpuSlots | None = None


def slots_directory() -> Path:
    """Lock files shared by the processes that run on the same CPUs (keyed by the CPU set)."""
    try:
        cpus = sorted(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = list(range(os.cpu_count() or 1))
    key = hashlib.sha1(",".join(map(str, cpus)).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"photophone-cpu-slots-{key}"


class CpuSlots:
    """One lock file per CPU; hold() takes what is free and says how many threads to run."""

    def __init__(self, cpus: int, budget: int, wide: int, directory: Path | None = None) -> None:
        if not 1 <= budget < wide <= cpus:
            raise ValueError(f"need 1 <= budget < wide <= cpus, got {budget}, {wide}, {cpus}")
        self.cpus, self.budget, self.wide = cpus, budget, wide
        self.directory = directory or slots_directory()
        self._files: list[IO[bytes]] = []
        self._pid = -1

    def _open(self) -> list[IO[bytes]]:
        if self._pid != os.getpid():  # new process (or first use): locks of inherited files are shared
            self.directory.mkdir(parents=True, exist_ok=True)
            self._files = [open(self.directory / f"cpu-{i}", "a+b") for i in range(self.cpus)]  # noqa: SIM115
            self._pid = os.getpid()
        return self._files

    @contextlib.contextmanager
    def hold(self) -> Iterator[int]:
        """The threads to run with now: wide when that many slots were free, else the budget."""
        files = self._open()
        start = os.getpid() % self.cpus  # neighbours start at different slots
        held: list[IO[bytes]] = []
        for k in range(self.cpus):
            slot = files[(start + k) % self.cpus]
            try:
                fcntl.flock(slot, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue
            held.append(slot)
            if len(held) == self.wide:
                break
        threads = self.wide if len(held) >= self.wide else self.budget
        for slot in held[threads:]:  # more than its own share, not enough to go wide: give them back
            fcntl.flock(slot, fcntl.LOCK_UN)
        held = held[:threads]
        try:
            yield threads
        finally:
            for slot in held:
                fcntl.flock(slot, fcntl.LOCK_UN)


def configure_lending(enabled: bool, threads: int | None = None) -> CpuSlots | None:
    """Turn borrowing on for this process when it may: a worker (ENGINE_PROCESSES) whose budget is its
    share (threads None) and smaller than the CPUs it may use. Returns the slots, or None when off."""
    global _lender
    cpus = available_cpus()
    budget = thread_budget(threads)
    wide = min(cpus, 2 * budget)
    if not enabled or threads or "ENGINE_PROCESSES" not in os.environ or wide <= budget:
        _lender = None
    elif _lender is None or (_lender.cpus, _lender.budget, _lender.wide) != (cpus, budget, wide):
        _lender = CpuSlots(cpus, budget, wide)
    return _lender


@contextlib.contextmanager
def borrowed_threads() -> Iterator[int]:
    """The threads the next forward pass may use (held until the block ends): the budget when borrowing
    is off."""
    if _lender is None:
        yield current_budget()
        return
    with _lender.hold() as threads:
        yield threads
