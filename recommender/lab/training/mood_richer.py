"""Richer inputs for the mood ridge (issue 9, section 2), under mood_heads' protocol and reporting:

    nice -n 10 python -m recommender.lab.training.mood_heads --data ../shared/data \
        --cache CACHE --out CACHE/richer.json --only "Lite2 + 2x2 grid means;..."

Features come from mood_views (--views plain,s300,s340,s380 for the other scales). Variants:
- pooling of the last feature map beyond its global mean: a 2x2 / 3x3 grid of means, generalised mean
  (p = 3), max, spatial standard deviation (each beside the served inputs, as one more block);
- a higher input resolution for Lite1 and Lite2 (300, 340 and 380 px), two scales averaged or side by side,
  and the input size chosen inside each fold (input_choice_predictions);
- Lite0, Lite1 and Lite2 together, with the ridge alone or with the number of principal components
  chosen inside each fold (pc_ridge_predictions); Lite1 + Lite2 with the blocks' weights in the penalty
  chosen inside each fold (block_weight_predictions);
- finer colour statistics (mood_views.colour_more) beside the served ones.
Every block is standardised and weighs the same in the ridge penalty (train_mood_sources.block_scale),
so a wide block (the 3x3 grid: 11,520 columns) counts as much as the 9 colour statistics.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from recommender.lab.stats import standardiser

from .mood_kernel import ALPHAS, grouped_folds, ridge_predictions
from .mood_variants import (
    L0,
    L2,
    LITE2_BESIDE,
    RECIPE,
    SERVED_BLOCKS,
    Data,
    Predictions,
    dual_fit_predict,
    gram_components,
    gram_fit_predict,
    protocol_predictions,
)
from .mood_views import LITE1
from .train_mood_sources import Pool, Recipe, block_scale

HIGH = "s300"  # the higher resolution: the whole photo at 300 px
HIGHER = "s340"  # and at 340 px (tried after 300 px helped Lite1)
HIGHEST = "s380"  # and at 380 px (tried after 340 px helped the pair)
PC_COUNTS = (32, 64, 128, 256, 512, 1024)
INNER_FOLDS = 5
LITE12_KINDS = ("embeddings", "colour", "stages", "logits", "embeddings", "stages", "logits")  # lite12()
BLOCK_WEIGHT_GRID = {"embeddings": (1.0, 3.0), "stages": (1 / 3, 1.0, 3.0), "logits": (1 / 3, 1.0, 3.0)}


def ridge(pool: Pool) -> Predictions:
    """mood-v4's ridge (mood_variants.gram_fit_predict: alpha chosen inside each fold) on these inputs."""
    return protocol_predictions(pool, RECIPE, gram_fit_predict(pool, RECIPE))[0]


def block_grams(pool: Pool) -> list[np.ndarray]:
    """Per block, the (n, n) Gram matrix of its centred, standardised, block-scaled columns (label-free):
    the ridge's Gram with block weights m is sum(m_b * G_b)."""
    mean, std = standardiser(pool.x)
    z = (pool.x - mean) / (std * block_scale(pool))
    z -= z.mean(axis=0)
    edges = np.cumsum([0, *pool.widths])
    return [z[:, a:b] @ z[:, a:b].T for a, b in itertools.pairwise(edges)]


def components_of(gram: np.ndarray, k: int) -> np.ndarray:
    """(n, k) scores on the k leading principal components of a centred Gram matrix."""
    s, u = np.linalg.eigh(gram)
    top = np.argsort(-s)[:k]
    return u[:, top] * np.sqrt(np.maximum(s[top], 0.0))


def leading_components(pool: Pool, k: int) -> np.ndarray:
    """(n, k) scores on the pool's k leading principal components (block-scaled inputs, label-free)."""
    return components_of(sum(block_grams(pool)), k)  # type: ignore[arg-type]


