"""Variants of the mood model judged by mood-v3's protocol: test-time views, a second encoder, inner
layers, nonlinear and ensembled heads.

    nice -n 10 python -m recommender.lab.training.mood_variants --data ../shared/data \
        --cache /work/cache-g9mood --out /work/cache-g9mood/variants.json [--only NAME,...]

Protocol (train_mood_sources.validate, unchanged): OASIS ratings equated to Emotion6's footing; valence
learns from OASIS (weight 1) and Emotion6 (0.5), arousal from OASIS alone; 5 folds over OASIS THEMES
(fold seed 0: the same folds as mood-v3's card), regularisation chosen inside each training fold; plus
train-on-one-source, test-on-the-other. Each variant's features come from mood_views (cached).

Every variant's OASIS out-of-fold predictions are kept, so its difference from mood-v3 is given with a
90% interval from resampling whole themes (2,000 draws): "beyond noise" means outside that interval.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from recommender.lab.datasets import default_data_root, load_emotion6, load_oasis
from recommender.lab.stats import pearson, standardiser
from recommender.types import IMAGE_EMOTIONS

from .mood_kernel import ALPHAS, alpha_errors, grouped_folds, ridge_predictions
from .mood_views import extract
from .train_mood_sources import Pool, Recipe, block_scale, equate, fit, pool_components

L0, L2 = "efficientnet-lite0", "efficientnet-lite2"
RECIPE = Recipe()  # mood-v3's source weights and footing
SERVED_BLOCKS = ("embeddings", "colour", "stages", "logits")  # mood-v3's feature set, in its order
WITH_BLOCKS = (*SERVED_BLOCKS, "blocks")  # plus every block's mean
LITE2_BESIDE = ("embeddings", "stages", "logits")  # Lite2's part beside Lite0's (colour is the same)


@dataclass
class Predictions:
    """A variant's predictions: OASIS out-of-fold, and the two cross-source directions."""

    oof: np.ndarray  # (n_oasis, 2) valence, arousal
    e6_to_oasis: np.ndarray  # (n_oasis, 2)
    oasis_to_e6: np.ndarray  # (n_e6, 2)


class Data:
    """Cached encoder parts of both sources, labels on the equated footing, theme groups."""

    def __init__(self, data: Path, cache: Path) -> None:
        self.e6, self.oa = load_emotion6(data / "emotion6"), load_oasis(data / "oasis")
        self.cache = cache
        n6, no = len(self.e6.paths), len(self.oa.paths)
        self.is_oasis = np.arange(n6 + no) >= n6
        self.valence = equate(np.concatenate([self.e6.valence, self.oa.valence]), self.is_oasis)
        self.arousal = equate(np.concatenate([self.e6.arousal, self.oa.arousal]), self.is_oasis)
        self.groups = np.concatenate([np.arange(n6), n6 + self.oa.theme_ids])
        self._parts: dict[tuple[str, str], dict[str, np.ndarray]] = {}

    def parts(self, encoder: str, view: str) -> dict[str, np.ndarray]:
        """part -> (n, d) float32, Emotion6 rows first (kept in float32: the pooled maps are wide)."""
        key = (encoder, view)
        if key not in self._parts:
            e6 = extract(self.e6.paths, encoder, [view], self.cache, "emotion6")[view]
            oa = extract(self.oa.paths, encoder, [view], self.cache, "oasis")[view]
            self._parts[key] = {p: np.concatenate([e6[p], oa[p]]) for p in e6}
        return self._parts[key]

    def blocks(
        self, encoder: str, views: Sequence[str], names: Sequence[str] = SERVED_BLOCKS
    ) -> list[np.ndarray]:
        """Each named block averaged over the views (for linear heads: the mean of the views' predictions,
        up to the colour statistics, which are computed per view)."""
        parts = [self.parts(encoder, v) for v in views]
        return [np.asarray(np.mean([p[b] for p in parts], axis=0, dtype=np.float64)) for b in names]

    def served_views_x(self, encoder: str, views: Sequence[str]) -> np.ndarray:
        """mood-v3's inputs with the OASIS rows averaged over views (Emotion6 rows plain): for test-time
        augmentation of a model trained on plain views, scored on OASIS."""
        oa = [extract(self.oa.paths, encoder, [v], self.cache, "oasis")[v] for v in views]
        x = np.concatenate(self.blocks(encoder, ["plain"]), axis=1)
        x[self.is_oasis] = np.concatenate(
            [np.mean([o[b] for o in oa], axis=0) for b in SERVED_BLOCKS], axis=1
        )
        return x

    def pool(self, blocks: Sequence[np.ndarray]) -> Pool:
        x = np.concatenate(blocks, axis=1)
        emotions = np.full((len(x), len(IMAGE_EMOTIONS)), np.nan)
        return Pool(
            x, [b.shape[1] for b in blocks], self.valence, self.arousal, emotions, self.is_oasis, self.groups
        )


