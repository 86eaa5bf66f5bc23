"""What a retraining run learns beside the global reranker (recommender/lab/rating_learners.py): track
mood corrections travel in the reranker's artifact; per-user terms are stored here, one row per user
(UserTerms), so that each is deleted with its account. A user deleted while the run trained gets no row."""

from __future__ import annotations

import numpy as np
from django.contrib.auth import get_user_model
from django.db import transaction

from catalogue.selectors import active_track_rows
from recommender.lab import rating_learners
from recommender.lab.rerank_training import Outcome, RatingSet
from recommender.tracks import track_position
from recommender.types import TrackRow
from registry.models import UserTerms


def learn_beside_global(outcome: Outcome, data: RatingSet) -> rating_learners.Learned:
    """Attach what earned its place on held-out ratings to outcome.reranker and add its figures to
    outcome.metrics."""
    assert outcome.reranker is not None
    learned = rating_learners.learn_beside(outcome.reranker, data, catalogue_arousal_stats())
    outcome.metrics.update(learned.metrics)
    return learned


def catalogue_arousal_stats() -> tuple[float, float] | None:
    """The active catalogue's arousal (mean, sd) over positioned tracks, as the engine's index has it."""
    positions = (track_position(TrackRow(**row)) for row in active_track_rows())
    arousal = np.array([p[1] for p in positions if p is not None])
    return (float(arousal.mean()), float(arousal.std())) if len(arousal) >= 2 else None


def store_user_terms(version_id: int, learned: rating_learners.Learned) -> int:
    """The kept per-user terms of this version, for the users that still exist. Returns how many."""
    terms = learned.kept_user_terms
    with transaction.atomic():
        existing = set(
            get_user_model()
            .objects.select_for_update()
            .filter(pk__in=list(terms))
            .values_list("pk", flat=True)
        )
        rows = [
            UserTerms(
                version_id=version_id, user_id=user, weights=[round(float(w), 6) for w in weights], ratings=n
            )
            for user, (weights, n) in terms.items()
            if user in existing
        ]
        UserTerms.objects.bulk_create(rows)
    return len(rows)
