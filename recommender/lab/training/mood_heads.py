"""The mood variants mood-v4 left unmeasured, under the same protocol (mood_variants.protocol_predictions):
5 folds over OASIS themes (seed 0, never splitting a theme), every hyperparameter chosen inside each
training fold by an inner CV grouped the same way, plus train-on-one-source, test-on-the-other.

    nice -n 10 python -m recommender.lab.training.mood_heads --data ../shared/data \
        --cache /work/cache-w9mood --out /work/cache-w9mood/heads.json [--only NAME;...]

- heads on the block-scaled principal components (label-free, all photos): kernel ridge with a cosine
  kernel, a small ensemble of sklearn MLPs, gradient-boosted trees (LightGBM);
- inputs: ImageNet class probabilities (softmax of the logits) beside or instead of the logits,
  Lite2's inner layers (every block's mean), Lite0 + Lite2;
- Emotion6's row weight per output chosen inside each fold (instead of mood-v3's fixed 0.5 / 0);
- rank targets: each source's ratings replaced, inside each training fold, by normal scores of their
  ranks on that source's mean and spread;
- richer inputs (mood_richer): pooling of the last feature map, 300 px, three encoders, finer colour.

Each result row has 90% intervals of its difference from mood-v3 and from mood-v4, from resampling
whole OASIS themes 2,000 times; predictions are cached beside mood_variants' in CACHE/predictions.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from scipy.stats import norm, rankdata

from recommender.lab.datasets import default_data_root
from recommender.lab.stats import pearson

from .mood_kernel import grouped_folds, pick_alpha, ridge_predictions
from .mood_prior import variants as prior_variants
from .mood_richer import variants as richer_variants
from .mood_variants import (
    L0,
    L2,
    LITE2_BESIDE,
    RECIPE,
    SERVED_BLOCKS,
    WITH_BLOCKS,
    Data,
    FitPredict,
    Predictions,
    gram_fit_predict,
    gram_predictions,
    mean_predictions,
    prediction_file,
    protocol_predictions,
    summary,
    theme_interval,
)
from .mood_views import FIVE_CROP, LITE1
from .train_mood_sources import Pool, Recipe, pool_components

INNER_FOLDS = 3
MOOD_V4 = "Lite2, plain"  # mood-v4's recipe and inputs, by the same shortcut (its card's figures)
BASE = "mood-v3 inputs, one standardisation"  # mood-v3 by the one-Gram shortcut (0.547 / 0.642, as exact)
EMOTION6_WEIGHTS = (0.0, 0.25, 0.5, 1.0)


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def inner_folds(pool: Pool, rows: np.ndarray, seed: int) -> np.ndarray:
    """A fold per training row, grouped by theme (an Emotion6 photo is its own group)."""
    return grouped_folds(pool.groups[rows], INNER_FOLDS, seed + 3)


def unit_components(pool: Pool, k: int) -> np.ndarray:
    """The k leading principal components of the pool (label-free), scaled to unit mean squared norm."""
    f = pool_components(pool)[:, :k]
    return f / np.sqrt((f**2).sum(axis=1).mean())


def choose(
    pool: Pool,
    y: np.ndarray,
    w: np.ndarray,
    use: np.ndarray,
    seed: int,
    candidates: Sequence[object],
    fit: Callable[[object, np.ndarray, np.ndarray], np.ndarray],
) -> object:
    """The candidate with the lowest weighted inner-CV squared error on rows `use` (theme-grouped);
    fit(candidate, train rows, test rows) -> predictions for the test rows."""
    if len(candidates) == 1:
        return candidates[0]
    fold = inner_folds(pool, use, seed)
    errors = []
    for c in candidates:
        err = 0.0
        for j in range(INNER_FOLDS):
            a, b = use[fold != j], use[fold == j]
            err += float(((fit(c, a, b) - y[b]) ** 2 * w[b]).sum())
        errors.append(err)
    return candidates[int(np.argmin(errors))]


# --- heads on the principal components ---------------------------------------------------------------

COSINE_ALPHAS = tuple(np.logspace(-2, 2, 9))


def cosine_kernel_predictions(pool: Pool, recipe: Recipe = RECIPE) -> Predictions:
    """Weighted kernel ridge with k(a, b) = cos(a, b) on the centred principal components (so each
    photo counts by its direction only); alpha chosen inside each fold."""
    f = unit_components(pool, 256)
    f = f / np.linalg.norm(f, axis=1, keepdims=True)

    def fit_predict(y: np.ndarray, w: np.ndarray, tr: np.ndarray, te: np.ndarray) -> np.ndarray:
        use = tr[w[tr] > 0]
        # a linear kernel on unit rows: a ridge on the normalised components, solved in the primal
        alpha = choose(
            pool, y, w, use, recipe.seed, COSINE_ALPHAS,
            lambda a, r, t: ridge_predictions(f, y, w, r, t, [a])[0],  # type: ignore[list-item]
        )  # fmt: skip
        return ridge_predictions(f, y, w, use, te, [alpha])  # type: ignore[list-item]

    return protocol_predictions(pool, recipe, fit_predict)[0]


MLP_ALPHAS = (1.0, 10.0)
MLP_COMPONENTS = 64


def mlp_predictions(
    pool: Pool,
    recipe: Recipe = RECIPE,
    members: int = 5,
    hidden: int = 32,
    max_iter: int = 200,
    alphas: Sequence[float] = MLP_ALPHAS,
) -> Predictions:
    """The mean of `members` small sklearn MLPs (one hidden layer) on the leading 64 components; the L2
    penalty chosen inside each fold (with a 2-member ensemble, for time)."""
    from sklearn.neural_network import MLPRegressor

    f = unit_components(pool, MLP_COMPONENTS) * np.sqrt(MLP_COMPONENTS)  # unit variance per column, roughly

    def ensemble(
        alpha: float, n: int, y: np.ndarray, w: np.ndarray, r: np.ndarray, t: np.ndarray
    ) -> np.ndarray:
        centre, spread = float(y[r].mean()), float(y[r].std())
        out = []
        for seed in range(n):
            net = MLPRegressor(
                hidden_layer_sizes=(hidden,), alpha=alpha, learning_rate_init=1e-3, max_iter=max_iter,
                random_state=recipe.seed + seed, early_stopping=False,
            )  # fmt: skip
            net.fit(f[r], (y[r] - centre) / spread, sample_weight=w[r] / w[r].mean())
            out.append(net.predict(f[t]))
        return np.mean(out, axis=0) * spread + centre

    def fit_predict(y: np.ndarray, w: np.ndarray, tr: np.ndarray, te: np.ndarray) -> np.ndarray:
        use = tr[w[tr] > 0]
        alpha = choose(
            pool, y, w, use, recipe.seed, alphas,
            lambda a, r, t: ensemble(a, 2, y, w, r, t),  # type: ignore[arg-type]
        )  # fmt: skip
        return ensemble(alpha, members, y, w, use, te)[None]  # type: ignore[arg-type]

    return protocol_predictions(pool, recipe, fit_predict)[0]


GBT_ROUNDS = (150, 400)
GBT_COMPONENTS = 32


def gbt_predictions(pool: Pool, recipe: Recipe = RECIPE) -> Predictions:
    """LightGBM regression (shallow trees, row and column subsampling) on the leading 32 components; the
    number of rounds chosen inside each fold."""
    import lightgbm

    f = unit_components(pool, GBT_COMPONENTS)

    def boosted(rounds: int, y: np.ndarray, w: np.ndarray, r: np.ndarray, t: np.ndarray) -> np.ndarray:
        model = lightgbm.LGBMRegressor(
            n_estimators=rounds, learning_rate=0.03, num_leaves=8, min_child_samples=20,
            subsample=0.8, subsample_freq=1, colsample_bytree=0.8, reg_lambda=1.0,
            random_state=recipe.seed, n_jobs=1, verbose=-1,
        )  # fmt: skip
        model.fit(f[r], y[r], sample_weight=w[r])
        return np.asarray(model.predict(f[t]))

    def fit_predict(y: np.ndarray, w: np.ndarray, tr: np.ndarray, te: np.ndarray) -> np.ndarray:
        use = tr[w[tr] > 0]
        rounds = choose(
            pool, y, w, use, recipe.seed, GBT_ROUNDS,
            lambda n, r, t: boosted(n, y, w, r, t),  # type: ignore[arg-type]
        )  # fmt: skip
        return boosted(rounds, y, w, use, te)[None]  # type: ignore[arg-type]

    return protocol_predictions(pool, recipe, fit_predict)[0]


# --- the ridge of mood-v3 with other targets or source weights ------------------------------------------


def rank_targets(y: np.ndarray, rows: np.ndarray, is_oasis: np.ndarray) -> np.ndarray:
    """y with each source's `rows` replaced by normal scores of their ranks, on that source's mean and
    spread among those rows (other rows untouched: the held-out ratings are never looked at)."""
    out = y.copy()
    for source in (is_oasis[rows], ~is_oasis[rows]):
        r = rows[source]
        if len(r) < 2:
            continue
        scores = norm.ppf((rankdata(y[r]) - 0.5) / len(r))
        out[r] = y[r].mean() + scores / scores.std() * y[r].std()
    return out


def rank_target_predictions(pool: Pool, recipe: Recipe = RECIPE) -> Predictions:
    ridge = gram_fit_predict(pool, recipe)

    def fit_predict(y: np.ndarray, w: np.ndarray, tr: np.ndarray, te: np.ndarray) -> np.ndarray:
        return ridge(rank_targets(y, tr[w[tr] > 0], pool.is_oasis), w, tr, te)

    return protocol_predictions(pool, recipe, fit_predict)[0]


def chosen_weight_fit(
    pool: Pool, ridge: FitPredict, pcs: np.ndarray, seed: int, candidates: Sequence[float] = EMOTION6_WEIGHTS
) -> FitPredict:
    """ridge with Emotion6's row weight for this output chosen inside the fold: by the inner CV's Pearson
    r on the OASIS training rows alone (what the weight is for), a ridge on the components per inner fold
    with its own alpha. A single-source fit (the cross-source checks) has nothing to choose."""

    def fit_predict(y: np.ndarray, w: np.ndarray, tr: np.ndarray, te: np.ndarray) -> np.ndarray:
        if pool.is_oasis[tr].all() or not pool.is_oasis[tr].any():
            return ridge(y, w, tr, te)
        fold = inner_folds(pool, tr, seed)
        scores = []
        for c in candidates:
            wc = pool.weights(c)
            pred, truth = [], []
            for j in range(INNER_FOLDS):
                a = tr[(fold != j) & (wc[tr] > 0)]
                b = tr[(fold == j) & pool.is_oasis[tr]]
                alpha = pick_alpha(pcs, y, wc, a, pool.groups, seed)
                pred.append(ridge_predictions(pcs, y, wc, a, b, [alpha])[0])
                truth.append(y[b])
            scores.append(pearson(np.concatenate(pred), np.concatenate(truth)))
        best = candidates[int(np.nanargmax(scores))]
        chosen.append(best)
        return ridge(y, pool.weights(best), tr, te)

    chosen: list[float] = []
    fit_predict.chosen = chosen  # type: ignore[attr-defined]  # for the report: one per fit
    return fit_predict


def chosen_weight_predictions(pool: Pool, recipe: Recipe = RECIPE) -> Predictions:
    fit_predict = chosen_weight_fit(pool, gram_fit_predict(pool, recipe), pool_components(pool), recipe.seed)
    p = protocol_predictions(pool, recipe, fit_predict)[0]
    print(f"Emotion6 weights chosen (valence, arousal per fold): {fit_predict.chosen}", file=sys.stderr)  # type: ignore[attr-defined]
    return p


# --- inputs ------------------------------------------------------------------------------------------------


def with_probabilities(d: Data, encoder: str, names: Sequence[str], replace_logits: bool) -> list[np.ndarray]:
    """The encoder's blocks with ImageNet class probabilities beside (or instead of) the logits."""
    parts = {k: v.astype(np.float64) for k, v in d.parts(encoder, "plain").items()}
    blocks = [parts[b] for b in names if not (replace_logits and b == "logits")]
    return [*blocks, softmax(parts["logits"])]


