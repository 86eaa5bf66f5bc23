"""What the heads see of a track: standardised Spotify-style features, a missing mask, genre, text, audio.

Feature space (DYLUMO's 13 features without time_signature, which the TidyTuesday data lacks):
each feature is standardised with the training tracks' mean and sd; an unknown feature becomes 0 (the
training mean) and is flagged in the missing mask. `feature_vectors` is the retrieval space of the
feature-prediction strategy: standardised features, L2-normalised; a track with no feature at all gets a
zero vector (it can match nothing).

The joint-embedding track input is, in this order:

    standardised features (12) | missing mask (12) | genre one-hot (vocabulary + "other") |
    MiniLM text embedding of "genre; tags" (384, optional) | audio embedding slot (AUDIO_DIM)

The audio slot is all zeros and its first-layer weights are zero-initialised, so they stay zero while
training on data without audio. What a track's audio does reach today is its features: a track added as
audio gets them from vibenet (engine/audio.py), so its vector here comes from its audio. vibenet's 256-d
trunk embedding is stored on such tracks (Track.audio_embedding) for a heads model trained on audio with
mood labels; no such data exists here (../shared has 24 unlabelled clips; the 28k training tracks have no
audio), so no model fills the slot, and filling it would change nothing with these weights.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..text import embed_or_zero
from ..track_columns import TrackColumns
from ..types import SPOTIFY_FEATURES, TrackRow

FEATURE_NAMES: tuple[str, ...] = SPOTIFY_FEATURES  # 12 features, DYLUMO order without time_signature
# DYLUMO's weighted-MSE weights, time_signature's (0.1) dropped with the feature.
DYLUMO_WEIGHTS: dict[str, float] = {
    "danceability": 2.0,
    "energy": 3.0,
    "key": 0.5,
    "loudness": 1.5,
    "mode": 0.3,
    "speechiness": 1.0,
    "acousticness": 1.5,
    "instrumentalness": 1.0,
    "liveness": 0.8,
    "valence": 3.0,
    "tempo": 2.0,
    "duration_ms": 0.1,
}
AUDIO_DIM = 16
TEXT_DIM = 384
OTHER_GENRE = "other"


def feature_weights() -> np.ndarray:
    return np.array([DYLUMO_WEIGHTS[f] for f in FEATURE_NAMES], dtype=np.float32)


def raw_features(rows: Sequence[TrackRow]) -> np.ndarray:
    """(n, 12) float64, NaN where a feature is unknown."""
    if isinstance(rows, TrackColumns):
        return np.stack([rows.feature(name) for name in FEATURE_NAMES], axis=1).astype(np.float64)
    out = np.full((len(rows), len(FEATURE_NAMES)), np.nan)
    for i, row in enumerate(rows):
        for j, name in enumerate(FEATURE_NAMES):
            value = row.features.get(name)
            if value is not None and not math.isnan(float(value)):
                out[i, j] = float(value)
    return out


@dataclass(frozen=True)
class FeatureScaler:
    """Per-feature mean and sd of the training tracks."""

    mean: np.ndarray  # (12,)
    std: np.ndarray  # (12,)

    @classmethod
    def fit(cls, raw: np.ndarray) -> FeatureScaler:
        mean = np.nanmean(raw, axis=0)
        std = np.nanstd(raw, axis=0)
        return cls(mean, np.where(std > 1e-8, std, 1.0))

    def standardise(self, raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(z with unknown -> 0, missing mask as 0/1), both (n, 12) float32."""
        missing = np.isnan(raw)
        z = np.where(missing, 0.0, (raw - self.mean) / self.std)
        return z.astype(np.float32), missing.astype(np.float32)


def l2_rows(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length; all-zero rows stay zero."""
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return np.where(norms > 1e-12, x / np.maximum(norms, 1e-12), 0.0).astype(np.float32)


def feature_vectors(rows: Sequence[TrackRow], scaler: FeatureScaler) -> np.ndarray:
    """The feature-prediction retrieval space: (n, 12) L2-normalised standardised features."""
    z, _ = scaler.standardise(raw_features(rows))
    return l2_rows(z)


def genre_one_hot(rows: Sequence[TrackRow], vocabulary: Sequence[str]) -> np.ndarray:
    """(n, len(vocabulary) + 1): lower-cased genre, unknown genres in the last ("other") column."""
    lookup = {g: i for i, g in enumerate(vocabulary)}
    out = np.zeros((len(rows), len(vocabulary) + 1), dtype=np.float32)
    genres = rows.genres if isinstance(rows, TrackColumns) else [row.genre for row in rows]
    for i, genre in enumerate(genres):
        out[i, lookup.get(genre.strip().lower(), len(vocabulary))] = 1.0
    return out


def track_text(row: TrackRow) -> str:
    return _text(row.genre, row.tags)


def track_texts(rows: Sequence[TrackRow]) -> list[str]:
    """track_text of each row."""
    if isinstance(rows, TrackColumns):
        return [_text(genre, tags) for genre, tags in zip(rows.genres, rows.tags, strict=True)]
    return [track_text(row) for row in rows]


def _text(genre: str, tags: Sequence[str]) -> str:
    parts = [p for p in [genre.strip(), ", ".join(t.strip() for t in tags if t.strip())] if p]
    return "; ".join(parts)


# The heads were trained on genre/tag text cut at 64 tokens.
TEXT_MAX_TOKENS = 64


def joint_track_inputs(
    rows: Sequence[TrackRow],
    scaler: FeatureScaler,
    genres: Sequence[str],
    use_text: bool,
    raw: np.ndarray | None = None,
) -> np.ndarray:
    """(n, d) joint-embedding track input (layout in the module docstring). raw: precomputed raw_features."""
    z, missing = scaler.standardise(raw_features(rows) if raw is None else raw)
    parts = [z, missing, genre_one_hot(rows, genres)]
    if use_text:
        parts.append(embed_or_zero(track_texts(rows), TEXT_MAX_TOKENS))
    parts.append(np.zeros((len(rows), AUDIO_DIM), dtype=np.float32))
    return np.concatenate(parts, axis=1).astype(np.float32)


def joint_input_dim(n_genres: int, use_text: bool) -> int:
    return 2 * len(FEATURE_NAMES) + n_genres + 1 + (TEXT_DIM if use_text else 0) + AUDIO_DIM
