"""A search whose finds cannot count is skipped only when the result is provably the same: with the shipped
weights on a catalogue with audio features (va_match alone weighted, joint_embedding at 0) the engine
ranks the V/A neighbours first and makes the joint scan only when a track it could add might still
reach the first top_k (Engine._search_and_rank). Here every request is compared with the same request
with every search made."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.catalogue_index import TrackCatalogue
from recommender.config import EngineConfig
from recommender.personalise import NEIGHBOUR_BOOST, Ratings
from recommender.pipeline import Engine
from recommender.strategies.joint_embedding import VECTORS, JointEmbedding
from recommender.strategies.va_match import imuse_similarity
from recommender.types import FeedbackItem, TrackRow

from .helpers import grid_rows, make_photo


def joint_catalogue(rows: list[TrackRow], seed: int = 1) -> TrackCatalogue:
    catalogue = TrackCatalogue.build(rows, version=f"lean-{len(rows)}")
    vectors = np.random.default_rng(seed).standard_normal((len(rows), 128)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    vectors[::17] = 0.0  # tracks the projection cannot see
    catalogue.vectors[VECTORS] = vectors
    return catalogue


def shipped_engine(**overrides: object) -> Engine:
    # The shipped default weights as the engine picks them for a catalogue with audio features.
    config = EngineConfig(adapt_weights=False, candidate_pool=60, faces=False, **overrides)  # type: ignore[arg-type]
    assert dict(config.fusion_weights) == {"va_match": 1.0, "joint_embedding": 0.0}
    return Engine(config)


def count_scans(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The engine's joint-embedding searches, one entry each."""
    joint = next(s for s in engine.strategies if isinstance(s, JointEmbedding))
    scans: list[int] = []

    def counted(*args: object, **kwargs: object) -> np.ndarray:
        scans.append(1)
        return JointEmbedding.candidates(joint, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(joint, "candidates", counted)
    return scans


def every_search(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Engine:
    """The same engine, searching with every strategy (the ranking before the lean search)."""
    full = Engine(engine.config, strategies=engine.strategies)
    monkeypatch.setattr(full, "_idle_proposers", lambda catalogue: [])
    return full


def requests(seed: int, n: int, track_ids: list[int]) -> list[dict[str, object]]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        photo = make_photo(*rng.uniform(0, 1, 2))
        photo.embedding = rng.standard_normal(JointEmbedding().model.embedding_dim).astype(np.float32)
        feedback = []
        if i % 3 == 1:  # likes and dislikes: boosts, and tracks left out
            for track in rng.choice(track_ids, 6, replace=False):
                va = rng.uniform(0, 1, 2)
                feedback.append(FeedbackItem(int(track), int(rng.choice([1, -1])), va[0], va[1]))
        out.append(
            {
                "photo": photo,
                "top_k": int(rng.choice([1, 5, 10, 30])),
                "feedback": feedback,
                "mode": "lift" if i % 4 == 3 else "match",
            }
        )
    return out


def test_the_lean_search_ranks_as_every_search_does(monkeypatch: pytest.MonkeyPatch) -> None:
    catalogue = joint_catalogue(grid_rows(n_artists=400, per_artist=3))
    engine = shipped_engine()
    full = every_search(engine, monkeypatch)
    scans = count_scans(engine, monkeypatch)
    cases = requests(11, 60, [int(t) for t in catalogue.track_ids])
    for case in cases:
        lean = engine.recommend(catalogue=catalogue, **case)  # type: ignore[arg-type]
        lean_scans = len(scans)
        expected = full.recommend(catalogue=catalogue, **case)  # type: ignore[arg-type]
        assert len(scans) == lean_scans + 1  # every search does scan
        assert np.array_equal(lean.track_ids, expected.track_ids)
        assert np.array_equal(lean.scores, expected.scores)
        assert list(lean) == list(expected)  # strategy scores and reasons too
    assert len(lean) > 0
    skipped = 2 * len(cases) - len(scans)
    assert skipped >= len(cases) // 2  # the scan is skipped for most requests


def test_the_scan_is_made_when_its_finds_could_reach_the_head(monkeypatch: pytest.MonkeyPatch) -> None:
    # Three artists over 300 tracks: the V/A neighbours cannot give ten distinct artists, so the first
    # ten may take tracks only the joint search finds.
    rows = grid_rows(n_artists=3, per_artist=100)
    catalogue = joint_catalogue(rows)
    engine = shipped_engine()
    full = every_search(engine, monkeypatch)
    scans = count_scans(engine, monkeypatch)
    for case in requests(5, 10, [int(t) for t in catalogue.track_ids]):
        case["top_k"] = 10
        before = len(scans)
        lean = engine.recommend(catalogue=catalogue, **case)  # type: ignore[arg-type]
        assert len(scans) > before
        assert list(lean) == list(full.recommend(catalogue=catalogue, **case))  # type: ignore[arg-type]


def test_a_weighted_proposer_always_searches(monkeypatch: pytest.MonkeyPatch) -> None:
    engine = Engine(
        EngineConfig(adapt_weights=False, fusion_weights=(("va_match", 0.9), ("joint_embedding", 0.1)))
    )
    catalogue = joint_catalogue(grid_rows(n_artists=400, per_artist=3))
    assert engine._idle_proposers(catalogue) == []
    assert [s.name for s in shipped_engine()._idle_proposers(catalogue)] == ["joint_embedding"]  # type: ignore[attr-defined]
    rrf = shipped_engine(fusion="rrf")  # ranks depend on every candidate: nothing is skipped
    assert rrf._idle_proposers(catalogue) == []


def test_the_head_must_beat_what_a_track_outside_the_neighbours_could_score() -> None:
    catalogue = joint_catalogue(grid_rows(n_artists=400, per_artist=3))
    target = (0.4, 0.6)
    neighbours = catalogue.candidates(target, 50)
    farthest = float(imuse_similarity(target, np.asarray(catalogue.va)[neighbours]).min())
    # candidates: the neighbours, in row order; the head: ten of distinct artists (grid artists have 3
    # consecutive ids), whose lowest total is set around the bound
    candidates = np.sort(neighbours)
    by_artist: dict[int, int] = {}
    for position, row in enumerate(candidates):
        by_artist.setdefault((int(catalogue.track_ids[row]) - 1) // 3, position)
    head = np.array(list(by_artist.values())[:10])
    assert len(head) == 10

    def settled(lowest: float, ratings: Ratings) -> bool:
        total = np.ones(len(candidates))
        total[head[-1]] = lowest
        return Engine._settled_by_neighbours(
            catalogue, target, neighbours, ratings, candidates, total, head, 10
        )

    nobody = Ratings(liked={}, disliked=set())
    assert settled(farthest + 2e-6, nobody)
    assert not settled(farthest, nobody)
    assert not settled(farthest + 0.5e-6, nobody)  # within float32 distance error of the search
    liker = Ratings(liked={1: [(0.5, 0.5)]}, disliked=set())  # a track near a liked one gains a boost
    assert not settled(farthest + 2e-6, liker)
    assert settled(farthest + NEIGHBOUR_BOOST + 2e-6, liker)
    assert not Engine._settled_by_neighbours(
        catalogue, target, neighbours, nobody, candidates, np.ones(len(candidates)), head[:9], 10
    )  # not full
    repeated = np.array([head[0], *head[:9]])
    assert not Engine._settled_by_neighbours(
        catalogue, target, neighbours, nobody, candidates, np.ones(len(candidates)), repeated, 10
    )
