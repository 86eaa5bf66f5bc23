"""Train the mood model on Emotion6 and OASIS together and write the artifact.

    python -m recommender.lab.training.train_mood_sources --data ../shared/data \
        --out recommender/artifacts/mood-v3 [--experiments var/mood-experiments.json]

One footing: OASIS ratings (1-7) are given Emotion6's mean and spread per output ("equated"), so the
served scale stays Emotion6's and everything downstream (pipeline.align_arousal, describe) is unchanged.
Per output, each source gets a row weight (Recipe): Emotion6 helps valence and hurts arousal on
held-out OASIS themes (mood_experiments), so arousal learns from OASIS alone by default. The emotion
head learns from Emotion6 alone (OASIS has no emotion labels).

Heads: weighted ridge on the standardised inputs, each input block (embedding, colour, stages, logits)
scaled to unit total variance; the regularisation is chosen by a 5-fold CV grouped by OASIS theme on the
training rows only; predictions are stretched to the ratings' spread (train_mood.spread_matcher). The
result is an ordinary linear MoodModel: no cost per photo beyond mood-v2's.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from recommender.config import EFFICIENTNET_LITE0, EFFICIENTNET_LITE2, EFFICIENTNET_LITE_PAIR
from recommender.lab.datasets import default_data_root, load_emotion6, load_oasis
from recommender.lab.stats import pearson, standardiser
from recommender.mood import MoodModel
from recommender.photo_inputs import default_feature_set
from recommender.types import IMAGE_EMOTIONS

from .mood_features import photo_features
from .mood_kernel import components, grouped_folds, pick_alpha, ridge_predictions
from .mood_linear import fit_softmax

ENCODER = EFFICIENTNET_LITE0  # the default; --encoder efficientnet-lite2 for mood-v4
MODEL_VERSION = "mood-v3"
EMOTION_L2 = 0.3  # mood-v2's choice for the same inputs (inner CV on Emotion6)
PROVENANCE = (
    "Emotion6 (Peng et al., CVPR 2015; academic research only) and the development part of OASIS "
    "(Kurdi et al., 2017; ratings free for research); weights derived from both. No photo is shipped."
)


@dataclass(frozen=True)
class Recipe:
    emotion6_weight_valence: float = 0.5
    emotion6_weight_arousal: float = 0.0
    footing: str = "equated"
    seed: int = 0


@dataclass
class Pool:
    """Both sources' rows (Emotion6 first): mood inputs as served, labels on the footing, groups."""

    x: np.ndarray  # (n, d) inputs of the encoder's feature set (photo_inputs.default_feature_set)
    widths: list[int]  # columns per block, in order
    valence: np.ndarray
    arousal: np.ndarray
    emotions: np.ndarray  # (n, 7); rows of OASIS are NaN
    is_oasis: np.ndarray
    groups: np.ndarray  # OASIS theme; one group per Emotion6 photo
    names: list[str] = field(default_factory=list)

    def weights(self, emotion6_weight: float) -> np.ndarray:
        return np.where(self.is_oasis, 1.0, emotion6_weight)


def equate(y: np.ndarray, is_oasis: np.ndarray) -> np.ndarray:
    """OASIS rows moved to the Emotion6 rows' mean and spread."""
    y = y.copy()
    e6, oa = y[~is_oasis], y[is_oasis]
    y[is_oasis] = e6.mean() + (oa - oa.mean()) / oa.std() * e6.std()
    return y


def load_pool(data: Path, cache: Path, footing: str = "equated", encoder: str = ENCODER) -> Pool:
    e6, oa = load_emotion6(data / "emotion6"), load_oasis(data / "oasis")
    parts = [
        photo_features(e6.paths, encoder, cache, "plain", "emotion6"),
        photo_features(oa.paths, encoder, cache, "plain", "oasis"),
    ]
    feature_set = default_feature_set(encoder)
    x = np.concatenate([p.mood_inputs(feature_set) for p in parts]).astype(np.float64)
    widths = [block.shape[1] for block in parts[0].blocks(feature_set)]
    is_oasis = np.arange(len(x)) >= len(e6.paths)
    valence = np.concatenate([e6.valence, oa.valence])
    arousal = np.concatenate([e6.arousal, oa.arousal])
    if footing == "equated":
        valence, arousal = equate(valence, is_oasis), equate(arousal, is_oasis)
    elif footing != "range":
        raise ValueError(f"unknown footing {footing!r}")
    emotions = np.concatenate([e6.emotions, np.full((len(oa.paths), len(IMAGE_EMOTIONS)), np.nan)])
    groups = np.concatenate([np.arange(len(e6.paths)), len(e6.paths) + oa.theme_ids])
    names = [f"emotion6/{e6.folders[i]}/{p.name}" for i, p in enumerate(e6.paths)] + [
        f"oasis/{n}" for n in oa.names
    ]
    return Pool(x, widths, valence, arousal, emotions, is_oasis, groups, names)


