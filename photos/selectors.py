"""Reads of the photos app that other apps need."""

from __future__ import annotations

import numpy as np

from photos.models import Photo

# How many of the latest photos' embeddings calibrate a track index (vector_search: 200 queries).
CALIBRATION_PHOTOS = 200


def recent_photo_embeddings(limit: int = CALIBRATION_PHOTOS) -> np.ndarray:
    """(m, d) float32: the encoder embeddings of up to `limit` of the latest analysed photos, those of the
    latest photo's encoder only (embedding_model); (0, 0) when there are none. What real queries look
    like, for calibrating the track index's approximate search (inference.adapter.current_index)."""
    latest = (
        Photo.objects.exclude(embedding=None)
        .exclude(embedding_model="")
        .order_by("-created_at", "-pk")
        .first()
    )
    if latest is None:
        return np.zeros((0, 0), dtype=np.float32)
    stored = (
        Photo.objects.filter(embedding_model=latest.embedding_model)
        .exclude(embedding=None)
        .order_by("-created_at", "-pk")
        .values_list("embedding", flat=True)[:limit]
    )
    vectors = [np.frombuffer(bytes(e), dtype=np.float32) for e in stored if e is not None]
    size = len(vectors[0]) if vectors else 0
    return np.stack([v for v in vectors if len(v) == size and size]) if size else np.zeros((0, 0), np.float32)
