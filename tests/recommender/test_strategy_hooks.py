"""Strategies can ask the catalogue index for track vectors and propose their own candidates."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from recommender.catalogue_index import TrackCatalogue, TrackRepresentation
from recommender.pipeline import Engine, EngineConfig
from recommender.strategies import StrategyResult, VAMatch
from recommender.types import PhotoAnalysis, TrackRow
from tests.recommender.helpers import grid_rows, make_photo


class TitleLength:
    """A toy strategy: prefers long titles, via a precomputed vector and its own nearest-neighbour search."""

    name = "title_length"

    def track_representations(self) -> Mapping[str, TrackRepresentation]:
        def lengths(rows: Sequence[TrackRow]) -> np.ndarray:
            return np.array([[len(r.title), 1.0] for r in rows], dtype=np.float32)

        return {"title_length": lengths}

    def candidates(
        self, photo: PhotoAnalysis, target: tuple[float, float], catalogue: TrackCatalogue, k: int
    ) -> np.ndarray:
        rows, _ = catalogue.search_vectors("title_length", np.array([1.0, 0.0]), k)
        return rows

    def score(
        self,
        photo: PhotoAnalysis,
        target: tuple[float, float],
        catalogue: TrackCatalogue,
        candidate_idx: np.ndarray,
    ) -> StrategyResult:
        lengths = np.asarray(catalogue.vectors["title_length"])[candidate_idx, 0]
        return StrategyResult(scores=lengths / lengths.max(), reasons=["long title"] * len(candidate_idx))


def test_vectors_are_built_saved_and_searched(tmp_path) -> None:
    rows = grid_rows(5, 2)
    rows[3].title = "A very long title indeed"
    engine = Engine(EngineConfig(), strategies=[VAMatch(), TitleLength()])
    catalogue = engine.build_catalogue(rows, version="v1")
    assert catalogue.vectors["title_length"].shape == (10, 2)
    loaded = TrackCatalogue.load(catalogue.save(tmp_path / "idx"))
    assert np.array_equal(loaded.vectors["title_length"], catalogue.vectors["title_length"])
    found, sims = loaded.search_vectors("title_length", np.array([1.0, 0.0]), 1)
    assert found.tolist() == [3] and sims[0] == len("A very long title indeed")


def test_proposed_candidates_join_the_pool_even_when_far_in_mood() -> None:
    rows = grid_rows(30, 1)
    far = max(range(len(rows)), key=lambda i: abs(rows[i].valence - 0.9) + abs(rows[i].arousal - 0.9))  # type: ignore[operator]
    rows[far].title = "x" * 200
    config = EngineConfig(fusion_weights=(("va_match", 0.01), ("title_length", 0.99)), candidate_pool=2)
    engine = Engine(config, strategies=[VAMatch(), TitleLength()])
    catalogue = engine.build_catalogue(rows)
    ranked = engine.recommend(make_photo(0.9, 0.9), catalogue, top_k=1)
    assert ranked[0].track_id == rows[far].track_id
    assert "long title" in ranked[0].reasons
