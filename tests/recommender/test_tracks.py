from __future__ import annotations

import math

import numpy as np
import pytest

from recommender.tracks import (
    IMAGE_TO_MUSIC,
    MUSIC_EMOTIONS,
    Provenance,
    arousal_from_features,
    image_to_music,
    mapping_matrix,
    track_position,
    va_to_music,
)
from recommender.types import IMAGE_EMOTIONS, TrackRow


def test_annotated_position_is_used_as_is() -> None:
    row = TrackRow(1, "A", "t", valence=0.2, arousal=0.9, features={"energy": 0.1, "valence": 0.8})
    assert track_position(row) == (0.2, 0.9, Provenance.ANNOTATED)


def test_arousal_estimated_from_features() -> None:
    features: dict[str, float | None] = {
        "valence": 0.7,
        "energy": 0.8,
        "tempo": 150.0,
        "loudness": -6.0,
        "danceability": 0.6,
        "acousticness": 0.1,
    }
    pos = track_position(TrackRow(1, "A", "t", features=features))
    assert pos is not None
    v, a, prov = pos
    expected = 0.40 * 0.8 + 0.15 * 0.75 + 0.15 * 0.9 + 0.15 * 0.6 + 0.15 * 0.9
    assert prov is Provenance.ESTIMATED
    assert v == pytest.approx(0.7)
    assert a == pytest.approx(expected)


def test_unknown_features_are_not_zero() -> None:
    # Only energy known: arousal is the energy itself, not dragged down by missing features.
    assert arousal_from_features({"energy": 0.9, "tempo": None, "loudness": math.nan}) == pytest.approx(0.9)
    assert arousal_from_features({}) is None


def test_calm_acoustic_track_is_less_arousing_than_loud_fast_one() -> None:
    calm = arousal_from_features({"energy": 0.2, "tempo": 70, "loudness": -20, "acousticness": 0.9})
    loud = arousal_from_features({"energy": 0.9, "tempo": 170, "loudness": -4, "acousticness": 0.05})
    assert calm is not None and loud is not None
    assert calm < 0.3 < 0.8 < loud


def test_no_position_without_valence_or_arousal_features() -> None:
    assert track_position(TrackRow(1, "A", "t", features={"energy": 0.5})) is None
    assert track_position(TrackRow(2, "A", "t", features={"valence": 0.5})) is None
    assert track_position(TrackRow(3, "A", "t")) is None


def test_mapping_table_rows_sum_to_one_and_cover_both_vocabularies() -> None:
    assert set(IMAGE_TO_MUSIC) == set(IMAGE_EMOTIONS)
    m = mapping_matrix()
    np.testing.assert_allclose(m.sum(axis=1), 1.0)
    assert (m.sum(axis=0) > 0).all(), "every music emotion is reachable from some image emotion"
    assert all(set(row) <= set(MUSIC_EMOTIONS) for row in IMAGE_TO_MUSIC.values())


def test_mapping_sends_joy_to_happy_and_sadness_to_sad() -> None:
    joy = image_to_music({"joy": 1.0})
    sad = image_to_music({"sadness": 1.0})
    assert MUSIC_EMOTIONS[int(joy.argmax())] == "happy"
    assert MUSIC_EMOTIONS[int(sad.argmax())] == "sad"


def test_va_to_music_distributions() -> None:
    d = va_to_music(np.array([[0.85, 0.6], [0.15, 0.2], [0.2, 0.85]]))
    np.testing.assert_allclose(d.sum(axis=1), 1.0)
    assert [MUSIC_EMOTIONS[i] for i in d.argmax(axis=1)] == ["happy", "sad", "tense"]
