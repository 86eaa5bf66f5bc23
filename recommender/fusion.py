"""Fusing strategy scores into one ranking score.

Two fusions, chosen by EngineConfig.fusion:

- "weighted" (WeightedSum, the default): sum_s w_s * score_s / sum_s w_s. It trusts the scale of each
  strategy's scores, so a strategy whose scores spread widely dominates one whose scores bunch up.
- "rrf" (ReciprocalRankFusion, Cormack et al. 2009): sum_s w_s / (k + rank_s) with k = 60, where rank_s
  is the candidate's rank (1 = best) under strategy s. It only uses each strategy's order, which makes
  strategies with very different score scales comparable; this is the "weighted union" of Mood Melody
  Mapper. De-duplication is implicit: every candidate is one row.

A Fusion only sees the per-strategy score arrays over the same candidates. Both fusions return scores in
[0, 1] (RRF is divided by its best possible value) and ignore strategies with weight 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

import numpy as np

from .strategies.base import StrategyResult

RRF_K = 60
FUSIONS: tuple[str, ...] = ("weighted", "rrf")


class Fusion(Protocol):
    name: str

    def fuse(self, results: Mapping[str, StrategyResult]) -> np.ndarray:
        """(n_candidates,) fused scores, higher is better."""
        ...


def _check_weights(weights: Mapping[str, float]) -> dict[str, float]:
    if any(w < 0 for w in weights.values()):
        raise ValueError("fusion weights must be non-negative")
    return dict(weights)


def _size(results: Mapping[str, StrategyResult]) -> int:
    if not results:
        raise ValueError("nothing to fuse")
    return len(next(iter(results.values())).scores)


def _positive_weights(
    weights: Mapping[str, float], results: Mapping[str, StrategyResult]
) -> dict[str, float]:
    """The weights of the strategies that ran and count (weight > 0)."""
    return {name: weights[name] for name in results if weights.get(name, 0.0) > 0}


class WeightedSum:
    """sum_s w_s * score_s / sum_s w_s over the strategies that ran; stays in [0, 1]."""

    name = "weighted"

    def __init__(self, weights: Mapping[str, float]) -> None:
        self.weights = _check_weights(weights)

    def fuse(self, results: Mapping[str, StrategyResult]) -> np.ndarray:
        fused = np.zeros(_size(results))
        used = _positive_weights(self.weights, results)
        for name, weight in used.items():
            fused += weight * np.asarray(results[name].scores, dtype=np.float64)
        return fused / sum(used.values()) if used else fused


def ranks(scores: np.ndarray) -> np.ndarray:
    """1-based competition ranks, best (highest) first: tied scores share the better rank."""
    neg = -np.asarray(scores, dtype=np.float64)
    return np.searchsorted(np.sort(neg), neg, side="left") + 1


class ReciprocalRankFusion:
    """sum_s w_s / (k + rank_s) / (sum_s w_s / (k + 1)): 1.0 for a candidate every strategy ranks first."""

    name = "rrf"

    def __init__(self, weights: Mapping[str, float], k: int = RRF_K) -> None:
        self.weights = _check_weights(weights)
        self.k = k

    def fuse(self, results: Mapping[str, StrategyResult]) -> np.ndarray:
        fused = np.zeros(_size(results))
        used = _positive_weights(self.weights, results)
        for name, weight in used.items():
            fused += weight / (self.k + ranks(results[name].scores))
        return fused / (sum(used.values()) / (self.k + 1)) if used else fused


def make_fusion(kind: str, weights: Mapping[str, float]) -> Fusion:
    """The fusion called `kind` ("weighted" or "rrf") with these strategy weights."""
    if kind == "weighted":
        return WeightedSum(weights)
    if kind == "rrf":
        return ReciprocalRankFusion(weights)
    raise ValueError(f"unknown fusion {kind!r}; choose one of {', '.join(FUSIONS)}")
