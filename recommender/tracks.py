"""Where a track sits in valence/arousal space, and which music emotions that implies.

Position (both coordinates in [0, 1]):

1. "annotated": the track row has both `valence` and `arousal` (e.g. from an import file) -> used as is.
2. "estimated from features": no annotated arousal, but a valence (the row's own, or Spotify-style
   `valence` in features) and at least one arousal feature. Arousal is a weighted mean of

       energy                     0.40
       tempo      (tempo - 60) / 120, clipped to [0, 1]      0.15
       loudness   (loudness_db + 60) / 60, clipped to [0, 1] 0.15
       danceability               0.15
       1 - acousticness           0.15

   over whichever of those features are known (weights renormalised; unknown is not zero). Energy
   dominates because it is Spotify's own arousal-like measure; the others correct it for fast, loud,
   danceable or electric tracks.
3. Neither: the track has no position. It is left out of the V/A and emotion strategies (they need a
   position) and ranked after every positioned track.

Music emotions: each position becomes a distribution over MUSIC_EMOTIONS by a Gaussian kernel around
fixed prototype points (below). The photo side uses IMAGE_TO_MUSIC, an explicit table from the
Emotion6 image vocabulary to the same music vocabulary (Mood Melody Mapper's emotion path).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from enum import IntEnum

import numpy as np

from .track_columns import TrackColumns
from .types import IMAGE_EMOTIONS, TrackRow

MUSIC_EMOTIONS: tuple[str, ...] = ("happy", "energetic", "calm", "sad", "tense")

# Prototype (valence, arousal) of each music emotion, after Russell's circumplex / the V/A quadrants.
MUSIC_PROTOTYPES: dict[str, tuple[float, float]] = {
    "happy": (0.80, 0.60),
    "energetic": (0.60, 0.85),
    "calm": (0.68, 0.25),
    "sad": (0.22, 0.28),
    "tense": (0.22, 0.78),
}
KERNEL_WIDTH = 0.2

# Emotion6 image emotion -> music emotion weights; each row sums to 1. Fixed before any evaluation.
IMAGE_TO_MUSIC: dict[str, dict[str, float]] = {
    "anger": {"tense": 0.8, "energetic": 0.2},
    "disgust": {"tense": 0.6, "sad": 0.4},
    "fear": {"tense": 0.7, "sad": 0.3},
    "joy": {"happy": 0.7, "energetic": 0.2, "calm": 0.1},
    "sadness": {"sad": 0.8, "calm": 0.2},
    "surprise": {"energetic": 0.6, "happy": 0.4},
    "neutral": {"calm": 0.7, "happy": 0.15, "sad": 0.15},
}

AROUSAL_WEIGHTS: dict[str, float] = {
    "energy": 0.40,
    "tempo": 0.15,
    "loudness": 0.15,
    "danceability": 0.15,
    "acousticness": 0.15,
}


class Provenance(IntEnum):
    NONE = 0
    ANNOTATED = 1
    ESTIMATED = 2

    @property
    def label(self) -> str:
        return {0: "no position", 1: "annotated", 2: "estimated from features"}[int(self)]


def mapping_matrix() -> np.ndarray:
    """IMAGE_TO_MUSIC as a (len(IMAGE_EMOTIONS), len(MUSIC_EMOTIONS)) matrix."""
    m = np.zeros((len(IMAGE_EMOTIONS), len(MUSIC_EMOTIONS)), dtype=np.float64)
    for i, emotion in enumerate(IMAGE_EMOTIONS):
        for music, weight in IMAGE_TO_MUSIC[emotion].items():
            m[i, MUSIC_EMOTIONS.index(music)] = weight
    return m


def _clip01(x: float) -> float:
    return min(1.0, max(0.0, x))


def _known(value: float | None) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def arousal_from_features(features: dict[str, float | None]) -> float | None:
    """The documented arousal estimate, or None when no arousal feature is known."""
    parts: dict[str, float] = {}
    energy = features.get("energy")
    if _known(energy):
        parts["energy"] = _clip01(float(energy))  # type: ignore[arg-type]
    tempo = features.get("tempo")
    if _known(tempo) and float(tempo) > 0:  # type: ignore[arg-type]
        parts["tempo"] = _clip01((float(tempo) - 60.0) / 120.0)  # type: ignore[arg-type]
    loudness = features.get("loudness")
    if _known(loudness):
        parts["loudness"] = _clip01((float(loudness) + 60.0) / 60.0)  # type: ignore[arg-type]
    dance = features.get("danceability")
    if _known(dance):
        parts["danceability"] = _clip01(float(dance))  # type: ignore[arg-type]
    acoustic = features.get("acousticness")
    if _known(acoustic):
        parts["acousticness"] = 1.0 - _clip01(float(acoustic))  # type: ignore[arg-type]
    if not parts:
        return None
    total = sum(AROUSAL_WEIGHTS[k] for k in parts)
    return sum(AROUSAL_WEIGHTS[k] * v for k, v in parts.items()) / total


def track_position(row: TrackRow) -> tuple[float, float, Provenance] | None:
    """(valence, arousal, provenance) or None when the track has no mood position."""
    if _known(row.valence) and _known(row.arousal):
        return _clip01(float(row.valence)), _clip01(float(row.arousal)), Provenance.ANNOTATED  # type: ignore[arg-type]
    valence = row.valence if _known(row.valence) else row.features.get("valence")
    if not _known(valence):
        return None
    arousal = row.arousal if _known(row.arousal) else arousal_from_features(row.features)
    if arousal is None:
        return None
    return _clip01(float(valence)), _clip01(float(arousal)), Provenance.ESTIMATED  # type: ignore[arg-type]


def track_positions(rows: Sequence[TrackRow]) -> tuple[np.ndarray, np.ndarray]:
    """((n, 2) float32 V/A, NaN where none; (n,) int8 Provenance) of every row: track_position's rules,
    as array operations on TrackColumns."""
    n = len(rows)
    va = np.full((n, 2), np.nan, dtype=np.float32)
    provenance = np.zeros(n, dtype=np.int8)
    if not isinstance(rows, TrackColumns):
        for i, row in enumerate(rows):
            pos = track_position(row)
            if pos is not None:
                va[i] = pos[:2]
                provenance[i] = int(pos[2])
        return va, provenance
    valence, arousal = rows.valence, rows.arousal
    annotated = ~np.isnan(valence) & ~np.isnan(arousal)
    estimated_valence = np.where(np.isnan(valence), rows.feature("valence"), valence)
    estimated_arousal = np.where(np.isnan(arousal), _arousal_from_feature_columns(rows), arousal)
    estimated = ~annotated & ~np.isnan(estimated_valence) & ~np.isnan(estimated_arousal)
    positioned = annotated | estimated
    va[positioned, 0] = np.clip(estimated_valence[positioned], 0.0, 1.0)
    va[positioned, 1] = np.clip(estimated_arousal[positioned], 0.0, 1.0)
    provenance[annotated] = Provenance.ANNOTATED
    provenance[estimated] = Provenance.ESTIMATED
    return va, provenance


def _arousal_from_feature_columns(columns: TrackColumns) -> np.ndarray:
    """arousal_from_features over columns: (n,) float64, NaN where no arousal feature is known."""
    tempo = columns.feature("tempo")
    parts = {
        "energy": np.clip(columns.feature("energy"), 0.0, 1.0),
        "tempo": np.where(tempo > 0, np.clip((tempo - 60.0) / 120.0, 0.0, 1.0), np.nan),
        "loudness": np.clip((columns.feature("loudness") + 60.0) / 60.0, 0.0, 1.0),
        "danceability": np.clip(columns.feature("danceability"), 0.0, 1.0),
        "acousticness": 1.0 - np.clip(columns.feature("acousticness"), 0.0, 1.0),
    }
    weighted = np.zeros(len(columns))
    total = np.zeros(len(columns))
    for name, values in parts.items():
        known = ~np.isnan(values)
        weighted[known] += AROUSAL_WEIGHTS[name] * values[known]
        total[known] += AROUSAL_WEIGHTS[name]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, weighted / total, np.nan)


def va_to_music(va: np.ndarray) -> np.ndarray:
    """(n, 2) V/A points -> (n, len(MUSIC_EMOTIONS)) distributions (Gaussian kernel over prototypes)."""
    points = np.atleast_2d(np.asarray(va, dtype=np.float64))
    protos = np.array([MUSIC_PROTOTYPES[m] for m in MUSIC_EMOTIONS], dtype=np.float64)
    d2 = ((points[:, None, :] - protos[None, :, :]) ** 2).sum(-1)
    logits = -d2 / (2 * KERNEL_WIDTH**2)
    logits -= logits.max(axis=1, keepdims=True)
    w = np.exp(logits)
    return w / w.sum(axis=1, keepdims=True)


def image_to_music(emotions: dict[str, float]) -> np.ndarray:
    """A photo's Emotion6 distribution pushed through IMAGE_TO_MUSIC."""
    p = np.array([emotions.get(e, 0.0) for e in IMAGE_EMOTIONS], dtype=np.float64)
    total = p.sum()
    p = p / total if total > 0 else np.full(len(IMAGE_EMOTIONS), 1.0 / len(IMAGE_EMOTIONS))
    return p @ mapping_matrix()
