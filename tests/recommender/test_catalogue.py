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


def test_row_of_finds_ids_in_any_order_and_skips_missing_ones(tmp_path: Path) -> None:
    rows = [TrackRow(tid, "A", "t", 0.5, 0.5) for tid in (40, 7, 1_000_000_007, 3, 7)]
    built = TrackCatalogue.build(rows)
    for cat in (built, TrackCatalogue.load(built.save(tmp_path / "cat"))):
        assert cat.row_of([3, 40, 999, 1_000_000_007]) == {3: 3, 40: 0, 1_000_000_007: 2}
        assert cat.row_of([7]) == {7: 4}  # an id listed twice: its last row, as before
        assert cat.row_of([]) == {}
    assert TrackCatalogue.build([]).row_of([1]) == {}


def test_track_words_are_saved_as_mapped_columns_and_read_back_unchanged(tmp_path: Path) -> None:
    rows = [
        TrackRow(1, "Sigur Rós", "Hoppípolla", 0.4, 0.3, genre="post-rock", tags=["icelandic", "calm"]),
        TrackRow(2, "", "", 0.5, 0.5, genre="", tags=[]),
        TrackRow(3, "Björk", "Jóga 🌋", 0.6, 0.6, genre="art pop", tags=["", "odd\x1fsep"]),
    ]
    built = TrackCatalogue.build(rows)
    loaded = TrackCatalogue.load(built.save(tmp_path / "cat"), mmap=True)
    assert loaded.artists == built.artists == ["Sigur Rós", "", "Björk"]
    assert loaded.titles == built.titles and loaded.genres == built.genres
    assert list(loaded.titles) == ["Hoppípolla", "", "Jóga 🌋"]
    assert loaded.titles[-1] == "Jóga 🌋" and loaded.artists[1:] == ["", "Björk"]
    assert loaded.tags[0] == ["icelandic", "calm"] and loaded.tags[1] == []
    assert loaded.tags[2] == ["", "odd sep"]  # the separator inside a tag became a space
    assert len(loaded.tags) == len(loaded.genres) == 3
    with pytest.raises(IndexError):
        loaded.artists[3]
    # Nothing but empty strings: an empty buffer maps too.
    empty = TrackCatalogue.build([TrackRow(i, "", "", 0.5, 0.5) for i in range(3)])
    again = TrackCatalogue.load(empty.save(tmp_path / "empty"), mmap=True)
    assert again.genres == ["", "", ""] and again.tags == [[], [], []]
