"""Learn corrections of tracks' mood positions from the photos they were rated for (served by
recommender/track_moods.py).

For a track at position x rated n times, rating i given for a photo whose mood the engine aimed at p_i
(its valence, and its arousal aligned to the catalogue's spread: pipeline.aligned_arousal, the point
va_match compares tracks with), s_i = +1 for a thumbs up, -1 for a thumbs down:

    shift = RATE * sum_i s_i * w_i * (p_i - x) / (n + PRIOR),   then bounded to MAX_SHIFT per axis

A like pulls the track toward the photo's mood; a dislike pushes it away, weighted by how close that
photo was (w_i = exp(-d^2 / 2 DISLIKE_WIDTH^2): a track disliked for a photo of a far-off mood says
little about where it sits; likes have w_i = 1). PRIOR shrinks tracks with few ratings toward no move.
Only tracks with at least MIN_RATINGS ratings from at least MIN_RATERS different users move, so a
correction is always an aggregate over several people, never one user's taste. Corrections are learned
from the tracks' base positions (the catalogue's), so they never compound across versions.
"""

from __future__ import annotations

import numpy as np

from recommender.pipeline import aligned_arousal
from recommender.track_moods import TrackMoods

RATE = 0.5
PRIOR = 10.0
MAX_SHIFT = 0.15
MIN_RATINGS = 10
MIN_RATERS = 3
DISLIKE_WIDTH = 0.25


def learn_track_moods(
    track_ids: np.ndarray,
    users: np.ndarray,
    photo_va: np.ndarray,
    track_va: np.ndarray,
    labels: np.ndarray,
    arousal_stats: tuple[float, float] | None = None,
) -> TrackMoods:
    """One row per rating; track_va is the rated track's base position (NaN rows are skipped);
    arousal_stats: the catalogue's arousal (mean, sd), as TrackCatalogue.arousal_stats."""
    track_ids = np.asarray(track_ids, dtype=np.int64)
    photo_va = np.array(photo_va, dtype=np.float64).reshape(-1, 2)
    photo_va[:, 1] = aligned_arousal(photo_va[:, 1], arousal_stats)
    track_va = np.asarray(track_va, dtype=np.float64).reshape(-1, 2)
    positioned = ~np.isnan(track_va).any(axis=1)
    sign = np.where(np.asarray(labels) > 0, 1.0, -1.0)
    gap = photo_va - track_va
    weight = np.where(sign > 0, 1.0, np.exp(-(gap**2).sum(axis=1) / (2 * DISLIKE_WIDTH**2)))
    pull = (sign * weight)[:, None] * gap
    shifts: dict[int, tuple[float, float]] = {}
    for track in np.unique(track_ids[positioned]):
        rows = positioned & (track_ids == track)
        n = int(rows.sum())
        if n < MIN_RATINGS or len(np.unique(np.asarray(users)[rows])) < MIN_RATERS:
            continue
        shift = np.clip(RATE * pull[rows].sum(axis=0) / (n + PRIOR), -MAX_SHIFT, MAX_SHIFT)
        shifts[int(track)] = (float(shift[0]), float(shift[1]))
    return TrackMoods(shifts)
