"""Music -> photo: which of a user's photos fit a track (Emo-CLIM's joint space, the other direction)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from accounts.models import User
from catalogue.models import Track
from catalogue.selectors import track_row
from recommender.engine.heads.model import DEFAULT_HEADS_DIR, load_heads, rank_photos_for_track
from recommender.engine.types import TrackRow
from recommender.models import Photo


@dataclass
class PhotoMatch:
    photo: Photo
    score: float  # 0-1, cosine in the joint space mapped to [0, 1]


def photos_for_track(user: User, track: Track, limit: int = 12) -> list[PhotoMatch]:
    """The user's analysed photos, best fit for the track first."""
    photos = list(Photo.objects.filter(owner=user, embedding__isnull=False).order_by("-created_at"))
    if not photos:
        return []
    heads = load_heads(str(DEFAULT_HEADS_DIR))
    # Photos analysed by another encoder have embeddings of another size: they cannot be compared.
    vectors = {p.pk: _vector(p) for p in photos}
    usable = [p for p in photos if len(vectors[p.pk]) == heads.embedding_dim]
    if not usable:
        return []
    embeddings = np.stack([vectors[p.pk] for p in usable])
    order, scores = rank_photos_for_track(heads, TrackRow(**track_row(track.pk)), embeddings)
    return [PhotoMatch(usable[i], float(scores[i])) for i in order[:limit]]


def _vector(photo: Photo) -> np.ndarray:
    return np.frombuffer(bytes(photo.embedding or b""), dtype=np.float32)
