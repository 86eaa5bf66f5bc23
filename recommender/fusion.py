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

Abstention: a strategy that cannot see a candidate (StrategyResult.seen False: no audio features, no
text) takes no part in that candidate's score. Each candidate's fused score is normalised by the weights
of the strategies that saw it, so a track is neither rewarded nor punished for what a strategy cannot
know about it; RRF ranks a strategy's candidates among those it saw. A candidate no strategy saw gets 0.
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
    weights: dict[str, float]

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


def _seen(result: StrategyResult, n: int) -> np.ndarray:
    return np.ones(n, dtype=bool) if result.seen is None else result.seen


def _normalise(fused: np.ndarray, total: np.ndarray) -> np.ndarray:
    """fused / total where some strategy saw the candidate, else 0."""
    return np.divide(fused, total, out=np.zeros_like(fused), where=total > 0)


class WeightedSum:
    """sum_s w_s * score_s / sum_s w_s over the strategies that ran and saw the candidate; in [0, 1]."""

    name = "weighted"

    def __init__(self, weights: Mapping[str, float]) -> None:
        self.weights = _check_weights(weights)

    def fuse(self, results: Mapping[str, StrategyResult]) -> np.ndarray:
        n = _size(results)
        fused, total = np.zeros(n), np.zeros(n)
        for name, weight in _positive_weights(self.weights, results).items():
            seen = _seen(results[name], n)
            fused += np.where(seen, weight * np.asarray(results[name].scores, dtype=np.float64), 0.0)
            total += weight * seen
        return _normalise(fused, total)


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
        n = _size(results)
        fused, total = np.zeros(n), np.zeros(n)
        for name, weight in _positive_weights(self.weights, results).items():
            seen = _seen(results[name], n)
            scores = np.where(seen, np.asarray(results[name].scores, dtype=np.float64), -np.inf)
            fused += np.where(seen, weight / (self.k + ranks(scores)), 0.0)
            total += np.where(seen, weight / (self.k + 1), 0.0)
        return _normalise(fused, total)


def make_fusion(kind: str, weights: Mapping[str, float]) -> Fusion:
    """The fusion called `kind` ("weighted" or "rrf") with these strategy weights."""
    if kind == "weighted":
        return WeightedSum(weights)
    if kind == "rrf":
        return ReciprocalRankFusion(weights)
    raise ValueError(f"unknown fusion {kind!r}; choose one of {', '.join(FUSIONS)}")
