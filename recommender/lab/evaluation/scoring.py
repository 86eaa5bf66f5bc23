"""Scoring photo sets against a catalogue, per strategy and per fusion configuration, and measuring them.

Raw scores: every available strategy scores the WHOLE catalogue for every photo once (the target V/A is
the one Engine.recommend uses in "match" mode); a configuration is then a fusion of those score matrices,
ranked by fused score (ties: lower catalogue row first, as the engine does). This is what the tables
show. "As served" runs Engine.recommend(top_k = catalogue size) instead, with its artist diversity (no
artist twice while unseen artists remain), which reorders the list; it is reported for the default fusion.

A relevance may rank only some tracks (playlist mood: the tracks with a weak label); its metrics, chance
and served rankings then see the catalogue with the other tracks removed, order otherwise unchanged.
"""

from __future__ import annotations

import sys
import time
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from recommender.catalogue_index import TrackCatalogue, TrackRepresentation
from recommender.fusion import RRF_K
from recommender.pipeline import Engine, EngineConfig, align_arousal
from recommender.strategies import STRATEGIES, NeedsTrackVectors, Strategy
from recommender.strategies.feature_prediction import FeaturePrediction
from recommender.strategies.joint_embedding import JointEmbedding
from recommender.types import PhotoAnalysis, TrackRow

from .metrics import chance_per_photo, macro, per_photo, ranked_relevance
from .relevance import Relevance, build_relevances


@dataclass
class StrategySet:
    available: dict[str, Strategy]
    skipped: dict[str, str] = field(default_factory=dict)  # name -> why

    def skip(self, name: str, exc: BaseException) -> None:
        self.available.pop(name, None)
        self.skipped[name] = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
        print(f"skipping strategy {name}: {self.skipped[name]}", file=sys.stderr)


def make_strategy(name: str, heads: Path | None = None) -> Strategy:
    """The registered strategy; the two learned-heads strategies read the heads artifact at `heads`
    when given (default: their shipped artifact)."""
    if heads is not None and name == FeaturePrediction.name:
        return FeaturePrediction(heads)
    if heads is not None and name == JointEmbedding.name:
        return JointEmbedding(heads)
    return STRATEGIES[name]()


def load_strategies(names: Sequence[str] | None = None, heads: Path | None = None) -> StrategySet:
    """Instantiate the named (default: every registered) strategies; those that fail are skipped.
    heads: the heads artifact directory for feature_prediction and joint_embedding."""
    out = StrategySet({})
    for name in names or list(STRATEGIES):
        if name not in STRATEGIES:
            out.skipped[name] = f"not registered (known: {', '.join(STRATEGIES)})"
            continue
        try:
            out.available[name] = make_strategy(name, heads)
        except Exception as exc:  # a missing artifact must not stop the evaluation
            out.skip(name, exc)
    return out


def build_catalogue(rows: Sequence[TrackRow], strategies: StrategySet, version: str) -> TrackCatalogue:
    """The catalogue with every available strategy's track vectors; a strategy whose vectors fail is
    skipped."""
    matrices: dict[str, np.ndarray] = {}
    for name, strategy in list(strategies.available.items()):
        if not isinstance(strategy, NeedsTrackVectors):
            continue
        try:
            found = {key: compute(rows) for key, compute in strategy.track_representations().items()}
        except Exception as exc:
            strategies.skip(name, exc)
            continue
        matrices.update(found)
    return TrackCatalogue.build(
        rows, version, representations={k: precomputed(m) for k, m in matrices.items()}
    )


def precomputed(matrix: np.ndarray) -> TrackRepresentation:
    """A track representation that returns vectors already computed (once, with errors caught)."""
    return lambda _rows: matrix


def target_of(photo: PhotoAnalysis, catalogue: TrackCatalogue, config: EngineConfig) -> tuple[float, float]:
    """The V/A Engine.recommend aims for in "match" mode."""
    if config.align_arousal:
        return photo.valence, align_arousal(photo.arousal, catalogue)
    return photo.va


