"""Music -> photo: which of a user's photos fit a track (Emo-CLIM's joint space, the other direction)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from accounts.models import User
from catalogue.models import Track
from catalogue.selectors import active_track_sample, track_row
from inference import adapter
from photos.models import Photo, Run

# Catalogue tracks each photo's fit is measured against, so that a photo that fits everything ranks low.
REFERENCE_TRACKS = 100


@dataclass
class PhotoMatch:
    photo: Photo
    score: float  # 0-1, cosine in the joint space mapped to [0, 1]
    run_id: int | None = None  # the photo's latest finished run, where its results are


def photos_for_track(user: User, track: Track, limit: int = 12) -> list[PhotoMatch]:
    """The user's analysed photos, best fit for the track first."""
    photos = list(Photo.objects.filter(owner=user, embedding__isnull=False).order_by("-created_at"))
    if not photos:
        return []
    embeddings = [np.frombuffer(bytes(p.embedding or b""), dtype=np.float32) for p in photos]
    reference = active_track_sample(REFERENCE_TRACKS)
    ranked = adapter.photos_for_track(track_row(track.pk), embeddings, reference)[:limit]
    latest: dict[int, int] = {}
    done = Run.objects.filter(photo__in=[photos[i] for i, _ in ranked], status=Run.Status.DONE)
    for photo_id, run_id in done.order_by("created_at").values_list("photo_id", "pk"):
        latest[photo_id] = run_id
    return [PhotoMatch(photos[i], score, latest.get(photos[i].pk)) for i, score in ranked]
