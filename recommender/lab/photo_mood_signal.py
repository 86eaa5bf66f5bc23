"""Signal for the mood head from ratings (issue 9, section 3: "where ratings say something about the photo"),
measured in the feedback simulator on photos the retraining never saw. Lab only: nothing here is served.

A rating says something about its photo: a thumbs up for a track at t is evidence that the photo's mood is
near t, a thumbs down that it is away from t (weighted by how close t was, as track_mood_training does
from the track's side). Per rated photo the shrunk mean pull is a target shift of the mood as read:

    shift_p = RATE * sum_i s_i * w_i * (t_i - read_p) / (n_p + PRIOR)     (arousal compared on the
                                                                          catalogue's spread)

A ridge from the photo's encoder embedding to that shift carries it to photos nobody rated: the corrected
reading is read + ridge(embedding), at most MAX_SHIFT per axis. That is the mood head's correction.

It is judged as the gate judges a reranker: fitted on the ratings of photos of some themes, it must raise
the reranker's AUC on the ratings of photos of other themes (never seen by the fit) with the gate's 95%
confidence (rerank_training.auc_gain_lower_bound, whole runs resampled); otherwise it is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from recommender.lab.rerank_training import GAIN_CONFIDENCE, RatingSet, auc, auc_gain_lower_bound
from recommender.mood import PHOTO_AROUSAL_SD
from recommender.pipeline import aligned_arousal

RATE = 1.0
PRIOR = 5.0
MAX_SHIFT = 0.15
DISLIKE_WIDTH = 0.25
RIDGE_ALPHAS = np.logspace(0, 6, 13)  # on standardised embeddings, chosen by RidgeCV's leave-one-out
CHECK_SHARE = 0.25  # of the rated photos' themes, kept out of the fit to judge it


@dataclass
class MoodCorrection:
    """read mood + ridge(embedding), bounded; arousal shifts are on the photo reading's own (narrow) scale."""

    mean: np.ndarray
    coef: np.ndarray  # (d, 2)
    intercept: np.ndarray  # (2,)

    def shifts(self, embeddings: np.ndarray) -> np.ndarray:
        out = (np.asarray(embeddings, dtype=np.float64) - self.mean) @ self.coef + self.intercept
        return np.asarray(np.clip(out, -MAX_SHIFT, MAX_SHIFT))

    def apply(self, read_va: np.ndarray, embeddings: np.ndarray) -> np.ndarray:
        return np.asarray(np.clip(np.asarray(read_va, dtype=np.float64) + self.shifts(embeddings), 0.0, 1.0))


def photo_shifts(
    photos: np.ndarray,
    photo_va: np.ndarray,
    track_va: np.ndarray,
    labels: np.ndarray,
    arousal_stats: tuple[float, float] | None,
) -> tuple[np.ndarray, np.ndarray]:
    """(rated photo ids, their target shifts (m, 2)) from one row per rating; photo_va is the reading."""
    photos = np.asarray(photos)
    read = np.array(photo_va, dtype=np.float64).reshape(-1, 2)
    read[:, 1] = aligned_arousal(read[:, 1], arousal_stats)
    track = np.asarray(track_va, dtype=np.float64).reshape(-1, 2)
    ok = np.asarray(~np.isnan(track).any(axis=1))
    sign = np.where(np.asarray(labels) > 0, 1.0, -1.0)
    gap = track - read
    weight = np.where(sign > 0, 1.0, np.exp(-(gap**2).sum(axis=1) / (2 * DISLIKE_WIDTH**2)))
    pull = np.where(ok[:, None], (sign * weight)[:, None] * np.nan_to_num(gap), 0.0)
    ids, at = np.unique(photos, return_inverse=True)
    sums = np.stack([np.bincount(at, pull[:, k], minlength=len(ids)) for k in range(2)], axis=1)
    counts = np.bincount(at, ok.astype(np.float64), minlength=len(ids))
    shifts = RATE * sums / (counts + PRIOR)[:, None]
    if arousal_stats is not None and arousal_stats[1] > 1e-6:  # back to the reading's arousal scale
        shifts[:, 1] *= PHOTO_AROUSAL_SD / arousal_stats[1]
    return ids, shifts


def fit_correction(embeddings: np.ndarray, shifts: np.ndarray) -> MoodCorrection:
    """A ridge from standardised embeddings to the shifts, its penalty chosen by leave-one-out (rated
    photos of one theme may be near-duplicates, so that choice can be optimistic: the judging on other
    themes is what counts)."""
    from sklearn.linear_model import RidgeCV

    x = np.asarray(embeddings, dtype=np.float64)
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    model = RidgeCV(alphas=RIDGE_ALPHAS).fit((x - mean) / scale, shifts)
    return MoodCorrection(mean, np.asarray(model.coef_).T / scale[:, None], np.asarray(model.intercept_))


@dataclass
class Judged:
    correction: MoodCorrection | None  # fitted on every rated photo (for measures; serve it only if kept)
    kept: bool
    metrics: dict[str, Any]


def learn_and_judge(
    data: RatingSet,
    score: Callable[[RatingSet], np.ndarray],
    embeddings: np.ndarray,
    themes: np.ndarray,
    arousal_stats: tuple[float, float] | None,
    seed: int = 0,
) -> Judged:
    """data.extra["photos"]: each rating's photo (an index into embeddings and themes); score: the
    reranker's scores of a RatingSet. Fitted on the photos of (1 - CHECK_SHARE) of the rated themes, judged
    on the ratings of the others' photos; then refitted on all of them."""
    photos = np.asarray(data.extra["photos"])
    rated_themes = np.unique(themes[photos])
    rng = np.random.default_rng(seed)
    check_themes = rng.permutation(rated_themes)[: max(1, round(len(rated_themes) * CHECK_SHARE))]
    in_check = np.isin(themes[photos], check_themes)
    fit_rows, check_rows = np.flatnonzero(~in_check), np.flatnonzero(in_check)
    metrics: dict[str, Any] = {"keep_confidence": GAIN_CONFIDENCE, "check_ratings": len(check_rows)}
    if len(fit_rows) == 0 or len(check_rows) == 0:
        return Judged(None, False, metrics | {"why": "too few rated themes"})

    def fitted(rows: np.ndarray) -> MoodCorrection:
        ids, shifts = photo_shifts(
            photos[rows], data.photo_va[rows], data.track_va[rows], data.labels[rows], arousal_stats
        )
        return fit_correction(embeddings[ids], shifts)

    correction = fitted(fit_rows)
    check = data.take(check_rows)
    moved = replace(check, photo_va=correction.apply(check.photo_va, embeddings[photos[check_rows]]))
    base_scores, moved_scores = score(check), score(moved)
    bound = auc_gain_lower_bound(moved_scores, base_scores, check.labels, check.groups)
    kept = bound > 0
    metrics.update(
        check_auc=round(auc(moved_scores, check.labels), 4),
        check_auc_without=round(auc(base_scores, check.labels), 4),
        gain_lower_bound=round(bound, 4),
        kept=kept,
    )
    return Judged(fitted(np.arange(len(photos))), kept, metrics)
