"""Ratings of recommended tracks. They reweight the user's next results and are kept for retraining."""

from __future__ import annotations

from accounts.models import User
from photos.models import Feedback, RunItem


def rate(user: User, item: RunItem, rating: int) -> Feedback:
    """Record (or change) the user's up/down rating of one recommended track."""
    if rating not in (Feedback.Rating.UP, Feedback.Rating.DOWN):
        raise ValueError("rating must be 1 (fits) or -1 (not for this photo)")
    feedback, _ = Feedback.objects.update_or_create(
        user=user,
        item=item,
        defaults={
            "track_id": item.track_id,
            "rating": rating,
            "photo_valence": item.run.valence,
            "photo_arousal": item.run.arousal,
        },
    )
    return feedback


def clear(user: User, item: RunItem) -> None:
    Feedback.objects.filter(user=user, item=item).delete()
