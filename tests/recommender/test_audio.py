"""Audio -> features and embedding (vibenet's ONNX model, run for real)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

from recommender.audio_analysis import (
    EMBEDDING_DIM,
    VIBENET_FEATURES,
    AudioAnalyser,
    AudioError,
    embedding_from_bytes,
    embedding_to_bytes,
    estimate_tempo,
)
from tests.factories import wav_bytes


@pytest.fixture(scope="module")
def analyser() -> AudioAnalyser:
    return AudioAnalyser()


def test_a_wav_gives_every_audio_feature_tempo_and_a_unit_embedding(analyser: AudioAnalyser) -> None:
    reading = analyser.analyse(io.BytesIO(wav_bytes(seconds=8, bpm=100)))
    for name in VIBENET_FEATURES:
        assert 0.0 <= reading.features[name] <= 1.0, name
    assert reading.features["tempo"] == pytest.approx(100, abs=3)
    assert reading.features["duration_ms"] == pytest.approx(8000, abs=30)
    assert -60 <= reading.features["loudness"] <= 0
    assert reading.embedding.shape == (EMBEDDING_DIM,)
    assert np.linalg.norm(reading.embedding) == pytest.approx(1.0, abs=1e-5)
    assert reading.model_version.startswith("vibenet-0.1.0-")
    assert np.array_equal(embedding_from_bytes(embedding_to_bytes(reading.embedding)), reading.embedding)


def test_the_same_audio_gives_the_same_reading(analyser: AudioAnalyser) -> None:
    first = analyser.analyse(io.BytesIO(wav_bytes(seconds=5, bpm=90)))
    second = analyser.analyse(io.BytesIO(wav_bytes(seconds=5, bpm=90)))
    assert first.features == second.features
    assert np.allclose(first.embedding, second.embedding)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"ID3\x03\x00 definitely not an mp3 stream" * 10, "not a readable audio file"),
        (b"", "not a readable audio file"),
        (wav_bytes(seconds=1.0), "at least 3 s"),
    ],
)
def test_unreadable_or_too_short_audio_is_a_clear_error(
    analyser: AudioAnalyser, payload: bytes, message: str
) -> None:
    with pytest.raises(AudioError, match=message):
        analyser.analyse(io.BytesIO(payload))


def test_silence_has_no_tempo() -> None:
    assert estimate_tempo(np.full((128, 500), -80.0, dtype=np.float32), 50.0) is None


def test_real_clips_separate_by_genre(analyser: AudioAnalyser, shared_data: Path) -> None:
    """Emotify clips (DESIGN.md section 6): classical reads as acoustic and calm, and clips of one genre
    sound more alike to the embedding than clips of different genres."""
    folder = shared_data / "audio_clips"
    if not folder.is_dir():
        pytest.skip(f"no audio clips at {folder}")
    readings = {
        genre: [analyser.analyse(p) for p in sorted((folder / genre).glob("*.mp3"))[:3]]
        for genre in ("classical", "electronic", "pop", "rock")
    }
    mean = {
        g: {k: np.mean([r.features[k] for r in rs]) for k in ("acousticness", "energy")}
        for g, rs in readings.items()
    }
    others = [g for g in readings if g != "classical"]
    assert all(mean["classical"]["acousticness"] > mean[g]["acousticness"] + 0.2 for g in others)
    assert all(mean["classical"]["energy"] < mean[g]["energy"] - 0.2 for g in others)

    labels = [g for g, rs in readings.items() for _ in rs]
    vectors = np.stack([r.embedding for rs in readings.values() for r in rs])
    similarity = vectors @ vectors.T
    same = [similarity[i, j] for i in range(len(labels)) for j in range(i) if labels[i] == labels[j]]
    different = [similarity[i, j] for i in range(len(labels)) for j in range(i) if labels[i] != labels[j]]
    assert np.mean(same) > np.mean(different) + 0.2
