"""A catalogue read as blocks of columns (TrackColumns, TrackBlocks) gives the engine the same catalogue as
its rows do."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.catalogue_index import TrackCatalogue
from recommender.heads.track_inputs import genre_one_hot, raw_features, track_texts
from recommender.track_columns import TrackBlocks, TrackColumns
from recommender.tracks import track_positions
from recommender.types import SPOTIFY_FEATURES, TrackRow

FEATURES = (*SPOTIFY_FEATURES, "time_signature")


def mixed_rows(n: int = 60, seed: int = 3) -> list[TrackRow]:
    """Tracks with every kind of gap: annotated, estimated from features, partly known, nothing known."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        kind = i % 5
        features: dict[str, float | None] = {
            name: (None if rng.uniform() < 0.3 else float(rng.uniform(-0.2, 1.2))) for name in FEATURES
        }
        features["tempo"] = [None, 0.0, 95.0, 240.0, -1.0][i % 5]
        features["loudness"] = None if kind == 1 else float(rng.uniform(-70, 5))
        if kind == 4:
            features = {name: None for name in FEATURES}
        rows.append(
            TrackRow(
                track_id=1000 - i,
                artist=f"Artist {i % 7} é",
                title=f"Song {i}",
                valence=None if kind in (1, 2) else float(rng.uniform(-0.1, 1.1)),
                arousal=None if kind in (0, 2, 3) else float(rng.uniform(0, 1)),
                features=features,
                genre=["pop", " Rock ", "", "jazz"][i % 4],
                tags=[["loud", " "], [], ["sad", "slow"]][i % 3],
            )
        )
    return rows


def test_columns_read_back_as_the_same_rows() -> None:
    rows = mixed_rows()
    columns = TrackColumns.from_rows(rows, FEATURES)
    assert len(columns) == len(rows)
    for ours, theirs in zip(columns, rows, strict=True):
        assert ours.track_id == theirs.track_id and ours.artist == theirs.artist and ours.tags == theirs.tags
        assert ours.valence == theirs.valence and ours.arousal == theirs.arousal
        assert ours.features == theirs.features
    assert columns[-1] == rows[-1] and columns[1:3] == rows[1:3]


def test_unequal_columns_are_a_clear_error() -> None:
    columns = vars(TrackColumns.from_rows(mixed_rows(4), FEATURES))
    with pytest.raises(ValueError, match="unequal length"):
        TrackColumns(**{**columns, "titles": ["one"]})
    with pytest.raises(ValueError, match="features have shape"):
        TrackColumns(**{**columns, "feature_names": ("energy",)})


def test_positions_features_genres_and_texts_match_the_row_rules() -> None:
    rows = mixed_rows(200)
    columns = TrackColumns.from_rows(rows, FEATURES)
    va_rows, provenance_rows = track_positions(rows)
    va_columns, provenance_columns = track_positions(columns)
    assert np.array_equal(provenance_rows, provenance_columns)
    assert set(provenance_rows.tolist()) == {0, 1, 2}  # every kind of position is exercised
    assert np.array_equal(va_rows, va_columns, equal_nan=True)
    assert np.array_equal(raw_features(rows), raw_features(columns), equal_nan=True)
    vocabulary = ["pop", "rock"]
    assert np.array_equal(genre_one_hot(rows, vocabulary), genre_one_hot(columns, vocabulary))
    assert track_texts(rows) == track_texts(columns)


def test_a_catalogue_built_from_blocks_equals_one_built_from_rows() -> None:
    rows = mixed_rows(61)

    def doubled_features(block) -> np.ndarray:  # a representation that reads the rows
        return np.nan_to_num(raw_features(block)).astype(np.float32) * 2

    built = TrackCatalogue.build(rows, "v", representations={"f": doubled_features})
    blocks = TrackBlocks(TrackColumns.from_rows(rows[i : i + 7], FEATURES) for i in range(0, len(rows), 7))
    from_blocks = TrackCatalogue.build(blocks, "v", representations={"f": doubled_features})
    assert np.array_equal(built.track_ids, from_blocks.track_ids)
    for name in ("va", "has_position", "provenance", "music_emotions", "index_rows"):
        assert np.array_equal(getattr(built, name), getattr(from_blocks, name), equal_nan=name == "va")
    assert np.array_equal(built.vectors["f"], from_blocks.vectors["f"])
    for name in ("artists", "titles", "genres", "tags"):
        assert list(getattr(built, name)) == list(getattr(from_blocks, name)) == [
            getattr(r, name[:-1] if name != "tags" else "tags") for r in rows
        ]
    assert np.array_equal(built.candidates((0.4, 0.6), 10), from_blocks.candidates((0.4, 0.6), 10))


def test_no_blocks_make_an_empty_catalogue() -> None:
    zeros = {"f": lambda rows: np.zeros((len(rows), 3))}
    catalogue = TrackCatalogue.build(TrackBlocks([]), representations=zeros)
    assert len(catalogue) == 0 and catalogue.vectors["f"].shape == (0, 3)


def test_a_representation_whose_blocks_disagree_in_width_is_a_clear_error() -> None:
    rows = mixed_rows(10)
    blocks = TrackBlocks(TrackColumns.from_rows(rows[i : i + 5], FEATURES) for i in (0, 5))

    def ragged(block) -> np.ndarray:
        return np.zeros((len(block), 2 if block[0].track_id == rows[0].track_id else 3))

    with pytest.raises(ValueError, match="blocks of widths \\[2, 3\\]"):
        TrackCatalogue.build(blocks, representations={"ragged": ragged})