def pc_fit_predict(
    candidates: Sequence[np.ndarray], groups: np.ndarray, seed: int, counts: Sequence[int] = PC_COUNTS
) -> Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], np.ndarray]:
    """A weighted ridge on the k leading components of one of the candidate inputs (component scores,
    e.g. of the same blocks weighted differently); the candidate, k and alpha chosen together by an inner
    CV on the training rows (theme-grouped, weighted squared error); counts above a width are skipped."""
    width = min(f.shape[1] for f in candidates)
    counts = [k for k in counts if k <= width]
    grid = [(c, k) for c in range(len(candidates)) for k in counts]

    def fit_predict(y: np.ndarray, w: np.ndarray, tr: np.ndarray, te: np.ndarray) -> np.ndarray:
        use = tr[w[tr] > 0]
        fold = grouped_folds(groups[use], INNER_FOLDS, seed + 5)
        err = np.zeros((len(grid), len(ALPHAS)))
        for j in range(INNER_FOLDS):
            a, b = use[fold != j], use[fold == j]
            for i, (c, k) in enumerate(grid):
                pred = ridge_predictions(candidates[c][:, :k], y, w, a, b, ALPHAS)
                err[i] += ((pred - y[b][None, :]) ** 2 * w[b][None, :]).sum(axis=1)
        best = int(np.argmin(err))
        (c, k), alpha = grid[best // len(ALPHAS)], float(ALPHAS[best % len(ALPHAS)])
        chosen.append((c, k, alpha))
        return ridge_predictions(candidates[c][:, :k], y, w, use, te, [alpha])

    chosen: list[tuple[int, int, float]] = []
    fit_predict.chosen = chosen  # type: ignore[attr-defined]  # (candidate, k, alpha) per fit, for the log
    return fit_predict


def pc_ridge_predictions(
    pool: Pool,
    recipe: Recipe = RECIPE,
    block_weights: Sequence[Sequence[float]] = (),
    counts: Sequence[int] = PC_COUNTS,
) -> Predictions:
    """pc_fit_predict on the pool's components; with block_weights, one candidate per weighting of the
    blocks (each block's share of the penalty-weighted variance times its weight)."""
    grams = block_grams(pool)
    weightings = block_weights or [[1.0] * len(grams)]
    candidates = [
        components_of(sum(m * g for m, g in zip(ws, grams, strict=True)), max(counts))  # type: ignore[arg-type]
        for ws in weightings
    ]
    fit_predict = pc_fit_predict(candidates, pool.groups, recipe.seed, counts)
    p = protocol_predictions(pool, recipe, fit_predict)[0]
    print(f"candidate, components, alpha chosen per fit: {fit_predict.chosen}")  # type: ignore[attr-defined]
    return p


def block_weight_predictions(
    pool: Pool, block_weights: Sequence[Sequence[float]], recipe: Recipe = RECIPE
) -> Predictions:
    """mood-v4's ridge with the blocks' weights in the penalty (each block's share of the variance times
    its weight) chosen, with alpha, inside each fold among block_weights (mood_variants.dual_fit_predict:
    the full dual ridge, the choice by the inner CV on each weighting's leading 256 components)."""
    grams = block_grams(pool)
    candidates = []
    for ws in block_weights:
        gram = sum(m * g for m, g in zip(ws, grams, strict=True))
        candidates.append((gram, [gram], gram_components(gram)))  # type: ignore[arg-type]
    fit_predict = dual_fit_predict(candidates, pool.groups, recipe.seed)  # type: ignore[arg-type]
    p = protocol_predictions(pool, recipe, fit_predict)[0]
    chosen = [(block_weights[c], a) for c, a in fit_predict.chosen]  # type: ignore[attr-defined]
    print(f"block weights, alpha chosen per fit: {chosen}")
    return p


def input_choice_predictions(pools: Sequence[Pool], recipe: Recipe = RECIPE) -> Predictions:
    """mood-v4's ridge on one of several inputs of the same photos (e.g. the encoders at different input
    sizes), the input chosen, with alpha, inside each fold (mood_variants.dual_fit_predict): the inner CV
    picks the resolution, not the outer folds' figures."""
    candidates = []
    for pool in pools:
        gram = sum(block_grams(pool))
        candidates.append((gram, [gram], gram_components(gram)))  # type: ignore[arg-type]
    fit_predict = dual_fit_predict(candidates, pools[0].groups, recipe.seed)  # type: ignore[arg-type]
    p = protocol_predictions(pools[0], recipe, fit_predict)[0]
    print(f"input, alpha chosen per fit: {fit_predict.chosen}")  # type: ignore[attr-defined]
    return p


def kind_weights(kinds: Sequence[str], grid: Mapping[str, Sequence[float]]) -> list[list[float]]:
    """Every combination of the grid's weights per kind of block (kinds: each block's kind, in order;
    a kind not in the grid keeps weight 1)."""
    combos: list[dict[str, float]] = [{}]
    for kind, values in grid.items():
        combos = [{**c, kind: v} for c in combos for v in values]
    return [[c.get(k, 1.0) for k in kinds] for c in combos]


def variants(d: Data) -> dict[str, Callable[[], Predictions]]:
    def beside(encoder: str, *extra: str, view: str = "plain") -> Pool:
        return d.pool(d.blocks(encoder, [view], (*SERVED_BLOCKS, *extra)))

    def three() -> Pool:
        return d.pool(
            d.blocks(L0, ["plain"])
            + d.blocks(LITE1, ["plain"], LITE2_BESIDE)
            + d.blocks(L2, ["plain"], LITE2_BESIDE)
        )

    def lite12(*extra: str, views: Sequence[str] = ("plain",)) -> Pool:
        return d.pool(d.blocks(LITE1, views, (*SERVED_BLOCKS, *extra)) + d.blocks(L2, views, LITE2_BESIDE))

    return {
        # pooling of the last feature map (Lite2, plain)
        "Lite2 + 2x2 grid means": lambda: ridge(beside(L2, "grid2")),
        "Lite2 + 3x3 grid means": lambda: ridge(beside(L2, "grid3")),
        "Lite2 + GeM": lambda: ridge(beside(L2, "gem")),
        "Lite2 + max": lambda: ridge(beside(L2, "max")),
        "Lite2 + map sd": lambda: ridge(beside(L2, "std")),
        # resolution
        "Lite2 at 300 px": lambda: ridge(d.pool(d.blocks(L2, [HIGH]))),
        "Lite1 at 300 px": lambda: ridge(d.pool(d.blocks(LITE1, [HIGH]))),
        "Lite2, 260 and 300 px averaged": lambda: ridge(d.pool(d.blocks(L2, ["plain", HIGH]))),
        "Lite2, 260 and 300 px side by side": lambda: ridge(
            d.pool(d.blocks(L2, ["plain"]) + d.blocks(L2, [HIGH], LITE2_BESIDE))
        ),
        "Lite1 + Lite2 at 300 px": lambda: ridge(lite12(views=[HIGH])),
        "Lite1 + Lite2, own size and 300 px averaged": lambda: ridge(lite12(views=["plain", HIGH])),
        "Lite1 at 340 px": lambda: ridge(d.pool(d.blocks(LITE1, [HIGHER]))),
        "Lite2 at 340 px": lambda: ridge(d.pool(d.blocks(L2, [HIGHER]))),
        "Lite1 + Lite2 at 340 px": lambda: ridge(lite12(views=[HIGHER])),
        "Lite1 + Lite2, input size chosen per fold": lambda: input_choice_predictions(
            [lite12(), lite12(views=[HIGH]), lite12(views=[HIGHER])]
        ),
        "Lite1 + Lite2 at 380 px": lambda: ridge(lite12(views=[HIGHEST])),
        "Lite1 + Lite2, input size chosen per fold, to 380 px": lambda: input_choice_predictions(
            [lite12(), lite12(views=[HIGH]), lite12(views=[HIGHER]), lite12(views=[HIGHEST])]
        ),
        # three encoders
        "Lite0 + Lite1 + Lite2": lambda: ridge(three()),
        "Lite0 + Lite1 + Lite2, components chosen per fold": lambda: pc_ridge_predictions(three()),
        "Lite1 + Lite2, components chosen per fold": lambda: pc_ridge_predictions(lite12()),
        "Lite1 + Lite2, block weights chosen per fold": lambda: block_weight_predictions(
            lite12(), kind_weights(LITE12_KINDS, BLOCK_WEIGHT_GRID)
        ),
        # colour
        "Lite2 + finer colour": lambda: ridge(beside(L2, "colour2")),
        "Lite1 + Lite2 + finer colour": lambda: ridge(lite12("colour2")),
    }
