"""Web views of the catalogue (the admin has the rest)."""

from __future__ import annotations

from pathlib import Path

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest
from django.shortcuts import get_object_or_404

from .audio import AUDIO_CONTENT_TYPES
from .models import Track


@login_required
def track_audio(request: HttpRequest, pk: int) -> FileResponse:
    """The audio an admin uploaded for an active track, for the player on the results page. Signed-in
    users only: uploaded audio is not a public media file."""
    track = get_object_or_404(Track, pk=pk, is_active=True)
    if not track.audio:
        raise Http404("this track has no audio")
    try:
        stored = track.audio.open("rb")
    except FileNotFoundError as exc:
        raise Http404("the audio file is missing") from exc
    content_type = AUDIO_CONTENT_TYPES.get(
        Path(track.audio.name or "").suffix.lower(), "application/octet-stream"
    )
    response = FileResponse(stored, content_type=content_type)
    response["Cache-Control"] = "private, max-age=86400"
    return response