def dual_ridge(z: np.ndarray, y: np.ndarray, w: np.ndarray, alpha: float) -> tuple[np.ndarray, float]:
    """Primal weights and intercept of weighted ridge on z (n < d: solved in the n x n dual)."""
    wn = w / w.sum()
    mean, y_mean = wn @ z, float(wn @ y)
    zc = (z - mean) * np.sqrt(w)[:, None]
    coef = np.linalg.solve(zc @ zc.T + alpha * np.eye(len(z)), np.sqrt(w) * (y - y_mean))
    beta = zc.T @ coef
    return beta, y_mean - float(mean @ beta)


@dataclass
class Fitted:
    model: MoodModel
    alphas: dict[str, float]
    stretch: dict[str, float]


def block_scale(pool: Pool) -> np.ndarray:
    """Per column: sqrt(width of its block), so that each block weighs the same in the ridge penalty."""
    return np.concatenate([np.full(w, np.sqrt(w)) for w in pool.widths])


def pool_components(pool: Pool) -> np.ndarray:
    """Principal-component scores of every photo in the pool (label-free), for choosing regularisation."""
    mean, std = standardiser(pool.x)
    return components((pool.x - mean) / (std * block_scale(pool)))


def fit(
    pool: Pool, rows: np.ndarray, recipe: Recipe, emotions: bool = True, pcs: np.ndarray | None = None
) -> Fitted:
    """A MoodModel from rows of the pool (rows of weight 0 for an output do not count for it).
    pcs: pool_components(pool), when several fits share them (validation); else computed on rows."""
    x = pool.x[rows]
    mean, std = standardiser(x)
    scale = block_scale(pool)
    z = (x - mean) / (std * scale)
    f = components(z) if pcs is None else pcs[rows]  # for choosing alpha and the out-of-fold spread only
    groups = pool.groups[rows]
    heads: dict[str, tuple[np.ndarray, float]] = {}
    alphas, stretch = {}, {}
    for name, y_all, e6w in (
        ("valence", pool.valence, recipe.emotion6_weight_valence),
        ("arousal", pool.arousal, recipe.emotion6_weight_arousal),
    ):
        w = pool.weights(e6w)[rows]
        use = np.flatnonzero(w > 0)
        y = y_all[rows]
        alpha = pick_alpha(f, y, w, use, groups, recipe.seed)
        oof = np.zeros(len(rows))
        fold = grouped_folds(groups[use], 5, recipe.seed + 1)
        for k in range(5):
            oof[use[fold == k]] = ridge_predictions(f, y, w, use[fold != k], use[fold == k], [alpha])[0]
        # Ridge shrinks toward the mean; stretch to the ratings' spread (on the rows that count).
        k_s = float(y[use].std() / max(oof[use].std(), 1e-6))
        beta, b = dual_ridge(z[use], y[use], w[use], alpha)
        y_mean = float(y[use].mean())
        heads[name] = (beta * k_s, y_mean + (b - y_mean) * k_s)
        alphas[name], stretch[name] = alpha, round(k_s, 3)
    d = x.shape[1]
    w_e, b_e = np.zeros((d, len(IMAGE_EMOTIONS))), np.zeros(len(IMAGE_EMOTIONS))
    e6_rows = np.flatnonzero(~pool.is_oasis[rows])
    if emotions and len(e6_rows):
        z_plain = z * scale  # plain standardisation, as mood-v2's emotion head
        w_plain, b_e = fit_softmax(z_plain[e6_rows], pool.emotions[rows][e6_rows], EMOTION_L2)
        w_e = w_plain * scale[:, None]
    w_a = np.concatenate([heads["arousal"][0], np.zeros(2)])  # no |v - 0.5| terms: they did not help
    model = MoodModel(
        mean, std * scale, heads["valence"][0], heads["valence"][1], w_a, heads["arousal"][1], w_e, b_e, {}
    )
    return Fitted(model, alphas, stretch)


