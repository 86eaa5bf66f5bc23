"""Reads of the catalogue for the recommendation engine: plain values, no model instances."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Max

from .models import AUDIO_FEATURES, Track

_ROW_FIELDS = ("id", "artist", "title", "valence", "arousal", *AUDIO_FEATURES, "genre", "tags")


def _as_row(row: tuple[Any, ...]) -> dict[str, Any]:
    n_features = len(AUDIO_FEATURES)
    return {
        "track_id": row[0],
        "artist": row[1],
        "title": row[2],
        "valence": row[3],
        "arousal": row[4],
        "features": dict(zip(AUDIO_FEATURES, row[5 : 5 + n_features], strict=True)),
        "genre": row[5 + n_features],
        "tags": list(row[6 + n_features] or []),
    }


def track_row(track_id: int) -> dict[str, Any]:
    """One track (active or not) shaped like recommender.types.TrackRow."""
    return _as_row(Track.objects.filter(pk=track_id).values_list(*_ROW_FIELDS).get())


def active_track_rows() -> list[dict[str, Any]]:
    """One dict per active track, in id order, shaped like recommender.types.TrackRow.

    Keys: track_id, artist, title, valence, arousal, features (the 13 AUDIO_FEATURES, None when
    unknown), genre, tags. Valence appears both on its own and among the features, as the engine expects.
    """
    rows = Track.objects.filter(is_active=True).order_by("id").values_list(*_ROW_FIELDS)
    return [_as_row(row) for row in rows.iterator(chunk_size=5000)]


def catalogue_fingerprint() -> str:
    """A cheap version string of the active catalogue: it changes when a track is added, edited,
    (de)activated or deleted (one aggregate query; writers must set updated_at, see importer/admin)."""
    stats = Track.objects.filter(is_active=True).aggregate(
        count=Count("id"), last_update=Max("updated_at"), last_id=Max("id")
    )
    last_update = stats["last_update"]
    stamp = last_update.strftime("%Y%m%dT%H%M%S%f") if last_update else "none"
    return f"{stats['count']}-{stats['last_id'] or 0}-{stamp}"
