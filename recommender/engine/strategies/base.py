"""The Strategy protocol: one way to score (photo, track) pairs over a candidate set."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ..catalogue_index import TrackCatalogue
from ..types import PhotoAnalysis


@dataclass
class StrategyResult:
    scores: np.ndarray  # (len(candidate_idx),) in [0, 1], higher is better
    reasons: list[str]  # one per candidate ("" when the strategy has nothing to say)


class Strategy(Protocol):
    name: str

    def score(
        self,
        photo: PhotoAnalysis,
        target: tuple[float, float],
        catalogue: TrackCatalogue,
        candidate_idx: np.ndarray,
    ) -> StrategyResult:
        """Score catalogue rows candidate_idx for this photo; target is the V/A to aim for
        (the photo's own mood in "match" mode, a brighter one in "lift" mode)."""
        ...
