"""A reranker learned from users' ratings (trained by recommender/lab/rerank_training.py, registered and
activated through the model registry): it rescores the engine's top candidates for a photo from the
strategies' scores, the engine's fused score, the photo's mood and the track's mood.

Serving reads a directory holding reranker.json (learner, features, and for logistic regression its
standardisation and coefficients) and, for LightGBM, model.txt. The features are built here, by the same
code at training and serving time.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from .catalogue_index import TrackCatalogue
from .ranking import Ranking
from .track_moods import TrackMoods
from .types import RankedTrack
from .user_terms import PersonalSpec

FORMAT = "photophone-reranker/1"
FILE = "reranker.json"
LIGHTGBM_FILE = "model.txt"
# The engine's candidates the reranker rescores per photo (at least top_k).
POOL = 50
# The reranker's own score is kept beside the strategies' in each item's scores, under this name; training
# never reads it as a strategy.
SCORE_KEY = "reranker"
BASE_FEATURES: tuple[str, ...] = (
    "engine_score",
    "photo_valence",
    "photo_arousal",
    "track_valence",
    "track_arousal",
    "track_has_position",
    "valence_gap",
    "arousal_gap",
    "valence_product",
    "arousal_product",
)


def feature_names(strategies: Sequence[str]) -> list[str]:
    return [*BASE_FEATURES, *strategies, *(f"{s}_present" for s in strategies)]


def feature_matrix(
    strategies: Sequence[str],
    engine_scores: np.ndarray,
    strategy_scores: Mapping[str, np.ndarray],
    photo_va: np.ndarray,
    track_va: np.ndarray,
) -> np.ndarray:
    """(n, d) features. photo_va: (n, 2) or (2,); track_va: (n, 2), NaN where the track has no position;
    a strategy's score is NaN (or absent) where it abstained."""
    n = len(engine_scores)
    photo = np.broadcast_to(np.asarray(photo_va, dtype=np.float64), (n, 2))
    track = np.asarray(track_va, dtype=np.float64).reshape(n, 2)
    positioned = ~np.isnan(track).any(axis=1)
    track = np.where(np.isnan(track), 0.5, track)
    columns = [
        np.asarray(engine_scores, dtype=np.float64),
        photo[:, 0],
        photo[:, 1],
        track[:, 0],
        track[:, 1],
        positioned.astype(np.float64),
        np.abs(photo[:, 0] - track[:, 0]),
        np.abs(photo[:, 1] - track[:, 1]),
        (photo[:, 0] - 0.5) * (track[:, 0] - 0.5),
        (photo[:, 1] - 0.5) * (track[:, 1] - 0.5),
    ]
    scores = [np.asarray(strategy_scores.get(s, np.full(n, np.nan)), dtype=np.float64) for s in strategies]
    columns += [np.nan_to_num(s, nan=0.0) for s in scores]
    columns += [(~np.isnan(s)).astype(np.float64) for s in scores]
    return np.column_stack(columns) if n else np.zeros((0, len(feature_names(strategies))))


@dataclass
class Reranker:
    version: str
    learner: str  # "logistic" or "lambdarank"
    strategies: tuple[str, ...]
    mean: np.ndarray = field(default_factory=lambda: np.zeros(0))
    scale: np.ndarray = field(default_factory=lambda: np.ones(0))
    coef: np.ndarray = field(default_factory=lambda: np.zeros(0))
    intercept: float = 0.0
    booster: Any = None  # lightgbm.Booster for "lambdarank"
    card: dict[str, Any] = field(default_factory=dict)
    # Learned beside the global model in the same run (each kept only if it helped on held-out ratings).
    personal: PersonalSpec | None = None  # how per-user terms add to the score (user_terms.py)
    track_moods: TrackMoods | None = None  # corrections of tracks' positions (track_moods.py)

    def raw(self, features: np.ndarray) -> np.ndarray:
        """Higher is better: log-odds for logistic regression, LightGBM's raw score for LambdaRank."""
        if self.learner == "lambdarank":
            return np.asarray(self.booster.predict(features), dtype=np.float64)
        z = ((features - self.mean) / self.scale) @ self.coef + self.intercept
        return np.asarray(z, dtype=np.float64)

    def score(self, features: np.ndarray) -> np.ndarray:
        """Higher is better. Logistic regression: the probability of a thumbs up."""
        if self.learner == "lambdarank":
            return self.raw(features)
        return np.asarray(1.0 / (1.0 + np.exp(-self.raw(features))), dtype=np.float64)

    def score_for_user(self, features: np.ndarray, user_weights: np.ndarray | None) -> np.ndarray:
        """The score of one user's run: with that user's terms where there are some, else the global one."""
        if self.personal is None or user_weights is None:
            return self.score(features)
        return self.personal.score(self.raw(features), features, feature_names(self.strategies), user_weights)

    def save(self, directory: Path) -> list[str]:
        directory.mkdir(parents=True, exist_ok=True)
        body: dict[str, Any] = {
            "format": FORMAT,
            "version": self.version,
            "learner": self.learner,
            "strategies": list(self.strategies),
            "features": feature_names(self.strategies),
            "card": self.card,
        }
        if self.personal is not None:
            body["personal"] = self.personal.to_json()
        files = [FILE]
        if self.track_moods is not None:
            files.append(self.track_moods.save(directory))
        if self.learner == "lambdarank":
            self.booster.save_model(str(directory / LIGHTGBM_FILE))
            files.append(LIGHTGBM_FILE)
        else:
            body.update(
                mean=self.mean.tolist(),
                scale=self.scale.tolist(),
                coef=self.coef.tolist(),
                intercept=self.intercept,
            )
        (directory / FILE).write_text(json.dumps(body, indent=2))
        return files

    @classmethod
    def load(cls, directory: Path | str) -> Reranker:
        directory = Path(directory)
        body = json.loads((directory / FILE).read_text())
        if body.get("format") != FORMAT:
            raise ValueError(f"{directory / FILE} is not a {FORMAT} file")
        common = {
            "version": body["version"],
            "learner": body["learner"],
            "strategies": tuple(body["strategies"]),
            "personal": PersonalSpec.from_json(body["personal"]) if "personal" in body else None,
            "track_moods": TrackMoods.load(directory),
        }
        if body["learner"] == "lambdarank":
            import lightgbm  # only a LightGBM reranker needs it

            return cls(
                **common,
                booster=lightgbm.Booster(model_file=str(directory / LIGHTGBM_FILE)),
                card=body["card"],
            )
        return cls(
            **common,
            mean=np.asarray(body["mean"]),
            scale=np.asarray(body["scale"]),
            coef=np.asarray(body["coef"]),
            intercept=float(body["intercept"]),
            card=body["card"],
        )


