"""The feedback simulator's hidden truth (feedback_simulator.py): photos' human moods, tracks' true
positions (the catalogue's label plus an offset the engine cannot see), users' tastes, and the photos the
ratings came from in the offline evaluation's form (the gate's "seen" check)."""

from __future__ import annotations

import numpy as np

from recommender.lab.datasets import quadrants
from recommender.lab.evaluation.relevance import median_split
from recommender.lab.rerank_offline import OfflineEval
from recommender.lab.simulator_data import EngineOutputs
from recommender.reranker import POOL

USERS = 50
STRONG_USERS = 10  # users 0..9
TASTE_SD = 0.1
TRUTHS = ("median", "midpoint")


class World:
    """Photos' human moods, tracks' true positions, users' tastes. truth "median" splits photos and tracks
    each at their own median, as the offline evaluation's fixed relevance does (evaluation/relevance.py);
    "midpoint" splits both at 0.5."""

    def __init__(
        self,
        photo_va: np.ndarray,
        labels: dict[int, tuple[float, float]],
        offset_sd: float,
        seed: int,
        truth: str = "median",
    ):
        rng = np.random.default_rng(seed + 1)
        ids = sorted(labels)
        offsets = rng.normal(0, offset_sd, (len(ids), 2)) if offset_sd > 0 else np.zeros((len(ids), 2))
        self.track_va = {t: np.clip(np.array(labels[t]) + o, 0, 1) for t, o in zip(ids, offsets, strict=True)}
        median = truth == "median"
        self.photo_split = median_split(photo_va) if median else (0.5, 0.5)
        self.track_split = median_split(np.array(list(self.track_va.values()))) if median else (0.5, 0.5)
        self.photo_va = photo_va
        self.photo_quadrant = quadrants(photo_va[:, 0], photo_va[:, 1], self.photo_split)
        self.photo_pleasant = photo_va[:, 0] >= self.photo_split[0]
        self.valence_taste = rng.normal(0, TASTE_SD, USERS)
        # +1: wants energetic music, -1: calm, whatever the photo; 0: no such taste.
        self.arousal_taste = np.zeros(USERS)
        self.arousal_taste[:STRONG_USERS] = rng.choice([-1.0, 1.0], STRONG_USERS)

    def track_quadrant(self, va: np.ndarray) -> int:
        return int(quadrants(va[0], va[1], self.track_split))

    def fits(self, photo: int, track: int, user: int | None = None) -> bool:
        v, a = self.track_va[track]
        if user is None:
            return bool(self.photo_quadrant[photo] == quadrants(v, a, self.track_split))
        v += self.valence_taste[user]
        if self.arousal_taste[user]:
            pleasant = v >= self.track_split[0]
            energetic = a >= self.track_split[1]
            return bool(
                pleasant == self.photo_pleasant[photo] and energetic == (self.arousal_taste[user] > 0)
            )
        return bool(self.photo_quadrant[photo] == quadrants(v, a, self.track_split))

    def distance_to_truth(self, positions: dict[int, np.ndarray]) -> float:
        return round(float(np.mean([np.hypot(*(positions[t] - self.track_va[t])) for t in positions])), 4)

    def true_quadrant_share(self, positions: dict[int, np.ndarray]) -> float:
        same = [self.track_quadrant(positions[t]) == self.track_quadrant(self.track_va[t]) for t in positions]
        return round(float(np.mean(same)), 4)


def seen_photos_check(out: EngineOutputs, world: World, seen: np.ndarray, themes: list[str]) -> OfflineEval:
    """The hidden truth (no taste) of the photos the ratings came from (their truth, not their ratings), in
    the offline evaluation's form: the engine's top POOL of each."""
    cat, rankings = out.catalogue, out.rankings
    ids = [[int(t) for t in rankings[p].track_ids[:POOL]] for p in seen]
    names = tuple(sorted(rankings[0].strategy_scores))
    return OfflineEval(
        names,
        np.stack([rankings[p].scores[:POOL] for p in seen]),
        {k: np.stack([rankings[p].strategy_scores[k][:POOL] for p in seen]) for k in names},
        np.array([out.analyses[p].va for p in seen]),
        world.photo_va[seen],
        np.array([[cat.va[cat.row_of([t])[t]] for t in row] for row in ids], dtype=np.float64),
        np.array([[world.fits(int(p), t) for t in row] for p, row in zip(seen, ids, strict=True)]),
        np.array([sum(world.fits(int(p), t) for t in world.track_va) for p in seen]),
        world.photo_quadrant[seen],
        np.array([themes[p] for p in seen]),
    )
