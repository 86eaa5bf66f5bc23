"""API token authentication that slows down guessing: wrong tokens count against the caller's address."""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication, get_authorization_header
from rest_framework.request import Request

from . import throttle


class ThrottledTokenAuthentication(TokenAuthentication):
    """DRF's token authentication; after `login`-rate failures a minute from one address, requests from it
    that carry a token are answered 429 (with Retry-After) until the minute is over."""

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        if not get_authorization_header(request).lower().startswith(b"token"):
            return None
        address = throttle.client_address(request)
        if throttle.token_refused(address):
            raise exceptions.Throttled(wait=throttle.WINDOW_SECONDS)
        try:
            return super().authenticate(request)
        except exceptions.AuthenticationFailed:
            throttle.token_failed(address)
            raise
