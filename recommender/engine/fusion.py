"""Fusing strategy scores into one ranking score.

WeightedSum is the default. A Fusion only sees the per-strategy score arrays over the same candidates,
so reciprocal-rank fusion (sum of w / (k + rank)) can be added later as another Fusion.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

import numpy as np

from .strategies.base import StrategyResult

DEFAULT_WEIGHTS: dict[str, float] = {"va_match": 0.6, "emotion": 0.4}


class Fusion(Protocol):
    name: str

    def fuse(self, results: Mapping[str, StrategyResult]) -> np.ndarray:
        """(n_candidates,) fused scores, higher is better."""
        ...


class WeightedSum:
    """sum_s w_s * score_s / sum_s w_s over the strategies that ran; stays in [0, 1]."""

    name = "weighted_sum"

    def __init__(self, weights: Mapping[str, float]) -> None:
        if any(w < 0 for w in weights.values()):
            raise ValueError("fusion weights must be non-negative")
        self.weights = dict(weights)

    def fuse(self, results: Mapping[str, StrategyResult]) -> np.ndarray:
        used = {name: self.weights.get(name, 0.0) for name in results}
        total = sum(used.values())
        if not results:
            raise ValueError("nothing to fuse")
        n = len(next(iter(results.values())).scores)
        if total <= 0:
            return np.zeros(n)
        fused = np.zeros(n)
        for name, result in results.items():
            fused += used[name] * np.asarray(result.scores, dtype=np.float64)
        return fused / total