def pool_size(top_k: int) -> int:
    """How many of the engine's tracks to ask for so the reranker has candidates to choose from."""
    return max(top_k, POOL)


def pool_scores(
    ranking: Ranking,
    n: int,
    photo_va: tuple[float, float],
    catalogue: TrackCatalogue,
    reranker: Reranker,
    user_weights: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The reranker's scores of the ranking's first n scored tracks (higher is better), and each one's row
    in the catalogue (-1 where the index no longer holds it). user_weights: the terms of the user whose
    ranking this is (user_terms.py), when they have some."""
    n = min(n, ranking.scored, len(ranking))
    ids = ranking.track_ids[:n]
    rows = catalogue.row_of([int(t) for t in ids])
    track_va = np.full((n, 2), np.nan)
    at = np.array([rows.get(int(t), -1) for t in ids], dtype=np.int64)
    found = at >= 0
    track_va[found] = np.asarray(catalogue.va)[at[found]]
    features = feature_matrix(
        reranker.strategies,
        ranking.scores[:n],
        {name: np.asarray(s[:n]) for name, s in ranking.strategy_scores.items()},
        np.asarray(photo_va),
        track_va,
    )
    return reranker.score_for_user(features, user_weights), at


def rerank(
    ranking: Ranking,
    photo_va: tuple[float, float],
    catalogue: TrackCatalogue,
    reranker: Reranker,
    top_k: int,
    user_weights: np.ndarray | None = None,
) -> list[RankedTrack]:
    """The top_k of the ranking's scored tracks by the reranker's score (kept under SCORE_KEY in each
    track's strategy scores; its score stays the engine's). Tracks with no mood position keep following.
    user_weights: the terms of the user whose run this is (user_terms.py), when they have some."""
    n = min(ranking.scored, len(ranking))
    scores, at = pool_scores(ranking, n, photo_va, catalogue, reranker, user_weights)
    order = _distinct_artists_first(np.argsort(-scores, kind="stable"), at, catalogue, top_k)
    chosen = []
    for i in order:
        entry = ranking[int(i)]
        chosen.append(replace(entry, strategy_scores={**entry.strategy_scores, SCORE_KEY: float(scores[i])}))
    if top_k > n:
        chosen += ranking[n:top_k]
    return chosen


def reordered_head(
    ranking: Ranking,
    head: int,
    photo_va: tuple[float, float],
    catalogue: TrackCatalogue,
    reranker: Reranker,
    user_weights: np.ndarray | None = None,
) -> np.ndarray:
    """The scores of the ranking's scored tracks with its first `head` put in the reranker's order, for a
    caller that ranks by score over a long ranking (a soundtrack's candidates): the head's engine scores,
    sorted, are handed out best first in the reranker's order. So the order within the head is the
    reranker's, as in rerank(), while the scores keep the engine's scale (a soundtrack sums them as fit
    in [0, 1]; a reranker's own scores may be log-odds or unbounded) and the tracks below the head
    still follow it."""
    scores = np.array(ranking.scores[: ranking.scored], dtype=np.float64, copy=True)
    rescored, _ = pool_scores(ranking, head, photo_va, catalogue, reranker, user_weights)
    n = len(rescored)
    scores[np.argsort(-rescored, kind="stable")] = np.sort(scores[:n])[::-1]
    return scores


def _distinct_artists_first(
    order: np.ndarray, rows: np.ndarray, catalogue: TrackCatalogue, k: int
) -> list[int]:
    """The first k of order, no artist twice while the pool allows it (as the engine's own ranking)."""
    chosen: list[int] = []
    seen: set[str] = set()
    later: list[int] = []
    for i in order:
        artist = catalogue.artists[int(rows[i])] if rows[i] >= 0 else ""
        if artist and artist in seen:
            later.append(int(i))
            continue
        seen.add(artist)
        chosen.append(int(i))
        if len(chosen) == k:
            return chosen
    return (chosen + later)[:k]