def variants(d: Data) -> dict[str, Callable[[], Predictions]]:
    def lin(blocks: list[np.ndarray]) -> Predictions:
        return protocol_predictions(d.pool(blocks), RECIPE, gram_fit_predict(d.pool(blocks), RECIPE))[0]

    l0, l2 = d.blocks(L0, ["plain"]), d.blocks(L2, ["plain"])
    both = l0 + d.blocks(L2, ["plain"], LITE2_BESIDE)
    return {
        "mood-v3 inputs, one standardisation": lambda: lin(l0),
        "Lite2, plain": lambda: lin(l2),
        "Lite0 + Lite2, plain": lambda: lin(both),
        "Lite2 + every block's mean": lambda: lin(d.blocks(L2, ["plain"], WITH_BLOCKS)),
        "Lite0 + class probabilities": lambda: lin(with_probabilities(d, L0, SERVED_BLOCKS, False)),
        "Lite2 + class probabilities": lambda: lin(with_probabilities(d, L2, SERVED_BLOCKS, False)),
        "Lite2, probabilities instead of logits": lambda: lin(with_probabilities(d, L2, SERVED_BLOCKS, True)),
        "Lite2, Emotion6 weight chosen per fold": lambda: chosen_weight_predictions(d.pool(l2)),
        "Lite0 + Lite2, Emotion6 weight chosen per fold": lambda: chosen_weight_predictions(d.pool(both)),
        "Lite2, rank targets": lambda: rank_target_predictions(d.pool(l2)),
        "cosine kernel ridge, Lite2": lambda: cosine_kernel_predictions(d.pool(l2)),
        "cosine kernel ridge, Lite0 + Lite2": lambda: cosine_kernel_predictions(d.pool(both)),
        "MLP ensemble, Lite2": lambda: mlp_predictions(d.pool(l2)),
        "gradient-boosted trees, Lite2": lambda: gbt_predictions(d.pool(l2)),
        "Lite1, plain": lambda: lin(d.blocks(LITE1, ["plain"])),
        "Lite0 + Lite1, plain": lambda: lin(l0 + d.blocks(LITE1, ["plain"], LITE2_BESIDE)),
        "Lite1 + Lite2, plain": lambda: lin(
            d.blocks(LITE1, ["plain"]) + d.blocks(L2, ["plain"], LITE2_BESIDE)
        ),
        "TTA Lite0, five-crop": lambda: five_crop(d, FIVE_CROP),
        "TTA Lite0, plain+flip+five-crop": lambda: five_crop(d, ("plain", "flip", *FIVE_CROP)),
    }


