"""The served index is rebuilt when what computes its track vectors changes, and reused otherwise."""

from __future__ import annotations

import fcntl
import multiprocessing
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np
import pytest

from inference import adapter
from recommender.catalogue_index import TrackCatalogue, TrackRepresentation
from recommender.pipeline import Engine
from recommender.strategies import StrategyResult, VAMatch
from recommender.track_columns import TrackBlocks, TrackColumns
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

    def recording_build(
        rows: Sequence[TrackRow] | TrackBlocks,
        version: str = "unversioned",
        photo_embeddings: np.ndarray | None = None,
    ) -> TrackCatalogue:
        builds.append(version)
        return build(rows, version, photo_embeddings)

    monkeypatch.setattr(engine, "build_catalogue", recording_build)
    adapter.reset()
    monkeypatch.setattr(adapter, "engine", lambda: engine)
    monkeypatch.setattr(adapter, "_calibration_photos", None)  # no database here: calibrate on tracks
    yield strategy, builds
    adapter.forget_index()


CATALOGUE_VERSION = "30-30-20250101T000000000000"


def current() -> tuple[str, TrackCatalogue]:
    rows = grid_rows(10, 3)
    blocks = [vars(TrackColumns.from_rows(rows[:17])), vars(TrackColumns.from_rows(rows[17:]))]
    return adapter.current_index(CATALOGUE_VERSION, lambda: blocks)


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
    saved = [p.name for p in Path(settings.ENGINE_INDEX_DIR).iterdir() if not p.name.startswith(".")]
    assert saved == [new]  # the stale one is gone
    adapter.forget_index()
    assert current()[0] == new and builds == [old, new]


def _build_in_child(record: str) -> None:
    """A second worker process asking for the same version at the same time."""
    adapter.forget_index()
    version, _ = current()
    with open(record, "a") as out:
        out.write(f"got {version}\n")


def test_one_process_builds_a_version_while_another_waits_for_it(served, tmp_path: Path) -> None:
    assert served
    engine = adapter.engine()
    build = engine.build_catalogue
    record = tmp_path / "record.txt"

    def slow_build(
        rows: Sequence[TrackRow] | TrackBlocks,
        version: str = "unversioned",
        photo_embeddings: np.ndarray | None = None,
    ) -> TrackCatalogue:
        with open(record, "a") as out:
            out.write("build\n")
        time.sleep(1.0)
        return build(rows, version, photo_embeddings)

    engine.build_catalogue = slow_build  # type: ignore[method-assign]
    children = [
        multiprocessing.get_context("fork").Process(target=_build_in_child, args=(str(record),))
        for _ in range(2)
    ]
    for child in children:
        child.start()
    for child in children:
        child.join(timeout=60)
        assert child.exitcode == 0
    lines = record.read_text().splitlines()
    assert lines.count("build") == 1, lines  # the other process loaded what the first one saved
    assert len({line for line in lines if line.startswith("got ")}) == 1


def test_a_process_with_the_previous_version_serves_it_while_another_builds(served, settings) -> None:
    old_version, old = current()
    lock_path = Path(settings.ENGINE_INDEX_DIR)
    strategy, _ = served
    strategy.version = "model-2"
    new_version = adapter.index_version(CATALOGUE_VERSION)
    with open(lock_path / f".build-{new_version}.lock", "a+b") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # another process is building the new version
        version, catalogue = current()
        fcntl.flock(held, fcntl.LOCK_UN)
    assert (version, catalogue) == (old_version, old)
    assert current()[0] == new_version  # once the lock is free, the new version is built and served


def test_a_build_reads_the_photo_embeddings_it_calibrates_on_and_a_reuse_does_not(
    served, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, builds = served
    engine = adapter.engine()
    given: list[np.ndarray | None] = []

    def calibration_queries(photos: np.ndarray | None) -> dict[str, np.ndarray]:
        given.append(photos)
        return {}

    monkeypatch.setattr(engine, "calibration_queries", calibration_queries)
    reads: list[int] = []

    def photos() -> np.ndarray:
        reads.append(1)
        return np.ones((3, 4), dtype=np.float32)

    rows = grid_rows(10, 3)
    blocks = [vars(TrackColumns.from_rows(rows))]
    version, _ = adapter.current_index(CATALOGUE_VERSION, lambda: blocks, photos)
    assert builds == [version] and reads == [1]
    assert len(given) == 1 and given[0] is not None and given[0].shape == (3, 4)
    adapter.forget_index()  # another process finds it saved: no build, no read of the photos
    again, _ = adapter.current_index(CATALOGUE_VERSION, lambda: blocks, photos)
    assert again == version and reads == [1] and builds == [version]