def linear_predictions(pool: Pool, recipe: Recipe = RECIPE, x_test: np.ndarray | None = None) -> Predictions:
    """train_mood_sources.validate, keeping every prediction (same folds, same fits). x_test: the inputs
    the held-out rows are predicted from (test-time views), when not the training inputs."""
    xt = pool.x if x_test is None else x_test
    oasis, e6 = np.flatnonzero(pool.is_oasis), np.flatnonzero(~pool.is_oasis)
    fold = grouped_folds(pool.groups[oasis], 5, recipe.seed)
    pcs = pool_components(pool)
    oof = np.zeros((len(oasis), 2))
    for k in range(5):
        tr = np.concatenate([e6, oasis[fold != k]])
        pred = fit(pool, tr, recipe, emotions=False, pcs=pcs).model.predict(xt[oasis[fold == k]])
        oof[fold == k] = np.stack([pred.valence, pred.arousal], axis=1)
    cross = []
    for tr, te in ((e6, oasis), (oasis, e6)):
        pred = fit(pool, tr, Recipe(1.0, 1.0), emotions=False, pcs=pcs).model.predict(xt[te])
        cross.append(np.stack([pred.valence, pred.arousal], axis=1))
    return Predictions(oof, cross[0], cross[1])


def gram_predictions(
    pool: Pool, recipe: Recipe = RECIPE, x_tests: Sequence[np.ndarray] = ()
) -> list[Predictions]:
    """linear_predictions through one Gram matrix of the whole pool: the same alphas, stretch and dual
    ridge as train_mood_sources.fit, but the inputs standardised once on all photos (label-free) instead
    of on each training fold, so a variant costs one n x n x d product instead of seven fits. On mood-v3's
    inputs it gives the figures of the exact protocol to within 0.002 r (mood-v4 card). x_tests: other
    inputs to predict the held-out rows from (test-time views), one Predictions each; default pool.x."""
    return protocol_predictions(pool, recipe, gram_fit_predict(pool, recipe, x_tests))


FitPredict = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def gram_fit_predict(pool: Pool, recipe: Recipe = RECIPE, x_tests: Sequence[np.ndarray] = ()) -> FitPredict:
    """gram_predictions' fit: (y, row weights, train rows, test rows) -> (ways, len(test)) predictions,
    for heads built on it (mood_heads: chosen source weights, rank targets)."""
    mean, std = standardiser(pool.x)
    scale = block_scale(pool)
    z = (pool.x - mean) / (std * scale)
    gram = z @ z.T
    grams_t = [((x - mean) / (std * scale)) @ z.T for x in x_tests] or [gram]
    return dual_fit_predict([(gram, grams_t, gram_components(gram))], pool.groups, recipe.seed)


def gram_components(gram: np.ndarray, k: int = 256) -> np.ndarray:
    """(n, k) scores on the k leading principal components of the rows behind a Gram matrix."""
    means = gram.mean(axis=0)
    s, u = np.linalg.eigh(gram - means[:, None] - means[None, :] + means.mean())
    top = np.argsort(-s)[:k]
    return u[:, top] * np.sqrt(np.maximum(s[top], 0.0))