def five_crop(d: Data, views: Sequence[str]) -> Predictions:
    """mood-v3's ridge trained on plain views; each held-out OASIS photo read as the mean over views
    (mood_variants.tta_predictions with the corners, whose views need mood_views --views tl80,...)."""
    (p,) = gram_predictions(d.pool(d.blocks(L0, ["plain"])), RECIPE, [d.served_views_x(L0, views)])
    p.oasis_to_e6[:] = np.nan  # Emotion6 photos have the plain view only
    return p


ENSEMBLES: dict[str, tuple[str, ...]] = {
    "mean: Lite1 ridge + Lite2 ridge": ("Lite1, plain", "Lite2, plain"),
    "mean: Lite0, Lite1 and Lite2 ridges": (BASE, "Lite1, plain", "Lite2, plain"),
    "mean: Lite2 ridge + Lite2 MLP ensemble": ("Lite2, plain", "MLP ensemble, Lite2"),
    "mean: Lite2 ridge + Lite2 trees": ("Lite2, plain", "gradient-boosted trees, Lite2"),
    "mean: Lite0+Lite2 ridge + Lite2 MLP ensemble": ("Lite0 + Lite2, plain", "MLP ensemble, Lite2"),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=default_data_root())
    parser.add_argument("--cache", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--only", default="", help="variant names separated by ';' (default: all)")
    parser.add_argument("--versus", default="", help="also the intervals of the difference from this variant")
    args = parser.parse_args(argv)
    d = Data(args.data, args.cache)
    table = {**variants(d), **richer_variants(d), **prior_variants(d)}
    wanted = [n for n in args.only.split(";") if n] or [*table, *ENSEMBLES]
    unknown = [n for n in wanted if n not in table and n not in ENSEMBLES]
    if unknown:
        print(f"error: unknown variants {unknown}; known: {[*table, *ENSEMBLES]}", file=sys.stderr)
        return 2
    preds_dir = args.cache / "predictions"
    preds_dir.mkdir(parents=True, exist_ok=True)

    def predictions(name: str) -> Predictions:
        f = prediction_file(preds_dir, name)
        if f.is_file():
            with np.load(f) as s:
                return Predictions(s["oof"], s["e6_to_oasis"], s["oasis_to_e6"])
        t0 = time.perf_counter()
        p = (
            mean_predictions([predictions(n) for n in ENSEMBLES[name]])
            if name in ENSEMBLES
            else table[name]()
        )
        print(f"{name}: {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        np.savez(f, oof=p.oof, e6_to_oasis=p.e6_to_oasis, oasis_to_e6=p.oasis_to_e6)
        return p

    base, v4 = predictions(BASE), predictions(MOOD_V4)
    for name in wanted:
        p = predictions(name)
        row: dict[str, object] = dict(summary(d, p))
        row["valence_diff_90"] = theme_interval(d, base.oof, p.oof, 0)
        row["arousal_diff_90"] = theme_interval(d, base.oof, p.oof, 1)
        row["valence_diff_vs_mood_v4_90"] = theme_interval(d, v4.oof, p.oof, 0)
        row["arousal_diff_vs_mood_v4_90"] = theme_interval(d, v4.oof, p.oof, 1)
        if args.versus:
            other = predictions(args.versus)
            row[f"valence_diff_vs_{args.versus}_90"] = theme_interval(d, other.oof, p.oof, 0)
            row[f"arousal_diff_vs_{args.versus}_90"] = theme_interval(d, other.oof, p.oof, 1)
        print(json.dumps({name: row}), file=sys.stderr)
        results = json.loads(args.out.read_text()) if args.out.is_file() else {}
        results[name] = row
        args.out.write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
