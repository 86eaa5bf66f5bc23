"""Personalisation from one user's ratings.

- A track whose latest rating is -1 is excluded entirely.
- A track whose latest rating is +1 gets a boost of LIKE_BOOST * S, where S is how close the current
  photo's mood is to the mood of the photo it was liked for (best over its likes): a Gaussian of their
  distance, exp(-d^2 / (2 MOOD_WIDTH^2)), with arousal spread to the words scale first (photo arousal
  lives in a narrow band: on the raw scale a sad and an angry photo look close). Liked for a similar
  photo -> the full boost; liked for a photo of another mood (sad vs angry, calm vs tense: d >= 0.3)
  -> almost none, so a track liked for calm photos does not top the list for an angry one.
- Other tracks close in V/A to a liked track get a small boost, NEIGHBOUR_BOOST * S_photo * S_track,
  when S_track >= NEIGHBOUR_MIN (liked music of that mood suggests more of it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .catalogue_index import TrackCatalogue
from .describe import photo_arousal_for_words
from .types import FeedbackItem

LIKE_BOOST = 0.25
NEIGHBOUR_BOOST = 0.05
NEIGHBOUR_MIN = 0.9
SIMILAR_MOOD = 0.75
MOOD_WIDTH = 0.12


def mood_similarity(photo_va: tuple[float, float], liked_for: np.ndarray) -> np.ndarray:
    """(m,) similarity in [0, 1] of the current photo's mood to each mood in liked_for (m, 2)."""

    def spread(va: np.ndarray) -> np.ndarray:
        va = np.atleast_2d(np.asarray(va, dtype=np.float64))
        return np.stack([va[:, 0], [photo_arousal_for_words(float(a)) for a in va[:, 1]]], axis=1)

    d2 = ((spread(liked_for) - spread(np.array(photo_va))) ** 2).sum(axis=1)
    return np.exp(-d2 / (2 * MOOD_WIDTH**2))


@dataclass
class Ratings:
    liked: dict[int, list[tuple[float, float]]]  # track id -> moods of the photos it was liked for
    disliked: set[int]

    @classmethod
    def from_feedback(cls, feedback: Sequence[FeedbackItem]) -> Ratings:
        """Feedback is in time order; a track's latest rating wins."""
        latest: dict[int, int] = {}
        moods: dict[int, list[tuple[float, float]]] = {}
        for item in feedback:
            latest[item.track_id] = item.rating
            if item.rating > 0:
                moods.setdefault(item.track_id, []).append((item.photo_valence, item.photo_arousal))
        liked = {t: moods[t] for t, r in latest.items() if r > 0}
        return cls(liked=liked, disliked={t for t, r in latest.items() if r < 0})


@dataclass
class Personalised:
    keep: np.ndarray  # (n,) bool: False for disliked tracks
    boost: np.ndarray  # (n,) added to the fused score
    photo_sim: np.ndarray  # (n,) for liked tracks: mood match with the photo they were liked for; else NaN
    near: np.ndarray  # (n,) bool: close in mood to a liked track (and not liked itself)

    def reasons_for(self, positions: np.ndarray) -> list[list[str]]:
        out: list[list[str]] = []
        for s, near in zip(self.photo_sim[positions], self.near[positions], strict=True):
            reasons = []
            if s >= SIMILAR_MOOD:
                reasons.append(f"you liked this for a photo of similar mood (mood match {s:.2f})")
            elif s >= 0.05:
                reasons.append("you liked this before, for a photo of another mood")
            if near:
                reasons.append("close in mood to tracks you liked")
            out.append(reasons)
        return out


def personalise(
    ratings: Ratings,
    photo_va: tuple[float, float],
    catalogue: TrackCatalogue,
    candidate_idx: np.ndarray,
) -> Personalised:
    n = len(candidate_idx)
    ids = np.asarray(catalogue.track_ids)[candidate_idx]
    keep = ~np.isin(ids, np.fromiter(ratings.disliked, np.int64, len(ratings.disliked)))
    boost = np.zeros(n)
    photo_sim = np.full(n, np.nan)
    near = np.zeros(n, dtype=bool)
    if not ratings.liked:
        return Personalised(keep, boost, photo_sim, near)

    # How similar the current photo is to the photo each liked track was liked for (best of its likes).
    sim_of = {
        t: float(mood_similarity(photo_va, np.array(moods)).max()) for t, moods in ratings.liked.items()
    }
    liked_ids = np.fromiter(sim_of, np.int64, len(sim_of))
    is_liked = np.isin(ids, liked_ids)
    for i in np.flatnonzero(is_liked):
        photo_sim[i] = sim_of[int(ids[i])]
    boost[is_liked] += LIKE_BOOST * photo_sim[is_liked]

    # Neighbours of liked tracks in V/A space.
    rows = catalogue.row_of(list(ratings.liked))
    liked_rows = [r for r in rows.values() if catalogue.has_position[r]]
    if liked_rows:
        liked_va = np.asarray(catalogue.va)[liked_rows]  # (m, 2)
        weights = np.array([sim_of[int(catalogue.track_ids[r])] for r in liked_rows])
        cand_va = np.asarray(catalogue.va)[candidate_idx]  # (n, 2)
        dist = np.sqrt(((cand_va[:, None, :] - liked_va[None, :, :]) ** 2).sum(-1))
        track_sim = np.nan_to_num(1.0 - dist, nan=0.0)  # (n, m)
        closeness = np.where(track_sim >= NEIGHBOUR_MIN, track_sim * weights[None, :], 0.0).max(axis=1)
        near = (closeness > 0) & ~is_liked
        boost[near] += NEIGHBOUR_BOOST * closeness[near]
    return Personalised(keep, boost, photo_sim, near)