def score_matrices(
    photos: Sequence[PhotoAnalysis],
    catalogue: TrackCatalogue,
    strategies: StrategySet,
    config: EngineConfig,
) -> dict[str, np.ndarray]:
    """name -> (n_photos, n_tracks) scores over the whole catalogue; failing strategies are skipped."""
    rows = np.arange(len(catalogue), dtype=np.int64)
    out: dict[str, np.ndarray] = {}
    for name, strategy in list(strategies.available.items()):
        matrix = np.zeros((len(photos), len(catalogue)))
        t0 = time.perf_counter()
        try:
            for i, photo in enumerate(photos):
                result = strategy.score(photo, target_of(photo, catalogue, config), catalogue, rows)
                # NaN where the strategy abstains (cannot see the track): the fusions leave it out there.
                matrix[i] = result.shown_scores()
        except Exception as exc:
            traceback.print_exc(file=sys.stderr)
            strategies.skip(name, exc)
            continue
        print(
            f"scored {name}: {len(photos)} photos x {len(catalogue)} tracks "
            f"in {time.perf_counter() - t0:.1f} s",
            file=sys.stderr,
        )
        out[name] = matrix
    return out


# --- fusion over score matrices (batch form of fusion.WeightedSum / ReciprocalRankFusion) ----------------