def dual_fit_predict(
    candidates: Sequence[tuple[np.ndarray, Sequence[np.ndarray], np.ndarray]], groups: np.ndarray, seed: int
) -> FitPredict:
    """The dual weighted ridge of train_mood_sources.fit on one of the candidate inputs, each given as
    (Gram matrix of all rows, [Gram matrix of the test inputs against all rows, per way of showing them],
    leading principal components). The candidate and alpha are chosen together by the inner CV on the
    components (one candidate: alpha alone, as mood-v3's fit); the predictions are stretched to the
    ratings' spread by the inner out-of-fold predictions' spread."""

    def fit_predict(y: np.ndarray, w: np.ndarray, tr: np.ndarray, te: np.ndarray) -> np.ndarray:
        use = tr[w[tr] > 0]
        err = np.stack([alpha_errors(pcs, y, w, use, groups, seed) for _, _, pcs in candidates])
        best = int(np.argmin(err))
        c, alpha = best // len(ALPHAS), float(ALPHAS[best % len(ALPHAS)])
        chosen.append((c, alpha))
        gram, grams_t, pcs = candidates[c]
        inner = grouped_folds(groups[use], 5, seed + 1)
        oof = np.zeros(len(use))
        for j in range(5):
            a, b = use[inner != j], use[inner == j]
            oof[inner == j] = ridge_predictions(pcs, y, w, a, b, [alpha])[0]
        stretch = float(y[use].std() / max(oof.std(), 1e-6))
        wn = w[use] / w[use].sum()
        k_uu = gram[np.ix_(use, use)]
        row = k_uu @ wn
        k_c = k_uu - row[:, None] - row[None, :] + wn @ row
        sw = np.sqrt(w[use])
        y_w = float(wn @ y[use])
        coef = np.linalg.solve(k_c * np.outer(sw, sw) + alpha * np.eye(len(use)), sw * (y[use] - y_w))
        y_mean = float(y[use].mean())
        out = []
        for gram_t in grams_t:
            k_t = gram_t[np.ix_(te, use)]
            k_tc = k_t - (k_t @ wn)[:, None] - row[None, :] + wn @ row
            raw = k_tc @ (sw * coef) + y_w
            out.append(np.clip(y_mean + (raw - y_mean) * stretch, 0.0, 1.0))
        return np.array(out)

    chosen: list[tuple[int, float]] = []
    fit_predict.chosen = chosen  # type: ignore[attr-defined]  # (candidate, alpha) per fit, for the log
    return fit_predict


# --- kernel ridge (RBF) on the block-scaled principal components -----------------------------------

KRR_ALPHAS = np.logspace(-2, 2, 9)
KRR_GAMMAS = (0.5, 1.0, 2.0)  # times 1 / (2 * median squared distance)


def _krr(k_tr: np.ndarray, y: np.ndarray, w: np.ndarray, k_te: np.ndarray, alphas: np.ndarray) -> np.ndarray:
    """(len(alphas), n_te) weighted kernel ridge predictions (weighted mean removed first)."""
    y_mean = float(w @ y / w.sum())
    sw = np.sqrt(w)
    s, v = np.linalg.eigh(k_tr * np.outer(sw, sw))
    rhs = v.T @ (sw * (y - y_mean))
    return np.stack([(k_te * sw) @ (v @ (rhs / (np.maximum(s, 0) + a))) for a in alphas]) + y_mean


