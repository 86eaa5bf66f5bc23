"""What a retraining run learns beside the global reranker, on the same split by time: corrections of
tracks' mood positions and per-user terms. Each is judged on the newest ratings, which nothing here
trains on, and kept (attached to the candidate) only if it raises the candidate's held-out AUC with the
confidence the gate asks of a reranker candidate (rerank_training.GAIN_CONFIDENCE, a paired bootstrap
drawing whole held-out runs):

- track corrections: AUC of the global reranker over all held-out ratings, features from the corrected
  positions against the base ones (rerank_training.auc_gain_lower_bound, as the gate);
- per-user terms: AUC within each user (mean over the users with terms and held-out ratings of both
  kinds), with their terms against the calibrated global score; within a user, so a user who likes
  everything does not count as a gain (rerank_training.within_user_auc_gain_lower_bound).

The ratings must carry extra["users"] and extra["track_ids"] (see RatingSet).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from recommender.lab.rerank_training import (
    GAIN_CONFIDENCE,
    HELD_OUT,
    RatingSet,
    auc,
    auc_gain_lower_bound,
    within_user_auc_gain_lower_bound,
)
from recommender.lab.track_mood_training import learn_track_moods
from recommender.lab.user_terms_training import calibrate, fit_users
from recommender.reranker import Reranker, feature_names
from recommender.track_moods import TrackMoods
from recommender.user_terms import PersonalSpec


@dataclass
class Learned:
    """Everything learned (for measures), and what of it was kept; the kept parts are also attached to the
    candidate (its track_moods and personal spec); kept_user_terms go to the database."""

    track_moods: TrackMoods | None = None
    spec: PersonalSpec | None = None
    user_terms: dict[int, tuple[np.ndarray, int]] = field(default_factory=dict)  # user -> (w, ratings)
    kept_user_terms: dict[int, tuple[np.ndarray, int]] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)


def corrected(part: RatingSet, moods: TrackMoods | None) -> RatingSet:
    if moods is None:
        return part
    return replace(part, track_va=moods.positions(part.extra["track_ids"], part.track_va))


def within_user_auc(scores: np.ndarray, labels: np.ndarray, users: np.ndarray) -> float | None:
    values = []
    for user in np.unique(users):
        rows = users == user
        if labels[rows].min() != labels[rows].max():
            values.append(auc(scores[rows], labels[rows]))
    return float(np.mean(values)) if values else None


def learn_beside(
    candidate: Reranker, data: RatingSet, arousal_stats: tuple[float, float] | None = None
) -> Learned:
    """Learn track corrections and per-user terms for candidate (trained on all but the newest HELD_OUT
    of data) and attach those that earn their place on the held-out ratings. arousal_stats: the
    catalogue's arousal (mean, sd), for where the engine aims a photo's arousal (track_mood_training)."""
    if "users" not in data.extra or "track_ids" not in data.extra:
        return Learned(metrics={"beside_global": "ratings carry no users or tracks"})
    train, held = data.split_by_time(HELD_OUT)
    if len(held) == 0 or train.labels.min() == train.labels.max():
        return Learned(
            metrics={"beside_global": "the training share needs ups and downs, and a held-out part"}
        )
    strategies = candidate.strategies
    names = feature_names(strategies)
    metrics: dict[str, Any] = {"keep_confidence": GAIN_CONFIDENCE}
    base_scores = candidate.score(held.features(strategies))
    base_auc = auc(base_scores, held.labels)

    moods = learn_track_moods(
        train.extra["track_ids"],
        train.extra["users"],
        train.photo_va,
        train.track_va,
        train.labels,
        arousal_stats,
    )
    metrics["track_moods_learned"] = len(moods)
    kept_moods = None
    if len(moods):
        moved_scores = candidate.score(corrected(held, moods).features(strategies))
        moved_auc = auc(moved_scores, held.labels)
        bound = auc_gain_lower_bound(moved_scores, base_scores, held.labels, held.groups)
        metrics.update(
            track_moods_held_out_auc=round(moved_auc, 4),
            without_track_moods_auc=round(base_auc, 4),
            track_moods_gain_lower_bound=round(bound, 4),
        )
        kept_moods = moods if bound > 0 else None
    metrics["track_moods_kept"] = kept_moods is not None

    train_x = corrected(train, kept_moods).features(strategies)
    held_x = corrected(held, kept_moods).features(strategies)
    spec = calibrate(candidate.raw(train_x), train.labels, train_x, names)
    terms = fit_users(spec, candidate.raw(train_x), train_x, names, train.labels, train.extra["users"])
    metrics["users_with_terms"] = len(terms)
    kept_terms: dict[int, tuple[np.ndarray, int]] = {}
    rows = np.isin(held.extra["users"], list(terms))
    if terms and rows.any():
        users = held.extra["users"][rows]
        raw = candidate.raw(held_x[rows])
        weights = np.stack([terms[int(u)][0] for u in users])
        personal = spec.global_logit(raw) + (spec.inputs(held_x[rows], names) * weights).sum(axis=1)
        labels = held.labels[rows]
        before = within_user_auc(raw, labels, users)
        after = within_user_auc(personal, labels, users)
        if before is not None and after is not None:
            bound = within_user_auc_gain_lower_bound(personal, raw, labels, users, held.groups[rows])
            metrics.update(
                user_terms_within_user_auc=round(after, 4),
                without_user_terms_auc=round(before, 4),
                user_terms_gain_lower_bound=round(bound, 4),
            )
            kept_terms = terms if bound > 0 else {}
    metrics["user_terms_kept"] = bool(kept_terms)
    candidate.track_moods = kept_moods
    candidate.personal = spec if kept_terms else None
    candidate.card.update(metrics)
    return Learned(moods if len(moods) else None, spec, terms, kept_terms, metrics)
