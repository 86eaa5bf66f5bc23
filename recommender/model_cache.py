"""One cache for every model a process uses: the image encoder, the mood model, the heads, MiniLM, the face
reader, vibenet, the ImageNet class names and the engines built on them.

A model is keyed by its kind and the options that change what is loaded (artifact directory, device,
runtime...). It is loaded once per process: the first caller loads it while later callers of the same key
wait on that key's lock (callers of other keys do not wait). A model nobody asked for in a while can be
unloaded (unload_idle, or a reaper thread started with start_idle_reaper); the next caller loads it again.
Code that needs a model asks the cache each time instead of keeping its own reference, so an unloaded model
is really freed. After a fork (prefork workers) the child starts with the parent's models but new locks.

Immich's machine-learning service keeps its model cache the same way, apart from loading and batching.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, TypeVar

logger = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class ModelKey:
    kind: str
    options: tuple[tuple[str, Hashable], ...] = ()

    def __str__(self) -> str:
        opts = ", ".join(f"{k}={v}" for k, v in self.options)
        return f"{self.kind}({opts})" if opts else self.kind


@dataclass
class _Entry:
    lock: threading.Lock = field(default_factory=threading.Lock)
    value: Any = None
    loaded: bool = False
    load_seconds: float = 0.0
    last_used: float = 0.0


@dataclass(frozen=True)
class LoadedModel:
    key: ModelKey
    load_seconds: float
    idle_seconds: float


class ModelCache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[ModelKey, _Entry] = {}
        self._reaper: threading.Thread | None = None

    def get(self, kind: str, load: Callable[[], T], **options: Hashable) -> T:
        """The model of this kind and options, loading it with load() if no one has yet."""
        key = ModelKey(kind, tuple(sorted(options.items())))
        with self._lock:
            entry = self._entries.setdefault(key, _Entry())
        with entry.lock:
            if not entry.loaded:
                started = time.perf_counter()
                entry.value = load()
                entry.load_seconds = time.perf_counter() - started
                entry.loaded = True
                logger.info("loaded %s in %.2f s", key, entry.load_seconds)
            entry.last_used = time.monotonic()
            return entry.value

    def is_loaded(self, kind: str, **options: Hashable) -> bool:
        entry = self._entries.get(ModelKey(kind, tuple(sorted(options.items()))))
        return entry is not None and entry.loaded

    def loaded(self) -> list[LoadedModel]:
        now = time.monotonic()
        with self._lock:
            entries = list(self._entries.items())
        return [LoadedModel(k, e.load_seconds, now - e.last_used) for k, e in entries if e.loaded]

    def unload(self, kind: str | None = None, *, idle_for: float = 0.0) -> list[ModelKey]:
        """Unload every model of this kind (all kinds when None) that has not been used for idle_for
        seconds. A model being loaded or used right now is skipped."""
        now = time.monotonic()
        with self._lock:
            candidates = [(k, e) for k, e in self._entries.items() if kind is None or k.kind == kind]
        dropped = []
        for key, entry in candidates:
            if not entry.lock.acquire(blocking=False):
                continue
            try:
                if entry.loaded and now - entry.last_used >= idle_for:
                    entry.value, entry.loaded = None, False
                    dropped.append(key)
            finally:
                entry.lock.release()
        for key in dropped:
            logger.info("unloaded %s", key)
        return dropped

    def unload_idle(self, idle_seconds: float) -> list[ModelKey]:
        return self.unload(idle_for=idle_seconds)

    def start_idle_reaper(self, idle_seconds: float) -> None:
        """Unload models idle for idle_seconds, checking a few times per period (once per process)."""
        if idle_seconds <= 0 or (self._reaper is not None and self._reaper.is_alive()):
            return

        def reap() -> None:
            while True:
                time.sleep(max(1.0, idle_seconds / 4))
                self.unload_idle(idle_seconds)

        self._reaper = threading.Thread(target=reap, name="model-cache-reaper", daemon=True)
        self._reaper.start()

    def clear(self) -> None:
        """Forget every model (tests)."""
        with self._lock:
            self._entries.clear()

    def _after_fork(self) -> None:
        self._lock = threading.Lock()
        for entry in self._entries.values():
            entry.lock = threading.Lock()
        self._reaper = None


MODELS = ModelCache()
os.register_at_fork(after_in_child=MODELS._after_fork)