def kernel_predictions(pool: Pool, recipe: Recipe = RECIPE) -> Predictions:
    f = pool_components(pool)
    f = f / np.sqrt((f**2).sum(axis=1).mean())  # unit mean squared norm
    sq = (f**2).sum(axis=1)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2 * f @ f.T, 0)
    scale = 1.0 / (2 * np.median(d2))

    def fit_predict(y: np.ndarray, w: np.ndarray, tr: np.ndarray, te: np.ndarray) -> np.ndarray:
        use = tr[w[tr] > 0]
        inner = grouped_folds(pool.groups[use], 3, recipe.seed + 3)
        best, best_err = (KRR_GAMMAS[0], KRR_ALPHAS[0]), np.inf
        for g in KRR_GAMMAS:
            k = np.exp(-g * scale * d2)
            err = np.zeros(len(KRR_ALPHAS))
            for j in range(3):
                a, b = use[inner != j], use[inner == j]
                pred = _krr(k[np.ix_(a, a)], y[a], w[a], k[np.ix_(b, a)], KRR_ALPHAS)
                err += ((pred - y[b]) ** 2 * w[b]).sum(axis=1)
            if err.min() < best_err:
                best, best_err = (g, KRR_ALPHAS[int(np.argmin(err))]), float(err.min())
        k = np.exp(-best[0] * scale * d2)
        # no stretch to the ratings' spread: r does not see it
        return _krr(k[np.ix_(use, use)], y[use], w[use], k[np.ix_(te, use)], np.array([best[1]]))

    return protocol_predictions(pool, recipe, fit_predict)[0]


def protocol_predictions(pool: Pool, recipe: Recipe, fit_predict: FitPredict) -> list[Predictions]:
    """The protocol around a fit_predict(y, w, train rows, test rows) -> (m, len(test)) predictions for m
    ways of showing the test rows (test-time views); one Predictions per way."""
    oasis, e6 = np.flatnonzero(pool.is_oasis), np.flatnonzero(~pool.is_oasis)
    fold = grouped_folds(pool.groups[oasis], 5, recipe.seed)
    oof: np.ndarray | None = None
    w_v, w_a = pool.weights(recipe.emotion6_weight_valence), pool.weights(recipe.emotion6_weight_arousal)
    for k in range(5):
        tr, te = np.concatenate([e6, oasis[fold != k]]), oasis[fold == k]
        pv, pa = fit_predict(pool.valence, w_v, tr, te), fit_predict(pool.arousal, w_a, tr, te)
        if oof is None:
            oof = np.zeros((len(pv), len(oasis), 2))
        oof[:, fold == k, 0], oof[:, fold == k, 1] = pv, pa
    assert oof is not None
    ones = np.ones(len(pool.x))
    cross = [
        np.stack([fit_predict(pool.valence, ones, tr, te), fit_predict(pool.arousal, ones, tr, te)], axis=2)
        for tr, te in ((e6, oasis), (oasis, e6))
    ]
    return [Predictions(oof[i], cross[0][i], cross[1][i]) for i in range(len(oof))]


# --- small MLP (torch) on the block-scaled principal components --------------------------------------


def mlp_predictions(pool: Pool, recipe: Recipe = RECIPE) -> Predictions:
    import torch

    f = pool_components(pool)[:, :128]
    f = f / f.std()

    def fit_predict(y: np.ndarray, w: np.ndarray, tr: np.ndarray, te: np.ndarray) -> np.ndarray:
        use = tr[w[tr] > 0]
        preds = []
        for seed in range(3):  # a small ensemble of seeds steadies a net on ~2,000 rows
            torch.manual_seed(recipe.seed + seed)
            net = torch.nn.Sequential(
                torch.nn.Dropout(0.2),
                torch.nn.Linear(f.shape[1], 64),
                torch.nn.GELU(),
                torch.nn.Linear(64, 1),
            )
            opt = torch.optim.AdamW(net.parameters(), lr=3e-3, weight_decay=0.05)
            xt = torch.tensor(f[use], dtype=torch.float32)
            ym = float(y[use].mean())
            yt = torch.tensor((y[use] - ym) / y[use].std(), dtype=torch.float32)
            wt = torch.tensor(w[use] / w[use].mean(), dtype=torch.float32)
            for _ in range(300):
                opt.zero_grad()
                loss = (wt * (net(xt)[:, 0] - yt) ** 2).mean()
                loss.backward()
                opt.step()
            net.eval()
            with torch.no_grad():
                preds.append(net(torch.tensor(f[te], dtype=torch.float32))[:, 0].numpy())
        return np.mean(preds, axis=0)[None]

    return protocol_predictions(pool, recipe, fit_predict)[0]


