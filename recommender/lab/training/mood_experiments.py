"""What makes the mood model hold on photos unlike its training set: Emotion6 and OASIS together.

    python -m recommender.lab.training.mood_experiments --data ../shared/data --cache var/cache \
        --out var/mood-experiments.json

Each configuration (inputs, test-time views, label footing, Emotion6's weight per output, linear or RBF
kernel) is judged three ways, Pearson r for valence and arousal:

- oasis_themes: 5-fold CV over OASIS THEMES (a theme's near-duplicate photos never straddle a split);
  training rows are the other OASIS folds plus every Emotion6 photo at its weight; regularisation chosen
  by an inner 3-fold CV (grouped the same way) on the training rows only.
- emotion6_to_oasis / oasis_to_emotion6: train on one source, test on the other (cross-source).

Footings put both rating scales on one: "range" maps each scale's ends to 0 and 1 ((x - 1) / 8 and
(x - 1) / 6); "equated" gives OASIS ratings Emotion6's mean and spread per output (the served scale).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from recommender.lab.datasets import default_data_root, load_emotion6, load_oasis
from recommender.lab.stats import pearson

from .mood_features import photo_features
from .mood_kernel import ALPHAS, block_inputs, components, grouped_folds, pick_alpha, ridge_predictions

ENCODER = "efficientnet-lite0"
BLOCKS = ("embeddings", "colour", "stages", "logits")
INPUT_SETS: dict[str, tuple[str, ...]] = {
    "embedding+colour": ("embeddings", "colour"),
    "embedding+colour+stages": ("embeddings", "colour", "stages"),
    "embedding+colour+stages+logits": BLOCKS,
}


@dataclass
class Pooled:
    """Both sources' rows, Emotion6 first: per-view blocks, labels on the range footing, groups."""

    blocks: dict[str, dict[str, np.ndarray]]  # view -> block -> (n, d)
    valence: np.ndarray
    arousal: np.ndarray
    is_oasis: np.ndarray  # (n,) bool
    groups: np.ndarray  # (n,) OASIS theme or one group per Emotion6 photo

    def footing(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(valence, arousal) with OASIS rows moved to Emotion6's mean and spread under "equated"."""
        if name == "range":
            return self.valence, self.arousal
        out = []
        for y in (self.valence, self.arousal):
            y = y.copy()
            e6, oa = y[~self.is_oasis], y[self.is_oasis]
            y[self.is_oasis] = e6.mean() + (oa - oa.mean()) / oa.std() * e6.std()
            out.append(y)
        return out[0], out[1]


def load_pooled(data: Path, cache: Path, views: tuple[str, ...]) -> Pooled:
    e6, oa = load_emotion6(data / "emotion6"), load_oasis(data / "oasis")
    blocks: dict[str, dict[str, np.ndarray]] = {}
    for v in views:
        parts = [
            photo_features(e6.paths, ENCODER, cache, v, "emotion6"),
            photo_features(oa.paths, ENCODER, cache, v, "oasis"),
        ]
        colour = [np.array([[c[k] for k in sorted(c)] for c in p.colour]) for p in parts]
        blocks[v] = {
            "embeddings": np.concatenate([p.embeddings for p in parts]),
            "colour": np.concatenate(colour),
            "stages": np.concatenate([p.stages for p in parts]),
            "logits": np.concatenate([p.logits for p in parts]),
        }
    n6 = len(e6.paths)
    return Pooled(
        blocks,
        np.concatenate([e6.valence, oa.valence]),
        np.concatenate([e6.arousal, oa.arousal]),
        np.arange(n6 + len(oa.paths)) >= n6,
        np.concatenate([np.arange(n6), n6 + oa.theme_ids]),
    )


def inputs(p: Pooled, input_set: str, views: tuple[str, ...]) -> list[np.ndarray]:
    """Each block averaged over the views (a linear head on averaged inputs = averaged predictions)."""
    return [np.mean([p.blocks[v][b] for v in views], axis=0) for b in INPUT_SETS[input_set]]


def extras(v_hat: np.ndarray) -> np.ndarray:
    """The arousal head's extra inputs |v - 0.5|, (v - 0.5)^2 of predicted valence, standardised."""
    d = v_hat - 0.5
    e = np.stack([np.abs(d), d**2], axis=1)
    return (e - e.mean(0)) / e.std(0)


def fit_predict(
    k: np.ndarray, y: np.ndarray, w: np.ndarray, tr: np.ndarray, te: np.ndarray, groups: np.ndarray, seed: int
) -> np.ndarray:
    alpha = pick_alpha(k, y, w, tr, groups, seed)
    return ridge_predictions(k, y, w, tr, te, [alpha])[0]


def run_split(
    k: np.ndarray,
    yv: np.ndarray,
    ya: np.ndarray,
    w_v: np.ndarray,
    w_a: np.ndarray,
    tr: np.ndarray,
    te: np.ndarray,
    groups: np.ndarray,
    seed: int,
    arousal_extras: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """Valence and arousal predictions for rows te from heads fitted on rows tr."""
    pv = fit_predict(k, yv, w_v, tr, te, groups, seed)
    if not arousal_extras:
        return pv, fit_predict(k, ya, w_a, tr, te, groups, seed)
    # The extras read predicted valence: out of fold for the training rows, as noisy as at inference.
    v_hat = np.zeros(len(yv))
    fold = grouped_folds(groups[tr], 3, seed + 7)
    for f in range(3):
        v_hat[tr[fold == f]] = fit_predict(k, yv, w_v, tr[fold != f], tr[fold == f], groups, seed)
    v_hat[te] = pv
    ka = np.concatenate([k, extras(v_hat)], axis=1)
    return pv, fit_predict(ka, ya, w_a, tr, te, groups, seed)


def evaluate(
    p: Pooled, k: np.ndarray, footing: str, e6_v: float, e6_a: float, extras: bool, seed: int
) -> dict[str, float]:
    yv, ya = p.footing(footing)
    w_v = np.where(p.is_oasis, 1.0, e6_v)
    w_a = np.where(p.is_oasis, 1.0, e6_a)
    oasis = np.flatnonzero(p.is_oasis)
    e6 = np.flatnonzero(~p.is_oasis)
    out: dict[str, float] = {}
    pv, pa = np.zeros(len(yv)), np.zeros(len(yv))
    fold = grouped_folds(p.groups[oasis], 5, seed)
    for f in range(5):
        te = oasis[fold == f]
        tr = np.concatenate([oasis[fold != f], e6[w_v[e6] > 0] if (e6_v > 0 or e6_a > 0) else e6[:0]])
        # rows of weight 0 for one output still count as rows for the other: weight them out instead
        pv[te], pa[te] = run_split(
            k, yv, ya, np.maximum(w_v, 1e-9), np.maximum(w_a, 1e-9), tr, te, p.groups, seed, extras
        )
    out["oasis_themes_valence_r"] = pearson(pv[oasis], yv[oasis])
    out["oasis_themes_arousal_r"] = pearson(pa[oasis], ya[oasis])
    return out


def cross_source(p: Pooled, k: np.ndarray, extras: bool, seed: int) -> dict[str, float]:
    yv, ya = p.footing("range")
    ones = np.ones(len(yv))
    out = {}
    for name, tr, te in (
        ("emotion6_to_oasis", np.flatnonzero(~p.is_oasis), np.flatnonzero(p.is_oasis)),
        ("oasis_to_emotion6", np.flatnonzero(p.is_oasis), np.flatnonzero(~p.is_oasis)),
    ):
        pv, pa = run_split(k, yv, ya, ones, ones, tr, te, p.groups, seed, extras)
        out[f"{name}_valence_r"] = pearson(pv, yv[te])
        out[f"{name}_arousal_r"] = pearson(pa, ya[te])
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=default_data_root())
    parser.add_argument("--cache", type=Path, default=Path("var/cache"))
    parser.add_argument("--out", type=Path, default=Path("var/mood-experiments.json"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--stage", choices=("inputs", "weights"), default="inputs")
    args = parser.parse_args(argv)
    views_all = ("plain", "flip")
    p = load_pooled(args.data, args.cache, views_all)
    results: list[dict[str, object]] = []
    prior = json.loads(args.out.read_text()) if args.out.is_file() else []

    def record(config: dict[str, object], metrics: dict[str, float]) -> None:
        row = {**config, **{m: round(v, 4) for m, v in metrics.items()}}
        print(json.dumps(row), file=sys.stderr)
        results.append(row)

    t0 = time.perf_counter()
    if args.stage == "inputs":  # inputs and views, OASIS alone and with Emotion6 at weight 1
        for input_set, views in itertools.product(INPUT_SETS, [("plain",), views_all]):
            k = components(block_inputs(inputs(p, input_set, views)))
            for extras in (False, True):
                record(
                    {"stage": "inputs", "inputs": input_set, "views": "+".join(views), "extras": extras},
                    {
                        **evaluate(p, k, "equated", 0.0, 0.0, extras, args.seed),
                        **cross_source(p, k, extras, args.seed),
                    },
                )
    else:
        input_set, views = "embedding+colour+stages+logits", ("plain",)
        k = components(block_inputs(inputs(p, input_set, views)))
        if args.stage == "weights":
            for footing, e6 in itertools.product(("range", "equated"), (0.0, 0.1, 0.25, 0.5, 1.0)):
                record(
                    {"stage": "weights", "footing": footing, "emotion6_weight": e6},
                    evaluate(p, k, footing, e6, e6, True, args.seed),
                )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps([*prior, *results], indent=1) + "\n")
    print(
        f"{len(results)} configurations in {time.perf_counter() - t0:.0f} s; "
        f"alphas {ALPHAS.min():g}..{ALPHAS.max():g}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