def rank_matrix(scores: np.ndarray) -> np.ndarray:
    """Row-wise 1-based competition ranks (best first; ties share the better rank), as fusion.ranks."""
    order = np.argsort(-scores, axis=1, kind="stable")
    ordered = np.take_along_axis(scores, order, axis=1)
    n = scores.shape[1]
    new_value = np.ones_like(ordered, dtype=bool)
    new_value[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    first = np.maximum.accumulate(np.where(new_value, np.arange(n)[None, :], 0), axis=1)
    out = np.empty_like(order)
    np.put_along_axis(out, order, first + 1, axis=1)
    return out


class FusedScores:
    """Caches per-strategy rank matrices so many RRF weightings stay cheap."""

    def __init__(self, scores: Mapping[str, np.ndarray]) -> None:
        self.scores = scores
        self._ranks: dict[str, np.ndarray] = {}

    def fuse(self, kind: str, weights: Mapping[str, float]) -> np.ndarray:
        used = {n: w for n, w in weights.items() if w > 0 and n in self.scores}
        if not used:
            raise ValueError(f"no strategy with a positive weight among {dict(weights)}")
        fused = np.zeros_like(next(iter(self.scores.values())))
        total = np.zeros_like(fused)
        for name, w in used.items():
            seen = ~np.isnan(self.scores[name])  # a strategy abstains where it cannot see the track
            if kind == "weighted":
                fused += np.where(seen, w * self.scores[name], 0.0)
                total += w * seen
            elif kind == "rrf":
                if name not in self._ranks:
                    self._ranks[name] = rank_matrix(np.where(seen, self.scores[name], -np.inf))
                fused += np.where(seen, w / (RRF_K + self._ranks[name]), 0.0)
                total += np.where(seen, w / (RRF_K + 1), 0.0)
            else:
                raise ValueError(f"unknown fusion {kind!r}")
        return np.divide(fused, total, out=np.zeros_like(fused), where=total > 0)


# --- configurations and metrics -----------------------------------------------------------------------


@dataclass(frozen=True)
class Configuration:
    label: str
    kind: str  # "weighted" or "rrf"
    weights: tuple[tuple[str, float], ...]

    def weight_map(self) -> dict[str, float]:
        return dict(self.weights)

    def describe(self) -> str:
        parts = ", ".join(f"{n} {w:g}" for n, w in self.weights if w > 0)
        return f"{self.kind}: {parts}"


@dataclass
class Judged:
    """Macro metrics for one ranking of a photo set, per relevance definition."""

    metrics: dict[str, dict[str, float]]  # relevance -> metric -> value


def judge(scores: np.ndarray, relevances: Mapping[str, Relevance], keep: Mapping[str, np.ndarray]) -> Judged:
    out: dict[str, dict[str, float]] = {}
    for name, rel in relevances.items():
        mask, cols = keep[name], rel.participating
        ranked = ranked_relevance(scores[mask][:, cols], rel.matrix()[mask][:, cols])
        out[name] = macro(per_photo(ranked, rel.relevant_counts()[mask]), rel.photo_class[mask])
    return Judged(out)


def judge_orders(
    orders: np.ndarray, relevances: Mapping[str, Relevance], keep: Mapping[str, np.ndarray]
) -> Judged:
    """Like judge, for given rankings (n_photos, n_tracks) of catalogue rows, best first."""
    out: dict[str, dict[str, float]] = {}
    for name, rel in relevances.items():
        mask = keep[name]
        rows = orders[mask]
        # Drop the tracks this relevance does not rank; every row keeps the same number of them.
        rows = rows[rel.participating[rows]].reshape(len(rows), rel.n_tracks)
        ranked = np.take_along_axis(rel.matrix()[mask], rows, axis=1)
        out[name] = macro(per_photo(ranked, rel.relevant_counts()[mask]), rel.photo_class[mask])
    return Judged(out)


def chance(relevances: Mapping[str, Relevance], keep: Mapping[str, np.ndarray]) -> Judged:
    out: dict[str, dict[str, float]] = {}
    for name, rel in relevances.items():
        mask = keep[name]
        out[name] = macro(chance_per_photo(rel.n_tracks, rel.relevant_counts()[mask]), rel.photo_class[mask])
    return Judged(out)


@dataclass
class Split:
    """One photo set against one catalogue, with its relevance labels and cached strategy scores."""

    catalogue: TrackCatalogue
    relevances: dict[str, Relevance]
    keep: dict[str, np.ndarray]  # relevance -> photos whose class has at least one relevant track
    predicted: FusedScores
    oracle: FusedScores | None


def prepare(
    photos: Sequence[PhotoAnalysis],
    oracle_photos: Sequence[PhotoAnalysis] | None,
    human_va: np.ndarray,
    human_emotions: np.ndarray,
    catalogue: TrackCatalogue,
    strategies: StrategySet,
    config: EngineConfig,
    track_moods: Mapping[int, int] | None = None,
) -> Split:
    """track_moods: track id -> weak playlist quadrant, for the playlist-mood relevance."""
    track_va = np.asarray(catalogue.va, dtype=np.float64)
    moods = track_moods or {}
    weak = np.array([moods.get(int(t), -1) for t in catalogue.track_ids], dtype=np.int64)
    relevances = build_relevances(
        human_va, human_emotions, track_va, np.asarray(catalogue.music_emotions), weak
    )
    keep = {name: rel.relevant_counts() > 0 for name, rel in relevances.items()}
    predicted = FusedScores(score_matrices(photos, catalogue, strategies, config))
    oracle = None
    if oracle_photos is not None:
        oracle_scores = score_matrices(oracle_photos, catalogue, strategies, config)
        predicted = FusedScores({n: m for n, m in predicted.scores.items() if n in oracle_scores})
        oracle = FusedScores(oracle_scores)
    return Split(catalogue, relevances, keep, predicted, oracle)


def served_orders(engine: Engine, photos: Sequence[PhotoAnalysis], catalogue: TrackCatalogue) -> np.ndarray:
    """Engine.recommend over the whole catalogue for each photo, as catalogue rows (n_photos, n_tracks)."""
    out = np.zeros((len(photos), len(catalogue)), dtype=np.int64)
    for i, photo in enumerate(photos):
        ids = engine.recommend(photo, catalogue, top_k=len(catalogue)).track_ids  # no reasons needed
        lookup = catalogue.row_of(ids.tolist())
        out[i] = [lookup[int(t)] for t in ids]
    return out
