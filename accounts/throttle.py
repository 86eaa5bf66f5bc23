"""A small cache-backed rate limit for the login form (DRF throttles cover the API)."""

from __future__ import annotations

from django.core.cache import cache


def hit(key: str, limit: int, window_seconds: int) -> bool:
    """Count one attempt under `key`; return True while the caller is within `limit` per window."""
    cache_key = f"throttle:{key}"
    if cache.add(cache_key, 1, timeout=window_seconds):
        return True
    try:
        count = cache.incr(cache_key)
    except ValueError:  # expired between add and incr
        cache.set(cache_key, 1, timeout=window_seconds)
        return True
    return count <= limit
