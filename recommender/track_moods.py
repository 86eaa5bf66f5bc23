"""Corrections of tracks' mood positions learned from ratings (recommender/lab/track_mood_training.py).

A track liked for photos of one mood moves toward that mood, one disliked moves away from it: shrunk
toward no move, bounded, and only for tracks with enough ratings from enough users. They travel in the
reranker artifact (track_moods.json, beside reranker.json) and are applied where the engine reads a
track's position: the worker ranks with a corrected copy of the catalogue index (its V/A and the music
emotions derived from it), so the strategies, the personal boost and the reranker's features all see
the corrected positions. The catalogue's own data is never changed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .catalogue_index import TrackCatalogue
from .tracks import va_to_music

FILE = "track_moods.json"
FORMAT = "photophone-track-moods/1"


@dataclass(frozen=True)
class TrackMoods:
    """track id -> (valence shift, arousal shift), added to the track's position and clipped to [0, 1]."""

    shifts: dict[int, tuple[float, float]]

    def __len__(self) -> int:
        return len(self.shifts)

    def positions(self, track_ids: np.ndarray, va: np.ndarray) -> np.ndarray:
        """A corrected copy of va (n, 2) for these tracks; NaN (no position) stays NaN."""
        out = np.array(va, dtype=np.float64, copy=True).reshape(-1, 2)
        for i, track in enumerate(np.asarray(track_ids)):
            shift = self.shifts.get(int(track))
            if shift is not None and not np.isnan(out[i]).any():
                out[i] = np.clip(out[i] + shift, 0.0, 1.0)
        return out

    def apply(self, catalogue: TrackCatalogue) -> TrackCatalogue:
        """A copy of the catalogue with the corrected positions (arrays shared where unchanged)."""
        rows = catalogue.row_of(list(self.shifts))
        if not rows:
            return catalogue
        at = np.fromiter(rows.values(), dtype=np.int64)
        va = np.array(catalogue.va, dtype=np.float32, copy=True)
        corrected = self.positions(np.fromiter(rows, dtype=np.int64), va[at])
        va[at] = corrected
        music = np.array(catalogue.music_emotions, dtype=np.float32, copy=True)
        positioned = at[~np.isnan(corrected).any(axis=1)]
        if len(positioned):
            music[positioned] = va_to_music(va[positioned]).astype(np.float32)
        return replace(catalogue, va=va, music_emotions=music, on_gpu=dict(catalogue.on_gpu))

    def save(self, directory: Path) -> str:
        body = {
            "format": FORMAT,
            "shifts": {str(t): [round(s[0], 5), round(s[1], 5)] for t, s in sorted(self.shifts.items())},
        }
        (directory / FILE).write_text(json.dumps(body))
        return FILE

    @classmethod
    def load(cls, directory: Path) -> TrackMoods | None:
        path = directory / FILE
        if not path.exists():
            return None
        body = json.loads(path.read_text())
        if body.get("format") != FORMAT:
            raise ValueError(f"{path} is not a {FORMAT} file")
        return cls({int(t): (float(s[0]), float(s[1])) for t, s in body["shifts"].items()})
