"""Learn per-user terms on top of a global reranker (served by recommender/user_terms.py).

1. Calibrate the global reranker's raw score to log-odds over everyone's training ratings (a one-feature
   logistic regression: a, b).
2. For each user with at least MIN_RATINGS training ratings, fit w_u by Newton's method on the penalised
   log-likelihood of that user's ratings alone, with the calibrated global score as a fixed offset:
       minimise  -sum_i log p(y_i | a raw_i + b + w_u . x_i)  +  RIDGE / 2 * |w_u|^2
   The penalty shrinks w_u toward zero, that is toward the global model; a user with few or
   inconsistent ratings ends close to it. Only the user's own ratings enter w_u, and w_u is used only
   for that user's runs.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from recommender.user_terms import FEATURES, MIN_RATINGS, PersonalSpec

RIDGE = 10.0
NEWTON_STEPS = 25


def calibrate(
    raw: np.ndarray, labels: np.ndarray, features: np.ndarray, names: Sequence[str]
) -> PersonalSpec:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=1e4, max_iter=1000).fit(np.asarray(raw).reshape(-1, 1), labels)
    a = float(model.coef_[0, 0])
    columns = np.asarray(features)[:, [list(names).index(f) for f in FEATURES]]
    scale = columns.std(axis=0)
    scale[scale < 1e-9] = 1.0
    # a <= 0 would turn the global order around for users with terms: keep it a pure shift then.
    return PersonalSpec(max(a, 1e-3), float(model.intercept_[0]), columns.mean(axis=0), scale, RIDGE)


def fit_user(x: np.ndarray, offset: np.ndarray, labels: np.ndarray, ridge: float = RIDGE) -> np.ndarray:
    """w minimising the penalised logistic loss with a fixed offset (Newton's method; convex)."""
    w = np.zeros(x.shape[1])
    y = np.asarray(labels, dtype=np.float64)
    for _ in range(NEWTON_STEPS):
        p = 1.0 / (1.0 + np.exp(-(offset + x @ w)))
        gradient = x.T @ (p - y) + ridge * w
        hessian = (x * (p * (1 - p))[:, None]).T @ x + ridge * np.eye(len(w))
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-6:
            break
    return w


def fit_users(
    spec: PersonalSpec,
    raw: np.ndarray,
    features: np.ndarray,
    names: Sequence[str],
    labels: np.ndarray,
    users: np.ndarray,
) -> dict[int, tuple[np.ndarray, int]]:
    """user id -> (w_u, how many ratings it was fitted on), for users with at least spec.min_ratings."""
    x = spec.inputs(features, names)
    offset = spec.global_logit(raw)
    users = np.asarray(users, dtype=np.int64)
    ids, counts = np.unique(users, return_counts=True)
    out: dict[int, tuple[np.ndarray, int]] = {}
    for user, count in zip(ids, counts, strict=True):
        if count < spec.min_ratings:
            continue
        rows = users == user
        out[int(user)] = (fit_user(x[rows], offset[rows], labels[rows], spec.ridge), int(count))
    return out


__all__ = ["MIN_RATINGS", "calibrate", "fit_user", "fit_users"]
