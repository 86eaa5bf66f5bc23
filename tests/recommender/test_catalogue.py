from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from recommender.catalogue_index import TrackCatalogue
from recommender.tracks import Provenance
from recommender.types import TrackRow

from .helpers import grid_rows


def test_save_load_round_trip(tmp_path: Path) -> None:
    rows = [*grid_rows(4, 2), TrackRow(999, "Nobody", "no data")]
    built = TrackCatalogue.build(rows, version="fp-abc")
    built.save(tmp_path / "cat")
    assert TrackCatalogue.read_version(tmp_path / "cat") == "fp-abc"
    for mmap in (True, False):
        loaded = TrackCatalogue.load(tmp_path / "cat", mmap=mmap)
        assert loaded.version == "fp-abc"
        assert len(loaded) == 9 and loaded.positioned_count == 8
        np.testing.assert_array_equal(loaded.track_ids, built.track_ids)
        np.testing.assert_array_equal(loaded.va, built.va)
        assert loaded.artists == built.artists and loaded.titles == built.titles
        np.testing.assert_array_equal(loaded.candidates((0.5, 0.5), 3), built.candidates((0.5, 0.5), 3))
    assert TrackCatalogue.read_version(tmp_path / "missing") is None
    with pytest.raises(FileNotFoundError):
        TrackCatalogue.load(tmp_path / "missing")


def test_candidates_are_nearest_and_k_beyond_size_returns_all_positioned() -> None:
    rows = [TrackRow(i, f"A{i}", "t", valence=i / 10, arousal=0.5) for i in range(11)]
    rows.append(TrackRow(50, "X", "no position"))
    cat = TrackCatalogue.build(rows)
    near = cat.candidates((0.31, 0.5), 2)
    assert sorted(cat.track_ids[near].tolist()) == [3, 4]
    everything = cat.candidates((0.0, 0.0), 1000)
    assert sorted(cat.track_ids[everything].tolist()) == list(range(11))
    assert cat.provenance[-1] == Provenance.NONE


def test_empty_catalogue() -> None:
    cat = TrackCatalogue.build([])
    assert len(cat.candidates((0.5, 0.5), 10)) == 0