# --- reporting -----------------------------------------------------------------------------------------


def summary(data: Data, p: Predictions) -> dict[str, float]:
    oasis, e6 = data.is_oasis, ~data.is_oasis
    yv, ya = data.valence, data.arousal
    return {
        "oasis_themes_valence_r": round(pearson(p.oof[:, 0], yv[oasis]), 4),
        "oasis_themes_arousal_r": round(pearson(p.oof[:, 1], ya[oasis]), 4),
        "emotion6_to_oasis_valence_r": round(pearson(p.e6_to_oasis[:, 0], yv[oasis]), 4),
        "emotion6_to_oasis_arousal_r": round(pearson(p.e6_to_oasis[:, 1], ya[oasis]), 4),
        "oasis_to_emotion6_valence_r": round(pearson(p.oasis_to_e6[:, 0], yv[e6]), 4),
        "oasis_to_emotion6_arousal_r": round(pearson(p.oasis_to_e6[:, 1], ya[e6]), 4),
    }


def theme_interval(
    data: Data,
    base: np.ndarray,
    other: np.ndarray,
    col: int,
    draws: int = 2000,
    rows: np.ndarray | None = None,
) -> list[float]:
    """90% interval of r(other) - r(base) on OASIS, resampling whole themes. rows: only these OASIS rows
    (a boolean mask over the OASIS photos; default all), their themes resampled whole."""
    y = (data.valence if col == 0 else data.arousal)[data.is_oasis]
    themes = data.oa.theme_ids
    if rows is not None:
        y, base, other, themes = y[rows], base[rows], other[rows], themes[rows]
    members = [np.flatnonzero(themes == t) for t in np.unique(themes)]
    rng = np.random.default_rng(0)
    diffs = []
    for _ in range(draws):
        rows = np.concatenate([members[i] for i in rng.integers(0, len(members), len(members))])
        diffs.append(pearson(other[rows, col], y[rows]) - pearson(base[rows, col], y[rows]))
    lo, hi = np.percentile(diffs, [5, 95])
    return [round(float(lo), 4), round(float(hi), 4)]


def variants(d: Data) -> dict[str, Callable[[], Predictions]]:
    """Name -> how to get its predictions. mood-v3 first: every other is compared with it."""
    lin = gram_predictions

    return {
        "mood-v3 (Lite0, plain)": lambda: linear_predictions(d.pool(d.blocks(L0, ["plain"]))),
        "mood-v3 inputs, one standardisation": lambda: lin(d.pool(d.blocks(L0, ["plain"])))[0],
        "Lite0 + every block's mean": lambda: lin(d.pool(d.blocks(L0, ["plain"], WITH_BLOCKS)))[0],
        "Lite2, plain": lambda: lin(d.pool(d.blocks(L2, ["plain"])))[0],
        "Lite0 + Lite2, plain": lambda: lin(
            d.pool(d.blocks(L0, ["plain"]) + d.blocks(L2, ["plain"], LITE2_BESIDE))
        )[0],
        "kernel ridge (RBF), Lite0 plain": lambda: kernel_predictions(d.pool(d.blocks(L0, ["plain"]))),
        "MLP, Lite0 plain": lambda: mlp_predictions(d.pool(d.blocks(L0, ["plain"]))),
    }


# Test-time augmentation: the model trained on plain views (as mood-v3), the held-out OASIS photos shown
# in these views and the predictions averaged (Emotion6 photos have the plain view only).
TTA: dict[str, tuple[str, ...]] = {
    "TTA Lite0, plain+flip": ("plain", "flip"),
    "TTA Lite0, central 80% crop": ("c80",),
    "TTA Lite0, plain+central crop": ("plain", "c80"),
    "TTA Lite0, plain+288px": ("plain", "s288"),
    "TTA Lite0, plain+flip+central crop+288px": ("plain", "flip", "c80", "s288"),
}
# The five-crop views (corners too) are measured by mood_heads ("TTA Lite0, five-crop", ...).


