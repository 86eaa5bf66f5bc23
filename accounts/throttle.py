"""A small cache-backed rate limit for the login form (DRF throttles cover the API)."""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache


def per_minute(scope: str) -> int:
    """The configured attempts per minute for a scope of REST_FRAMEWORK's DEFAULT_THROTTLE_RATES."""
    rates: dict[str, str] = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]  # type: ignore[assignment]
    count, _, period = rates[scope].partition("/")
    if not period.startswith("m"):
        raise ValueError(f"throttle rate for {scope} must be per minute, not {rates[scope]!r}")
    return int(count)


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
