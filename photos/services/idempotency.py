"""Idempotency-Key for the API requests that start a run (POST /api/photos/ and /api/runs/).

A client that retries after a timeout or a dropped connection sends the same key again and gets the run the
first request started, not a second one. Keys live in the cache (Redis in the full stack) for a day, scoped
to the user and the endpoint; a key reused for a different request is refused, and a key whose first request
is still being handled answers "in progress" rather than starting a second run.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.core.cache import cache

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
KEY_TTL_SECONDS = 24 * 3600
_IN_PROGRESS = 0


class KeyRejected(Exception):
    """The key cannot be used for this request; `status` and the message are for the client."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Slot:
    """What the first request with a key started: `run_id` is set when the key was seen before."""

    cache_key: str
    fingerprint: str
    run_id: int | None = None
    recorded: bool = False

    def record(self, run_id: int) -> None:
        cache.set(self.cache_key, (self.fingerprint, run_id), KEY_TTL_SECONDS)
        self.recorded = True


def fingerprint(*parts: object) -> str:
    return hashlib.sha256(repr(parts).encode("utf-8", "backslashreplace")).hexdigest()


@contextmanager
def reserve(user_id: int, scope: str, key: str, request_fingerprint: str) -> Iterator[Slot]:
    """Reserve `key` for this request, or find the run an earlier request with it started.

    Inside the block: when slot.run_id is set, answer with that run; otherwise start the run and call
    slot.record(run.pk). A block that ends without recording (it raised) frees the key, so the client can
    correct the request and send it again with the same key.
    """
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise KeyRejected(400, f"{HEADER} must be 1-{MAX_KEY_LENGTH} printable characters.")
    cache_key = f"idempotency:{user_id}:{scope}:{fingerprint(key)}"
    slot = Slot(cache_key, request_fingerprint)
    if not cache.add(cache_key, (request_fingerprint, _IN_PROGRESS), KEY_TTL_SECONDS):
        stored = cache.get(cache_key)
        if stored is not None:
            seen_fingerprint, run_id = stored
            if seen_fingerprint != request_fingerprint:
                raise KeyRejected(
                    422, f"This {HEADER} was already used for a different request; use a new key."
                )
            if run_id == _IN_PROGRESS:
                raise KeyRejected(409, f"A request with this {HEADER} is still being handled; retry shortly.")
            slot.run_id = run_id
            yield slot
            return
        cache.set(cache_key, (request_fingerprint, _IN_PROGRESS), KEY_TTL_SECONDS)  # expired meanwhile
    try:
        yield slot
    finally:
        if not slot.recorded:  # the request failed: the key is free again
            cache.delete(cache_key)
