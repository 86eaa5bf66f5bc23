"""Fast cross-validated ridge for the mood experiments.

Inputs: each block (embedding, colour, stages, logits) standardised and scaled to unit total variance,
then projected on the leading principal components of all photos together (label-free; at most
COMPONENTS of them), so each of the hundreds of fits below is a small weighted ridge:
min sum_i w_i (y_i - b - f_i.beta)^2 + alpha |beta|^2, one eigendecomposition per fit for every alpha.
The shipped heads are fitted on the full standardised inputs instead (train_mood_sources).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

ALPHAS = np.logspace(-2, 4, 13)
COMPONENTS = 256


def block_inputs(blocks: Sequence[np.ndarray]) -> np.ndarray:
    """The blocks side by side, each standardised and divided by sqrt(its width)."""
    out = []
    for x in blocks:
        sd = x.std(axis=0)
        z = (x - x.mean(axis=0)) / np.where(sd > 1e-8, sd, 1.0)
        out.append(z / np.sqrt(z.shape[1]))
    return np.concatenate(out, axis=1)


def components(z: np.ndarray, k: int = COMPONENTS) -> np.ndarray:
    """(n, k) scores of the rows on their k leading principal components (via the n x n Gram matrix)."""
    zc = z - z.mean(axis=0)
    s, u = np.linalg.eigh(zc @ zc.T)
    top = np.argsort(-s)[:k]
    return u[:, top] * np.sqrt(np.maximum(s[top], 0.0))


def ridge_predictions(
    f: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    tr: np.ndarray,
    te: np.ndarray,
    alphas: Sequence[float] | np.ndarray,
) -> np.ndarray:
    """(len(alphas), len(te)) predictions for rows te of weighted ridge fitted on rows tr."""
    wt = w[tr] / w[tr].sum()
    mean = wt @ f[tr]
    y_mean = float(wt @ y[tr])
    fc = f[tr] - mean
    gram = fc.T @ (fc * w[tr][:, None])
    s, v = np.linalg.eigh(gram)
    rhs = v.T @ (fc.T @ (w[tr] * (y[tr] - y_mean)))
    test = (f[te] - mean) @ v
    return np.stack([test @ (rhs / (np.maximum(s, 0) + a)) for a in alphas]) + y_mean


def grouped_folds(groups: np.ndarray, k: int, seed: int) -> np.ndarray:
    """A fold per row; all rows of a group share it (groups shuffled, then dealt round-robin)."""
    uniq = np.random.default_rng(seed).permutation(np.unique(groups))
    fold_of = {g: i % k for i, g in enumerate(uniq)}
    return np.array([fold_of[g] for g in groups], dtype=np.int64)


def alpha_errors(
    f: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    rows: np.ndarray,
    groups: np.ndarray,
    seed: int,
    folds: int = 5,
) -> np.ndarray:
    """The weighted inner-CV squared error on `rows` (folds by group) of each of ALPHAS."""
    fold = grouped_folds(groups[rows], folds, seed)
    err = np.zeros(len(ALPHAS))
    for k in range(folds):
        tr, te = rows[fold != k], rows[fold == k]
        pred = ridge_predictions(f, y, w, tr, te, ALPHAS)
        err += ((pred - y[te][None, :]) ** 2 * w[te][None, :]).sum(axis=1)
    return err


def pick_alpha(
    f: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    rows: np.ndarray,
    groups: np.ndarray,
    seed: int,
    folds: int = 5,
) -> float:
    """The alpha with the lowest weighted inner-CV squared error on `rows` (folds by group)."""
    return float(ALPHAS[int(np.argmin(alpha_errors(f, y, w, rows, groups, seed, folds)))])
