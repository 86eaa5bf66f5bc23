"""Small builders shared by the engine tests."""

from __future__ import annotations

import numpy as np

from recommender.pipeline import EngineConfig
from recommender.types import IMAGE_EMOTIONS, PhotoAnalysis, TrackRow


def mood_only_config(**overrides: object) -> EngineConfig:
    """The V/A and emotion strategies only: synthetic photos have no real encoder embedding for the heads."""
    weights = {"va_match": 0.6, "emotion": 0.4}
    return EngineConfig(strategies=tuple(weights), fusion_weights=tuple(weights.items()), **overrides)  # type: ignore[arg-type]


def make_photo(valence: float, arousal: float, top: str = "joy") -> PhotoAnalysis:
    emotions = {e: (0.7 if e == top else 0.05) for e in IMAGE_EMOTIONS}
    return PhotoAnalysis(
        valence=valence,
        arousal=arousal,
        emotions=emotions,
        embedding=np.zeros(8, dtype=np.float32),
        colour={},
        descriptors=[],
    )


def grid_rows(n_artists: int = 10, per_artist: int = 3) -> list[TrackRow]:
    """Tracks spread over V/A space; each artist has a few tracks at nearby positions."""
    rng = np.random.default_rng(0)
    rows = []
    tid = 1
    for a in range(n_artists):
        base = rng.uniform(0.05, 0.95, size=2)
        for j in range(per_artist):
            v, ar = np.clip(base + rng.normal(0, 0.02, size=2), 0, 1)
            rows.append(
                TrackRow(track_id=tid, artist=f"Artist {a}", title=f"Song {a}-{j}", valence=v, arousal=ar)
            )
            tid += 1
    return rows
