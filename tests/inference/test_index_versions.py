"""The served index is rebuilt when what computes its track vectors changes, and reused otherwise."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest

from inference import adapter
from recommender.catalogue_index import TrackCatalogue, TrackRepresentation
from recommender.pipeline import Engine
from recommender.strategies import StrategyResult, VAMatch
from recommender.types import PhotoAnalysis, TrackRow
from tests.recommender.helpers import grid_rows, mood_only_config


class Retrainable:
    """Track vectors from a 'model' whose version the test changes."""

    name = "retrainable"

    def __init__(self) -> None:
        self.version = "model-1"

    def track_representations(self) -> Mapping[str, TrackRepresentation]:
        def vectors(rows: Sequence[TrackRow]) -> np.ndarray:
            return np.full((len(rows), 2), float(self.version[-1]), dtype=np.float32)

        return {"retrainable": vectors}

    def representation_version(self) -> str:
        return self.version

    def score(
        self,
        photo: PhotoAnalysis,
        target: tuple[float, float],
        catalogue: TrackCatalogue,
        candidate_idx: np.ndarray,
    ) -> StrategyResult:
        return StrategyResult(np.full(len(candidate_idx), 0.5), [""] * len(candidate_idx))


@pytest.fixture
def served(
    monkeypatch: pytest.MonkeyPatch, settings, tmp_path: Path
) -> Iterator[tuple[Retrainable, list[str]]]:
    """The adapter over a fixed catalogue and an engine with a Retrainable strategy; builds are recorded."""
    settings.ENGINE_INDEX_DIR = tmp_path / "index"
    strategy = Retrainable()
    engine = Engine(mood_only_config(), strategies=[VAMatch(), strategy])
    builds: list[str] = []
    build = engine.build_catalogue

    def recording_build(rows: Sequence[TrackRow], version: str = "unversioned") -> TrackCatalogue:
        builds.append(version)
        return build(rows, version)

    monkeypatch.setattr(engine, "build_catalogue", recording_build)
    adapter.reset()
    monkeypatch.setattr(adapter, "engine", lambda: engine)
    yield strategy, builds
    adapter.forget_index()


CATALOGUE_VERSION = "30-30-20250101T000000000000"


def current() -> tuple[str, TrackCatalogue]:
    return adapter.current_index(CATALOGUE_VERSION, lambda: [asdict(row) for row in grid_rows(10, 3)])


def test_same_versions_reuse_the_saved_index(served, settings) -> None:
    _, builds = served
    version, first = current()
    assert builds == [version] and version.startswith(CATALOGUE_VERSION + "-")
    assert (Path(settings.ENGINE_INDEX_DIR) / version / "COMPLETE").exists()
    adapter.forget_index()  # another process: loads what the first one saved
    again, loaded = current()
    assert again == version and builds == [version]
    assert np.array_equal(loaded.vectors["retrainable"], first.vectors["retrainable"])


def test_a_new_representation_version_builds_a_new_index(served, settings) -> None:
    strategy, builds = served
    old, _ = current()
    strategy.version = "model-2"  # e.g. a retrained heads artifact
    new, catalogue = current()
    assert new != old and builds == [old, new]
    assert np.all(np.asarray(catalogue.vectors["retrainable"]) == 2.0)
    assert sorted(p.name for p in Path(settings.ENGINE_INDEX_DIR).iterdir()) == [new]  # the stale one is gone
    adapter.forget_index()
    assert current()[0] == new and builds == [old, new]
