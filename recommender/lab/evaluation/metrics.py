"""Ranking metrics over binary relevance, their expected values under a random ranking, and macro averaging.

Every function takes `ranked`: a (n_photos, n_ranked) boolean matrix, row p = relevance of photo p's
ranking, best first; `relevant`: (n_photos,) how many relevant tracks the whole catalogue holds for
that photo (the ranking may be cut, so it is not always ranked.sum(1)).

Definitions (binary gains, ranks 1-based):
    P@k       = (relevant among the first k) / k
    MRR       = 1 / rank of the first relevant track (0 if none is ranked)
    NDCG@10   = sum_{i<=10} rel_i / log2(i + 1), divided by the same sum for an ideal ranking
    MAP@10    = sum_{i<=10} P@i * rel_i / min(R, 10)      (R = relevant tracks in the catalogue)
Chance is the exact expectation over uniformly random permutations of a catalogue of n tracks with R
relevant ones (hypergeometric), so it needs no sampling.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

METRICS: tuple[str, ...] = ("P@1", "P@5", "P@10", "MRR", "NDCG@10", "MAP@10")
CUTOFF = 10  # for NDCG and MAP


def _discounts(k: int) -> np.ndarray:
    return 1.0 / np.log2(np.arange(2, k + 2))


def precision_at(ranked: np.ndarray, k: int) -> np.ndarray:
    return np.asarray(ranked[:, :k], dtype=np.float64).sum(axis=1) / k


def reciprocal_rank(ranked: np.ndarray) -> np.ndarray:
    hit = np.asarray(ranked, dtype=bool)
    first = hit.argmax(axis=1)
    return np.where(hit.any(axis=1), 1.0 / (first + 1), 0.0)


def ideal_dcg(relevant: np.ndarray, k: int = CUTOFF) -> np.ndarray:
    cumulative = np.concatenate([[0.0], np.cumsum(_discounts(k))])
    return cumulative[np.minimum(np.asarray(relevant, dtype=np.int64), k)]


def ndcg_at(ranked: np.ndarray, relevant: np.ndarray, k: int = CUTOFF) -> np.ndarray:
    top = np.asarray(ranked[:, :k], dtype=np.float64)
    dcg = top @ _discounts(k)[: top.shape[1]]
    ideal = ideal_dcg(relevant, k)
    return np.divide(dcg, ideal, out=np.zeros_like(dcg), where=ideal > 0)


def average_precision_at(ranked: np.ndarray, relevant: np.ndarray, k: int = CUTOFF) -> np.ndarray:
    top = np.asarray(ranked[:, :k], dtype=np.float64)
    hits = np.cumsum(top, axis=1)
    precision = hits / np.arange(1, top.shape[1] + 1)
    norm = np.minimum(np.asarray(relevant, dtype=np.float64), k)
    total = (precision * top).sum(axis=1)
    return np.divide(total, norm, out=np.zeros_like(total), where=norm > 0)


def per_photo(ranked: np.ndarray, relevant: np.ndarray) -> dict[str, np.ndarray]:
    """Every metric in METRICS for each photo."""
    ranked = np.atleast_2d(np.asarray(ranked, dtype=bool))
    relevant = np.asarray(relevant)
    return {
        "P@1": precision_at(ranked, 1),
        "P@5": precision_at(ranked, 5),
        "P@10": precision_at(ranked, 10),
        "MRR": reciprocal_rank(ranked),
        "NDCG@10": ndcg_at(ranked, relevant),
        "MAP@10": average_precision_at(ranked, relevant),
    }


# --- chance ---------------------------------------------------------------------------------------------


def chance_reciprocal_rank(n: int, r: int) -> float:
    """E[1 / rank of the first relevant] for a random permutation of n items, r of them relevant."""
    if r <= 0 or n <= 0:
        return 0.0
    i = np.arange(1, n - r + 2)  # the first relevant can sit at ranks 1 .. n - r + 1
    # P(first at i) = prod_{j<i-1} (n - r - j) / (n - j) * r / (n - i + 1)
    miss = np.concatenate([[1.0], np.cumprod((n - r - np.arange(n - r)) / (n - np.arange(n - r)))])
    p_first = miss[: len(i)] * r / (n - i + 1)
    return float((p_first / i).sum())


def chance_per_photo(n: int, relevant: np.ndarray) -> dict[str, np.ndarray]:
    """Expected metrics of a random ranking of all n tracks, for each photo's relevant count."""
    relevant = np.asarray(relevant, dtype=np.int64)
    p = relevant / n
    # Pairs: P(rel_i and rel_j) for i != j.
    pair = relevant * (relevant - 1) / (n * (n - 1)) if n > 1 else np.zeros(len(relevant))
    k = CUTOFF
    ranks = np.arange(1, min(k, n) + 1)
    dcg = p * _discounts(k)[: len(ranks)].sum()
    ideal = ideal_dcg(relevant, k)
    # E[sum_i P@i rel_i] = sum_i (1/i) (P(rel_i) + (i - 1) P(rel_i, rel_j)).
    ap_sum = (p[:, None] + (ranks[None, :] - 1) * pair[:, None]) / ranks[None, :]
    norm = np.minimum(relevant, k).astype(np.float64)
    return {
        "P@1": p.astype(np.float64),
        "P@5": p.astype(np.float64),
        "P@10": p.astype(np.float64),
        "MRR": np.array([chance_reciprocal_rank(n, int(r)) for r in relevant]),
        "NDCG@10": np.divide(dcg, ideal, out=np.zeros(len(relevant)), where=ideal > 0),
        "MAP@10": np.divide(ap_sum.sum(axis=1), norm, out=np.zeros(len(relevant)), where=norm > 0),
    }


# --- averaging --------------------------------------------------------------------------------------


def macro_average(values: np.ndarray, classes: Sequence[object] | np.ndarray) -> float:
    """Mean within each class, then the mean of those class means (every class counts the same)."""
    values = np.asarray(values, dtype=np.float64)
    labels = np.asarray(classes)
    if len(values) == 0:
        return float("nan")
    return float(np.mean([values[labels == c].mean() for c in np.unique(labels)]))


def macro(metrics: dict[str, np.ndarray], classes: Sequence[object] | np.ndarray) -> dict[str, float]:
    return {name: macro_average(v, classes) for name, v in metrics.items()}


def ranked_relevance(scores: np.ndarray, relevance: np.ndarray) -> np.ndarray:
    """Sort each row of scores (n_photos, n_tracks) best first (ties: lower track row first) and return
    the relevance (n_photos, n_tracks) bool in that order."""
    order = np.argsort(-np.asarray(scores, dtype=np.float64), axis=1, kind="stable")
    return np.take_along_axis(np.asarray(relevance, dtype=bool), order, axis=1)


def by_permutation(relevance: np.ndarray, rng: np.random.Generator, rounds: int) -> dict[str, np.ndarray]:
    """Metrics averaged over `rounds` random rankings (a check on the analytic chance values)."""
    relevance = np.atleast_2d(np.asarray(relevance, dtype=bool))
    total: dict[str, np.ndarray] = {}
    count = relevance.sum(axis=1)
    for _ in range(rounds):
        order = np.argsort(rng.random(relevance.shape), axis=1)
        found = per_photo(np.take_along_axis(relevance, order, axis=1), count)
        for name, v in found.items():
            total[name] = total.get(name, 0.0) + v / rounds
    return total