def validate(pool: Pool, recipe: Recipe) -> tuple[dict[str, object], np.ndarray]:
    """Theme-grouped CV on OASIS (Emotion6 rows always in training at their weights) and the two
    cross-source checks. Returns the metrics and the OASIS rows' out-of-fold (valence, arousal)."""
    oasis, e6 = np.flatnonzero(pool.is_oasis), np.flatnonzero(~pool.is_oasis)
    fold = grouped_folds(pool.groups[oasis], 5, recipe.seed)
    oof = np.zeros((len(pool.x), 2))
    alphas = []
    pcs = pool_components(pool)
    for k in range(5):
        tr = np.concatenate([e6, oasis[fold != k]])
        fitted = fit(pool, tr, recipe, emotions=False, pcs=pcs)
        te = oasis[fold == k]
        pred = fitted.model.predict(pool.x[te])
        oof[te] = np.stack([pred.valence, pred.arousal], axis=1)
        alphas.append(fitted.alphas)
        print(f"theme fold {k + 1}/5 done", file=sys.stderr)
    metrics: dict[str, object] = {
        "oasis_themes": {
            "valence_r": round(pearson(oof[oasis, 0], pool.valence[oasis]), 4),
            "arousal_r": round(pearson(oof[oasis, 1], pool.arousal[oasis]), 4),
            "folds": 5,
            "alphas_per_fold": alphas,
        }
    }
    for name, tr, te in (("emotion6_to_oasis", e6, oasis), ("oasis_to_emotion6", oasis, e6)):
        one_source = Recipe(1.0, 1.0, recipe.footing, recipe.seed)
        pred = fit(pool, tr, one_source, emotions=False, pcs=pcs).model.predict(pool.x[te])
        metrics[name] = {
            "valence_r": round(pearson(pred.valence, pool.valence[te]), 4),
            "arousal_r": round(pearson(pred.arousal, pool.arousal[te]), 4),
        }
        print(f"{name} done", file=sys.stderr)
    return metrics, oof[oasis]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=default_data_root())
    parser.add_argument("--cache", type=Path, default=Path("/tmp/photophone-cache"))
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument(
        "--experiments", type=Path, default=None, help="mood_experiments output to cite in the card"
    )
    parser.add_argument("--emotion6-weight-valence", type=float, default=Recipe.emotion6_weight_valence)
    parser.add_argument("--emotion6-weight-arousal", type=float, default=Recipe.emotion6_weight_arousal)
    parser.add_argument("--version", default=MODEL_VERSION)
    parser.add_argument(
        "--encoder",
        default=ENCODER,
        choices=(EFFICIENTNET_LITE0, EFFICIENTNET_LITE2, EFFICIENTNET_LITE_PAIR),
        help="image encoder",
    )
    parser.add_argument("--note", action="append", default=[], help="a line for the card's notes")
    parser.add_argument(
        "--validation-json",
        type=Path,
        default=None,
        help="validation figures measured already (mood_variants: the same folds, one standardisation) "
        "to record instead of running validate (seven full fits)",
    )
    args = parser.parse_args(argv)
    recipe = Recipe(args.emotion6_weight_valence, args.emotion6_weight_arousal)
    try:
        pool = load_pool(args.data, args.cache, recipe.footing, args.encoder)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.validation_json:
        metrics = json.loads(args.validation_json.read_text())
    else:
        metrics, oof = validate(pool, recipe)
        oof_path = args.cache / f"{args.version}-oasis-out-of-fold.npz"
        np.savez(
            oof_path,
            valence=oof[:, 0],
            arousal=oof[:, 1],
            names=np.array([n for n, o in zip(pool.names, pool.is_oasis, strict=True) if o]),
        )
    fitted = fit(pool, np.arange(len(pool.x)), recipe)
    e6 = ~pool.is_oasis
    card: dict[str, object] = {
        "model_version": args.version,
        "task": "photo -> valence, arousal in [0,1] on Emotion6's footing ((x-1)/8; OASIS ratings equated to "
        "Emotion6's mean and spread per output), 7-way Emotion6 emotion distribution",
        "encoder": args.encoder,
        "feature_set": default_feature_set(args.encoder),
        "inputs": f"{args.encoder}: {default_feature_set(args.encoder)} (recommender/photo_inputs.py); "
        "one view, no test-time augmentation",
        "input_dim": int(pool.x.shape[1]),
        "emotions": list(IMAGE_EMOTIONS),
        "recipe": asdict(recipe),
        "heads": {
            "valence": "weighted ridge, block-scaled standardised inputs, "
            f"alpha={fitted.alphas['valence']:g}; rows: OASIS weight 1, Emotion6 weight "
            f"{recipe.emotion6_weight_valence:g}",
            "arousal": f"weighted ridge, alpha={fitted.alphas['arousal']:g}; rows: OASIS weight 1, Emotion6 "
            f"weight {recipe.emotion6_weight_arousal:g}; the |v-0.5| inputs are kept at weight 0",
            "emotions": f"softmax regression on Emotion6's soft labels only, L2={EMOTION_L2:g}",
            "calibration": "stretched to the ratings' spread by "
            f"{fitted.stretch['valence']:.2f} (valence) and {fitted.stretch['arousal']:.2f} (arousal), from "
            "out-of-fold predictions",
        },
        "training_data": {
            "datasets": ["Emotion6", "OASIS (development part)"],
            "photos": {"emotion6": int(e6.sum()), "oasis": int(pool.is_oasis.sum())},
            "oasis_themes": len(np.unique(pool.groups[pool.is_oasis])),
            "provenance": PROVENANCE,
        },
        "licence_note": PROVENANCE,
        "validation": metrics,
        "label_stats": {
            "valence_mean": round(float(pool.valence[e6].mean()), 4),
            "valence_sd": round(float(pool.valence[e6].std()), 4),
            "arousal_mean": round(float(pool.arousal[e6].mean()), 4),
            "arousal_sd": round(float(pool.arousal[e6].std()), 4),
        },
        "trained_at": time.strftime("%Y-%m-%d"),
    }
    if args.note:
        card["notes"] = args.note
    if args.experiments and args.experiments.is_file():
        card["experiments"] = json.loads(args.experiments.read_text())
    fitted.model.card = card
    fitted.model.save(args.out)
    print(json.dumps({"out": str(args.out), **metrics}, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
