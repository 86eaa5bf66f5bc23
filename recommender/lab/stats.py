"""Small statistics the lab's trainers and the evaluation share.

One rule for "better beyond the noise" (paired_gain_lower_bound): a paired bootstrap that draws whole
groups (runs of ratings for the reranker gate, photo themes for the default fusion weights), and a gain
counts only if its one-sided GAIN_CONFIDENCE lower bound is above 0.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

GAIN_CONFIDENCE = 0.95
GAIN_RESAMPLES = 1000
BOOTSTRAP_SEED = 0


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson r; nan when either side has fewer than two values or no spread."""
    if len(a) < 2 or np.std(a) < 1e-12 or np.std(b) < 1e-12:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def standardiser(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column means and standard deviations of x; a constant column's sd is 1, so it is only centred."""
    std = x.std(axis=0)
    return x.mean(axis=0), np.where(std > 1e-8, std, 1.0)


def group_resamples(
    groups: np.ndarray, resamples: int = GAIN_RESAMPLES, seed: int = BOOTSTRAP_SEED
) -> Iterator[np.ndarray]:
    """(n_rows,) row weights of each draw of a bootstrap drawing whole groups with replacement: a row's
    weight is how often its group was drawn. The same seed gives the same draws, so every comparison on
    the same rows is judged on the same resamples."""
    rng = np.random.default_rng(seed)
    _, group_of = np.unique(groups, return_inverse=True)
    n = int(group_of.max()) + 1 if len(group_of) else 0
    for _ in range(resamples):
        yield np.bincount(rng.integers(n, size=n), minlength=n)[group_of].astype(np.float64)


def paired_gain_lower_bound(gain: Callable[[np.ndarray], float], groups: np.ndarray) -> float:
    """The one-sided GAIN_CONFIDENCE lower bound of gain(row weights) (a candidate's figure less its
    rival's, both computed on the same weighted rows: paired), over GAIN_RESAMPLES draws of whole groups
    (group_resamples): the rows of one group are not independent."""
    gains = np.array([gain(weights) for weights in group_resamples(groups)])
    return float(np.quantile(gains, 1 - GAIN_CONFIDENCE))
