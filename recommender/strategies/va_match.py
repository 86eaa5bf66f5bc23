"""IMUSE valence/arousal matching (Chheda et al.): S = 1 - sqrt((Vi - Vm)^2 + (Ai - Am)^2)."""

from __future__ import annotations

import numpy as np

from ..catalogue_index import TrackCatalogue
from ..describe import describe_track_mood
from ..types import PhotoAnalysis
from .base import StrategyResult


def imuse_similarity(photo_va: tuple[float, float] | np.ndarray, track_va: np.ndarray) -> np.ndarray:
    """S for each row of track_va (n, 2); V/A in [0, 1]. S can dip below 0 at distances over 1
    (opposite corners); callers that need [0, 1] clip."""
    p = np.asarray(photo_va, dtype=np.float64).reshape(1, 2)
    t = np.atleast_2d(np.asarray(track_va, dtype=np.float64))
    return 1.0 - np.sqrt(((t - p) ** 2).sum(axis=1))


class VAMatch:
    name = "va_match"

    def score(
        self,
        photo: PhotoAnalysis,
        target: tuple[float, float],
        catalogue: TrackCatalogue,
        candidate_idx: np.ndarray,
    ) -> StrategyResult:
        track_va = np.asarray(catalogue.va)[candidate_idx]
        scores = np.clip(imuse_similarity(target, track_va), 0.0, 1.0)
        scores = np.nan_to_num(scores, nan=0.0)
        stats = catalogue.arousal_stats

        def explain(positions: np.ndarray) -> list[str]:
            reasons = []
            for s, (v, a) in zip(scores[positions], track_va[positions], strict=True):
                if s >= 0.85:
                    reasons.append(f"track mood close (V/A match {s:.2f})")
                else:
                    words = describe_track_mood(float(v), float(a), stats)
                    reasons.append(f"track is {words} (V/A match {s:.2f})")
            return reasons

        return StrategyResult(scores, explain)
