"""Cache-backed rate limits shared by the web pages and the API (Redis in the full stack).

- Everything that queues a run (a photo upload, a new run, a retry), from the API or the web, draws on one
  per-user budget: the `uploads` rate.
- Sign-in (the login form and POST /api/token/) counts failures only, per username and address, with a
  looser cap per address across usernames; a correct password is never refused for others' mistakes.
- A wrong API token counts as a failure of its address (accounts/authentication.py).
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

WINDOW_SECONDS = 60
# Failed sign-ins from one address over all usernames may be this many times the per-username limit.
ADDRESS_FACTOR = 5


def per_minute(scope: str) -> int:
    """The configured attempts per minute for a scope of REST_FRAMEWORK's DEFAULT_THROTTLE_RATES."""
    rates: dict[str, str] = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]  # type: ignore[assignment]
    count, _, period = rates[scope].partition("/")
    if not period.startswith("m"):
        raise ValueError(f"throttle rate for {scope} must be per minute, not {rates[scope]!r}")
    return int(count)


def hit(key: str, limit: int, window_seconds: int) -> bool:
    """Count one attempt under `key`; return True while the caller is within `limit` per window."""
    return _increment(key, window_seconds) <= limit


def _increment(key: str, window_seconds: int) -> int:
    cache_key = f"throttle:{key}"
    if cache.add(cache_key, 1, timeout=window_seconds):
        return 1
    try:
        return int(cache.incr(cache_key))
    except ValueError:  # expired between add and incr
        cache.set(cache_key, 1, timeout=window_seconds)
        return 1


def _count(key: str) -> int:
    return int(cache.get(f"throttle:{key}", 0))


def client_address(request: HttpRequest | Request) -> str:
    return str(request.META.get("REMOTE_ADDR") or "unknown")


# Runs: one budget for the API and the web.


def run_budget_key(user_id: int) -> str:
    return f"upload:{user_id}"


def may_queue_run(user_id: int) -> bool:
    """Count one upload, new run or retry for the user; False when the per-minute budget is spent."""
    return hit(run_budget_key(user_id), per_minute("uploads"), WINDOW_SECONDS)


class RunBudgetThrottle(BaseThrottle):
    """The API side of the run budget (the web's upload form calls may_queue_run with the same key)."""

    def allow_request(self, request: Request, view: Any) -> bool:
        user = request.user
        if user is None or not user.is_authenticated:
            return True  # authentication answers first
        return may_queue_run(int(user.pk))

    def wait(self) -> float:
        return float(WINDOW_SECONDS)


# Sign-in: failures only.


def _sign_in_keys(address: str, username: str) -> tuple[str, str]:
    # The username is hashed: any text may be typed there, and cache keys must stay short and plain.
    who = hashlib.sha256(username.strip().casefold().encode("utf-8", "backslashreplace")).hexdigest()[:32]
    return f"login-fail:{who}:{address}", f"login-fail-address:{address}"


def sign_in_refused(address: str, username: str) -> bool:
    """True when this username from this address (or this address overall) failed too often lately."""
    limit = per_minute("login")
    user_key, address_key = _sign_in_keys(address, username)
    return _count(user_key) >= limit or _count(address_key) >= limit * ADDRESS_FACTOR


def sign_in_failed(address: str, username: str) -> None:
    for key in _sign_in_keys(address, username):
        _increment(key, WINDOW_SECONDS)


def token_refused(address: str) -> bool:
    return _count(f"token-fail:{address}") >= per_minute("login")


def token_failed(address: str) -> None:
    _increment(f"token-fail:{address}", WINDOW_SECONDS)
