"""Reads of the catalogue for the recommendation engine: plain values, no model instances."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import numpy as np

from .models import AUDIO_FEATURES, ENGINE_ROW_FIELDS, CatalogueVersion, Track


def _as_row(row: tuple[Any, ...]) -> dict[str, Any]:
    """A values_list(*ENGINE_ROW_FIELDS) row as the engine's TrackRow."""
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
    return _as_row(Track.objects.filter(pk=track_id).values_list(*ENGINE_ROW_FIELDS).get())


def active_track_rows() -> list[dict[str, Any]]:
    """One dict per active track, in id order, shaped like recommender.types.TrackRow.

    Keys: track_id, artist, title, valence, arousal, features (the 13 AUDIO_FEATURES, None when
    unknown), genre, tags. Valence appears both on its own and among the features, as the engine expects.
    """
    rows = Track.objects.filter(is_active=True).order_by("id").values_list(*ENGINE_ROW_FIELDS)
    return [_as_row(row) for row in rows.iterator(chunk_size=5000)]


def active_track_blocks(block_size: int = 20_000) -> Iterator[dict[str, Any]]:
    """The active tracks in id order, block_size at a time, as columns (the fields of the engine's
    TrackColumns): what an index build reads, so that a million tracks never stand in memory as a
    million rows. Numbers are float64 arrays with NaN where unknown; features are AUDIO_FEATURES."""
    rows = (
        Track.objects.filter(is_active=True)
        .order_by("id")
        .values_list(*ENGINE_ROW_FIELDS)
        .iterator(chunk_size=block_size)
    )
    n_features = len(AUDIO_FEATURES)
    while block := list(itertools.islice(rows, block_size)):
        yield {
            "track_ids": np.fromiter((r[0] for r in block), np.int64, len(block)),
            "artists": [r[1] for r in block],
            "titles": [r[2] for r in block],
            "valence": np.array([r[3] for r in block], dtype=np.float64),  # None -> NaN
            "arousal": np.array([r[4] for r in block], dtype=np.float64),
            "feature_names": AUDIO_FEATURES,
            "features": np.array([r[5 : 5 + n_features] for r in block], dtype=np.float64).reshape(
                len(block), n_features
            ),
            "genres": [r[5 + n_features] for r in block],
            "tags": [list(r[6 + n_features] or []) for r in block],
        }


def active_track_sample(limit: int) -> list[dict[str, Any]]:
    """Up to limit active tracks spread evenly over the catalogue (by id), shaped like active_track_rows."""
    ids = list(Track.objects.filter(is_active=True).order_by("id").values_list("id", flat=True))
    chosen = ids[:: max(1, -(-len(ids) // limit))] if limit > 0 else []
    rows = Track.objects.filter(pk__in=chosen).order_by("id").values_list(*ENGINE_ROW_FIELDS)
    return [_as_row(row) for row in rows]


def catalogue_version() -> str:
    """The active catalogue's version: it changes whenever the active catalogue does (see CatalogueVersion);
    one primary-key read, as the transactions committed so far left it."""
    return CatalogueVersion.current()