def tta_predictions(d: Data) -> dict[str, Predictions]:
    """Every TTA variant from one set of fits."""
    x_tests = [d.served_views_x(L0, views) for views in TTA.values()]
    out = dict(zip(TTA, gram_predictions(d.pool(d.blocks(L0, ["plain"])), x_tests=x_tests), strict=True))
    for p in out.values():
        p.oasis_to_e6[:] = np.nan  # Emotion6 photos have the plain view only
    return out


ENSEMBLES: dict[str, tuple[str, ...]] = {
    "mean of ridges: Lite0 plain, Lite2 plain": ("mood-v3 (Lite0, plain)", "Lite2, plain"),
    "mean of ridges: Lite0 plain, Lite0 + blocks, Lite2 plain": (
        "mood-v3 (Lite0, plain)",
        "Lite0 + every block's mean",
        "Lite2, plain",
    ),
    "mean of ridge and kernel ridge, Lite0 plain": (
        "mood-v3 (Lite0, plain)",
        "kernel ridge (RBF), Lite0 plain",
    ),
}


def prediction_file(folder: Path, name: str) -> Path:
    """Where a variant's predictions are cached (mood_variants, mood_heads and mood_quadrant share it)."""
    return folder / (name.replace(" ", "_").replace("/", "-").replace(",", "").replace("'", "") + ".npz")


def mean_predictions(parts: Sequence[Predictions]) -> Predictions:
    return Predictions(
        np.mean([p.oof for p in parts], axis=0),
        np.mean([p.e6_to_oasis for p in parts], axis=0),
        np.mean([p.oasis_to_e6 for p in parts], axis=0),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=default_data_root())
    parser.add_argument("--cache", type=Path, default=Path("/work/cache-g9mood"))
    parser.add_argument("--out", type=Path, default=Path("/work/cache-g9mood/variants.json"))
    parser.add_argument("--only", default="", help="variant names separated by ';' (default: all)")
    parser.add_argument("--redo", action="store_true", help="recompute the named variants' predictions")
    args = parser.parse_args(argv)
    d = Data(args.data, args.cache)
    table = variants(d)
    wanted = [n for n in args.only.split(";") if n] or [*table, *TTA, *ENSEMBLES]
    preds_dir = args.cache / "predictions"
    preds_dir.mkdir(parents=True, exist_ok=True)

    memo: dict[str, Predictions] = {}

    def path_of(name: str) -> Path:
        return prediction_file(preds_dir, name)

    def predictions(name: str) -> Predictions:
        if name in memo:
            return memo[name]
        f = path_of(name)
        if f.is_file() and not (args.redo and name in wanted):
            with np.load(f) as s:
                return Predictions(s["oof"], s["e6_to_oasis"], s["oasis_to_e6"])
        if name in ENSEMBLES:
            p = mean_predictions([predictions(n) for n in ENSEMBLES[name]])
        elif name in TTA:
            t0 = time.perf_counter()
            every = tta_predictions(d)
            for other, q in every.items():
                memo[other] = q
                np.savez(path_of(other), oof=q.oof, e6_to_oasis=q.e6_to_oasis, oasis_to_e6=q.oasis_to_e6)
            p = every[name]
            print(f"test-time views: {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        else:
            t0 = time.perf_counter()
            p = table[name]()
            print(f"{name}: {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        np.savez(f, oof=p.oof, e6_to_oasis=p.e6_to_oasis, oasis_to_e6=p.oasis_to_e6)
        memo[name] = p
        return p

    base = predictions(next(iter(table)))
    for name in wanted:
        p = predictions(name)
        row: dict[str, object] = dict(summary(d, p))
        row["valence_diff_90"] = theme_interval(d, base.oof, p.oof, 0)
        row["arousal_diff_90"] = theme_interval(d, base.oof, p.oof, 1)
        print(json.dumps({name: row}), file=sys.stderr)
        results = json.loads(args.out.read_text()) if args.out.is_file() else {}  # other runs may add
        results[name] = row
        args.out.write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
