"""Request checks made before any view reads the request: its declared size, and NUL characters in its URL."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse


def _refuse(request: HttpRequest, status: int, message: str) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message}, status=status)
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


class RequestLimitsMiddleware:
    """Refuse, before a byte of the body is read:

    - a body larger than REQUEST_MAX_BYTES (staff: STAFF_REQUEST_MAX_BYTES, for catalogue files and audio),
      by its Content-Length: 413. Django's own upload limits apply only while the body is being read.
    - a NUL character in the path or the query string: 400. No URL of ours has one, and PostgreSQL cannot
      take it in a query (the catalogue search and the admin's filters would otherwise fail with a 500).

    Placed after AuthenticationMiddleware, which reads only the session cookie.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        user = getattr(request, "user", None)
        staff = bool(user is not None and user.is_authenticated and getattr(user, "is_staff", False))
        limit = settings.STAFF_REQUEST_MAX_BYTES if staff else settings.REQUEST_MAX_BYTES
        if length > limit:
            return _refuse(
                request,
                413,
                f"The request is {length / 1_048_576:.1f} MB; the limit is {limit / 1_048_576:.0f} MB.",
            )
        if "\x00" in request.path or any(
            "\x00" in key or any("\x00" in value for value in values) for key, values in request.GET.lists()
        ):
            return _refuse(request, 400, "The address contains a NUL character.")
        return self.get_response(request)
