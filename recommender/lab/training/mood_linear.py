"""The regularised linear models of train_mood, with their regularisation chosen by an inner 5-fold CV
(stratified by label) on the rows they are fitted to: ridge regression (closed form via SVD) and softmax
regression on soft labels (L-BFGS)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch

from recommender.lab.stats import standardiser
from recommender.mood import softmax

RIDGE_ALPHAS = np.logspace(1, 6, 11)
SOFTMAX_L2 = (0.03, 0.1, 0.3, 1.0)


def stratified_folds(labels: np.ndarray, k: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    fold = np.empty(len(labels), dtype=np.int64)
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        fold[idx] = np.arange(len(idx)) % k
    return fold


def inner_folds(
    x: np.ndarray, labels: np.ndarray, seed: int, k: int = 5
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """For each of k stratified folds: (train mask, test mask, train rows standardised, test rows
    standardised with the train rows' statistics)."""
    fold = stratified_folds(labels, k, seed)
    for f in range(k):
        tr, te = fold != f, fold == f
        mean, std = standardiser(x[tr])
        yield tr, te, (x[tr] - mean) / std, (x[te] - mean) / std


# --- ridge (closed form via SVD: every alpha costs one matrix product) -------------------------------


def ridge_path(z: np.ndarray, y: np.ndarray, alphas: np.ndarray) -> tuple[np.ndarray, float]:
    """Weights for each alpha, shape (len(alphas), d), and the intercept (z is standardised, centred)."""
    y_mean = float(y.mean())
    u, s, vt = np.linalg.svd(z, full_matrices=False)
    uty = u.T @ (y - y_mean)
    ws = np.stack([vt.T @ (s / (s**2 + a) * uty) for a in alphas])
    return ws, y_mean


def pick_alpha(z: np.ndarray, y: np.ndarray, labels: np.ndarray, seed: int) -> float:
    """Alpha with the lowest inner 5-fold MSE."""
    errors = np.zeros(len(RIDGE_ALPHAS))
    for tr, te, z_tr, z_te in inner_folds(z, labels, seed):
        ws, b = ridge_path(z_tr, y[tr], RIDGE_ALPHAS)
        pred = z_te @ ws.T + b
        errors += ((pred - y[te, None]) ** 2).sum(axis=0)
    return float(RIDGE_ALPHAS[int(np.argmin(errors))])


def fit_ridge(z: np.ndarray, y: np.ndarray, alpha: float) -> tuple[np.ndarray, float]:
    ws, b = ridge_path(z, y, np.array([alpha]))
    return ws[0], b


def oof_ridge(x: np.ndarray, y: np.ndarray, labels: np.ndarray, alpha: float, seed: int) -> np.ndarray:
    """Out-of-fold predictions (standardising inside each fold)."""
    out = np.zeros(len(y))
    for tr, te, z_tr, z_te in inner_folds(x, labels, seed):
        w, b = fit_ridge(z_tr, y[tr], alpha)
        out[te] = z_te @ w + b
    return out


# --- softmax regression on soft labels (the 7-way Emotion6 distributions) --------------------------


def fit_softmax(z: np.ndarray, p: np.ndarray, l2: float) -> tuple[np.ndarray, np.ndarray]:
    zt = torch.from_numpy(z)
    pt = torch.from_numpy(p)
    w = torch.zeros(z.shape[1], p.shape[1], dtype=torch.float64, requires_grad=True)
    b = torch.zeros(p.shape[1], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([w, b], lr=1.0, max_iter=100, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        logp = torch.log_softmax(zt @ w + b, dim=1)
        loss = -(pt * logp).sum(dim=1).mean() + 0.5 * l2 * (w**2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return w.detach().numpy(), b.detach().numpy()


def pick_l2(x: np.ndarray, p: np.ndarray, labels: np.ndarray, seed: int) -> float:
    losses = np.zeros(len(SOFTMAX_L2))
    for tr, te, z_tr, z_te in inner_folds(x, labels, seed):
        for i, l2 in enumerate(SOFTMAX_L2):
            w, b = fit_softmax(z_tr, p[tr], l2)
            q = softmax(z_te @ w + b)
            losses[i] -= (p[te] * np.log(q + 1e-12)).sum()
    return float(SOFTMAX_L2[int(np.argmin(losses))])
