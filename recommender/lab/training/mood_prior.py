"""A language prior for the mood ridge (issue 9, section 1): what the photo shows, valued by words.

The ridge learns which ImageNet classes go with pleasant or calm photos only from the 162 OASIS themes and
Emotion6's six keywords; a held-out theme may show classes it never saw. MiniLM (text.py) knows words it
was never shown a photo of: each of the 1,000 class names ("a photo of a {label}") gets a valence score,
its mean cosine to pleasant phrases less that to unpleasant ones, and an arousal score from exciting
against calm phrases. A photo's prior is the class scores weighted by its class probabilities (softmax of
the encoder's logits): two numbers, no training, nothing more to run when serving.

    nice -n 10 python -m recommender.lab.training.mood_heads --data ../shared/data --cache CACHE \\
        --out CACHE/prior.json --only "Lite0 + language prior;Lite2 + language prior"

The prior alone (printed by `python -m recommender.lab.training.mood_prior --cache CACHE`) and beside the
served inputs (one more block) under mood_heads' protocol: docs/mood-variants.md, "A language prior".
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from recommender.lab.datasets import default_data_root
from recommender.lab.stats import pearson

from .mood_richer import HIGHER
from .mood_variants import (
    L0,
    L2,
    LITE2_BESIDE,
    RECIPE,
    Data,
    Predictions,
    gram_fit_predict,
    protocol_predictions,
)
from .mood_views import LITE1

# (pleasant, unpleasant) and (exciting, calm) phrases; each class scores the mean cosine to the first list
# less the mean cosine to the second. Written once, before any figure was seen, and not tuned.
ANCHORS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "valence": (
        (
            "a photo of something pleasant, happy, lovely and beautiful",
            "joy, love, delight",
            "a cute, adorable, cheerful scene",
        ),
        (
            "a photo of something unpleasant, sad, disgusting or frightening",
            "death, pain, grief, fear",
            "a dirty, ugly, dangerous scene",
        ),
    ),
    "arousal": (
        (
            "a photo of something exciting, intense, thrilling or alarming",
            "danger, action, energy, passion",
            "an explosive, wild, violent scene",
        ),
        (
            "a photo of something calm, quiet, dull or relaxing",
            "peace, rest, boredom, stillness",
            "a still, empty, peaceful scene",
        ),
    ),
}


def _unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)


def class_prior(labels: Sequence[str], embed: Callable[[Sequence[str]], np.ndarray]) -> np.ndarray:
    """(len(labels), 2): each class's valence and arousal score from the anchor phrases."""
    classes = _unit(np.asarray(embed([f"a photo of a {label}" for label in labels]), dtype=np.float64))
    columns = []
    for positive, negative in ANCHORS.values():
        pos = _unit(np.asarray(embed(positive), dtype=np.float64))
        neg = _unit(np.asarray(embed(negative), dtype=np.float64))
        columns.append((classes @ pos.T).mean(axis=1) - (classes @ neg.T).mean(axis=1))
    return np.stack(columns, axis=1)


def photo_prior(logits: np.ndarray, prior: np.ndarray) -> np.ndarray:
    """(n, 2): the class scores weighted by each photo's class probabilities."""
    z = np.asarray(logits, dtype=np.float64)
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    return p @ prior


def minilm_prior() -> np.ndarray:
    from recommender.imagenet import imagenet_labels
    from recommender.text import text_encoder

    return class_prior(imagenet_labels(), text_encoder().encode)


def prior_block(d: Data, encoder: str, prior: np.ndarray, view: str = "plain") -> np.ndarray:
    return photo_prior(d.parts(encoder, view)["logits"], prior)


def variants(d: Data) -> dict[str, Callable[[], Predictions]]:
    """The served inputs of Lite0 and Lite2, and the best recipe of the lab (Lite1 + Lite2 at 340 px,
    mood_richer), with the prior as one more block (standardised, weighed like any other block in the
    penalty; for the pair, from Lite2's classes at 340 px)."""

    def ridge(blocks: list[np.ndarray]) -> Predictions:
        pool = d.pool(blocks)
        return protocol_predictions(pool, RECIPE, gram_fit_predict(pool, RECIPE))[0]

    def with_prior(encoder: str) -> Predictions:
        return ridge([*d.blocks(encoder, ["plain"]), prior_block(d, encoder, minilm_prior())])

    def pair_with_prior() -> Predictions:
        pair = d.blocks(LITE1, [HIGHER]) + d.blocks(L2, [HIGHER], LITE2_BESIDE)
        return ridge([*pair, prior_block(d, L2, minilm_prior(), HIGHER)])

    return {
        "Lite0 + language prior": lambda: with_prior(L0),
        "Lite2 + language prior": lambda: with_prior(L2),
        "Lite1 + Lite2 at 340 px + language prior": pair_with_prior,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=default_data_root())
    parser.add_argument("--cache", type=Path, required=True, help="mood_views' feature cache")
    args = parser.parse_args(argv)
    d = Data(args.data, args.cache)
    prior = minilm_prior()
    out: dict[str, object] = {}
    for name, encoder in (("Lite0", L0), ("Lite2", L2)):
        x = prior_block(d, encoder, prior)
        for source, rows in (("oasis", d.is_oasis), ("emotion6", ~d.is_oasis)):
            out[f"{name} prior alone, {source}: valence r, arousal r"] = [
                round(pearson(x[rows, 0], d.valence[rows]), 4),
                round(pearson(x[rows, 1], d.arousal[rows]), 4),
            ]
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
