"""Quadrant P@5 of a mood variant's out-of-fold readings on the demo catalogue (tracks with human or
editorial V/A only), ranked by va_match alone: what a better V/A reading buys in the ranking.

    nice -n 10 python -m recommender.lab.training.mood_quadrant --data ../shared/data \
        --predictions /work/cache-w9mood/predictions [--variants NAME;...] [--out-of-fold FILE;...]

Each OASIS photo's valence and arousal are a variant's out-of-fold predictions (mood_variants /
mood_heads: the model never trained on the photo's theme); relevance is the evaluation's (the photo's
HUMAN quadrant against the track's, median splits), macro over quadrants, over all 607 photos. Printed
beside chance and the oracle (the human V/A read as the photo's mood). va_match alone, not the fused
default: the fused default's other strategy (joint_embedding) reads Lite0 embeddings, not the mood.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from recommender.lab.datasets import default_data_root, load_emotion6, load_oasis
from recommender.lab.evaluation.relevance import build_relevances
from recommender.lab.evaluation.scoring import build_catalogue, chance, judge, load_strategies, score_matrices
from recommender.lab.labelled_catalogue import demo_tracks
from recommender.pipeline import EngineConfig
from recommender.types import IMAGE_EMOTIONS, PhotoAnalysis

from .mood_variants import prediction_file
from .train_mood_sources import equate

UNIFORM = {e: 1 / len(IMAGE_EMOTIONS) for e in IMAGE_EMOTIONS}


def va_match_p5(readings: dict[str, np.ndarray], human: np.ndarray) -> dict[str, float]:
    """name -> macro quadrant P@5 of va_match over the demo catalogue for each (n, 2) V/A reading, plus
    'chance' and 'oracle (human V/A)'. human: (n, 2) on the served footing."""
    if any(r.shape != human.shape for r in readings.values()):
        raise ValueError(f"every reading must have the human ratings' shape {human.shape}")
    strategies = load_strategies(["va_match"])
    if "va_match" not in strategies.available:
        raise RuntimeError(f"va_match unavailable: {strategies.skipped}")
    catalogue = build_catalogue(demo_tracks(), strategies, "demo-quadrant")
    uniform = np.full((len(human), len(IMAGE_EMOTIONS)), 1 / len(IMAGE_EMOTIONS))
    rel = build_relevances(human, uniform, np.asarray(catalogue.va), np.asarray(catalogue.music_emotions))
    rels = {"quadrant": rel["quadrant"]}
    keep = {"quadrant": rel["quadrant"].relevant_counts() > 0}
    out = {"chance": chance(rels, keep).metrics["quadrant"]["P@5"]}
    for name, va in {**readings, "oracle (human V/A)": human}.items():
        photos = [
            PhotoAnalysis(float(v), float(a), UNIFORM, np.zeros(1, dtype=np.float32), {}, []) for v, a in va
        ]
        scores = score_matrices(photos, catalogue, strategies, EngineConfig())["va_match"]
        out[name] = judge(scores, rels, keep).metrics["quadrant"]["P@5"]
    return {k: round(float(v), 4) for k, v in out.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=default_data_root())
    parser.add_argument("--predictions", type=Path, default=None, help="mood_variants' predictions folder")
    parser.add_argument(
        "--out-of-fold",
        default="",
        help="train_mood_sources' VERSION-oasis-out-of-fold.npz files (a trained artifact's exact protocol), "
        "separated by ';'",
    )
    parser.add_argument(
        "--variants",
        default="mood-v3 inputs, one standardisation;Lite2, plain",
        help="names separated by ';'",
    )
    args = parser.parse_args(argv)
    e6, oa = load_emotion6(args.data / "emotion6"), load_oasis(args.data / "oasis")
    is_oasis = np.arange(len(e6.paths) + len(oa.paths)) >= len(e6.paths)
    human = np.stack(
        [
            equate(np.concatenate([e6.valence, oa.valence]), is_oasis)[is_oasis],
            equate(np.concatenate([e6.arousal, oa.arousal]), is_oasis)[is_oasis],
        ],
        axis=1,
    )
    readings = {}
    if args.predictions is not None:
        for name in filter(None, args.variants.split(";")):
            with np.load(prediction_file(args.predictions, name)) as saved:
                readings[name] = saved["oof"]
    for file in filter(None, args.out_of_fold.split(";")):
        with np.load(file) as saved:
            if [str(n) for n in saved["names"]] != [f"oasis/{n}" for n in oa.names]:
                parser.error(f"{file} does not hold this data's OASIS photos in order")
            readings[Path(file).name] = np.stack([saved["valence"], saved["arousal"]], axis=1)
    if not readings:
        parser.error("give --predictions or --out-of-fold")
    print(json.dumps(va_match_p5(readings, human), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
