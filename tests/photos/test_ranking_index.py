"""ranking_index(): the engine's index is rebuilt when the catalogue version moves, and only then."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from catalogue.importer import import_tracks
from catalogue.models import Track
from inference import adapter
from photos.services import runs
from recommender.catalogue_index import TrackCatalogue
from recommender.pipeline import Engine
from recommender.strategies import VAMatch
from recommender.types import TrackRow
from tests.recommender.helpers import mood_only_config

pytestmark = pytest.mark.django_db

CSV = "id,title,artist,valence,arousal\nr1,One,A,0.1,0.2\nr2,Two,B,0.3,0.4\nr3,Three,C,0.8,0.9\n"


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """A small engine whose index builds are recorded (the index version of each build)."""
    engine = Engine(mood_only_config(), strategies=[VAMatch()])
    built: list[str] = []
    build = engine.build_catalogue

    def recording_build(
        rows: Sequence[TrackRow], version: str = "unversioned", photo_embeddings: np.ndarray | None = None
    ) -> TrackCatalogue:
        built.append(version)
        return build(rows, version, photo_embeddings)

    monkeypatch.setattr(engine, "build_catalogue", recording_build)
    adapter.reset()
    monkeypatch.setattr(adapter, "engine", lambda: engine)
    yield built
    adapter.forget_index()


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "tracks.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_rebuilt_after_an_import_and_not_otherwise(
    builds: list[str], tmp_path: Path, django_assert_num_queries: Any
) -> None:
    import_tracks(write(tmp_path, CSV))
    first, catalogue = runs.ranking_index()
    assert builds == [first] and catalogue.positioned_count == 3

    with django_assert_num_queries(1):  # the version only: the index in memory is reused
        assert runs.ranking_index()[0] == first
    import_tracks(write(tmp_path, CSV))  # unchanged: nothing written
    Track.objects.update(audio_message="checked")  # not something the engine reads
    assert runs.ranking_index()[0] == first and builds == [first]

    import_tracks(write(tmp_path, CSV + "r4,Four,D,0.5,0.5\n"))
    second, catalogue = runs.ranking_index()
    assert second != first and builds == [first, second] and catalogue.positioned_count == 4
    assert runs.ranking_index()[0] == second and builds == [first, second]


def test_rebuilt_after_a_deactivation(builds: list[str], tmp_path: Path) -> None:
    import_tracks(write(tmp_path, CSV))
    first, _ = runs.ranking_index()
    Track.objects.filter(external_id="r1").update(is_active=False)
    second, catalogue = runs.ranking_index()
    assert second != first and builds == [first, second] and catalogue.positioned_count == 2
