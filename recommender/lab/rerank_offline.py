"""The reranker gate's fixed offline evaluation: held-out development photos with human V/A, each with the
engine's top POOL candidates from a catalogue with human mood labels, scored by quadrant P@5 and NDCG@10
once a reranker has reordered them.

    python -m recommender.lab.rerank_offline --data ../shared/data --cache var/cache \
        [--out recommender/artifacts/offline-eval-v1]

The artifact holds derived numbers only (no photo, no raw rating): per photo, the mood the engine reads (out
of fold: the mood model that read it never trained on its theme, so the check sees photos as new ones) and
its human mood on the same footing, its true quadrant class, how many tracks of the whole catalogue share
it; per photo x candidate, the engine's fused score, each strategy's score (NaN where it abstained), the
track's mood position and whether it is truly relevant. The registry's retraining task reads it
(registry/training.py), so a worker needs no ../shared/data. Relevance is
recommender/lab/evaluation/relevance.py's (a) quadrant: the photo's quadrant from its human ratings, the
track's from its catalogue V/A, each split at its own median.

Each reranker is judged twice: with the photo's mood as the engine reads it (what serving sees), and with
its human mood ("mood known"), which asks whether its ordering follows the mood at all, apart from the mood
model's error: a reranker that learned against the mood falls there even where reading noise hides it.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from recommender.config import ARTIFACTS_DIR
from recommender.lab.evaluation.metrics import macro_average, ndcg_at, precision_at
from recommender.lab.evaluation.relevance import median_split, quadrants
from recommender.reranker import POOL, feature_matrix

FORMAT = "photophone-rerank-offline-eval/2"
DEFAULT_DIR = ARTIFACTS_DIR / "offline-eval-v1"
FILE = "offline_eval.npz"
CARD = "card.json"

MOOD_KNOWN = "_mood_known"
ScoreFn = Callable[[np.ndarray], np.ndarray]


class Unavailable(Exception):
    """The offline evaluation cannot be read (missing, unreadable or of another format)."""


@dataclass
class OfflineEval:
    strategies: tuple[str, ...]
    engine_scores: np.ndarray  # (P, K) the engine's fused score of its top K, best first
    strategy_scores: dict[str, np.ndarray]  # name -> (P, K), NaN where the strategy abstained
    photo_va: np.ndarray  # (P, 2) the photo's mood as the engine reads it (out of fold)
    photo_va_known: np.ndarray  # (P, 2) its human mood on the same footing
    track_va: np.ndarray  # (P, K, 2) the candidate's mood position, NaN where it has none
    relevant: np.ndarray  # (P, K) bool: same true quadrant
    relevant_total: np.ndarray  # (P,) relevant tracks in the whole catalogue
    photo_class: np.ndarray  # (P,) the photo's true quadrant (macro averaging)
    themes: np.ndarray  # (P,) str, the photo's theme (lets the simulator keep its measured photos out)

    def __len__(self) -> int:
        return len(self.photo_class)

    def subset(self, rows: np.ndarray) -> OfflineEval:
        return OfflineEval(
            self.strategies,
            self.engine_scores[rows],
            {k: v[rows] for k, v in self.strategy_scores.items()},
            self.photo_va[rows],
            self.photo_va_known[rows],
            self.track_va[rows],
            self.relevant[rows],
            self.relevant_total[rows],
            self.photo_class[rows],
            self.themes[rows],
        )

    def evaluate(self, score: ScoreFn, strategies: Sequence[str]) -> dict[str, float]:
        """Macro quadrant P@5 and NDCG@10 of each photo's candidates reordered by score (a reranker's,
        over its features; ties keep the engine's order), with the photo's mood as read and (keys ending
        MOOD_KNOWN) as known. Strategies missing here are refused."""
        missing = sorted(set(strategies) - set(self.strategies))
        if missing:
            raise Unavailable(
                f"it has no scores for the strategies {', '.join(missing)} (rebuild it with them served)"
            )
        photos, k = self.relevant.shape
        out = {}
        for suffix, moods in (("", self.photo_va), (MOOD_KNOWN, self.photo_va_known)):
            x = feature_matrix(  # every photo's candidates in one call to the model
                strategies,
                self.engine_scores.ravel(),
                {s: self.strategy_scores[s].ravel() for s in strategies},
                np.repeat(moods, k, axis=0),
                self.track_va.reshape(-1, 2),
            )
            order = np.argsort(-score(x).reshape(photos, k), axis=1, kind="stable")
            ranked = np.take_along_axis(self.relevant, order, axis=1)
            out.update({name + suffix: value for name, value in self._metrics(ranked).items()})
        return out

    def engine_alone(self) -> dict[str, float]:
        return self._metrics(self.relevant)

    def oracle(self) -> dict[str, float]:
        """The best any reordering of the engine's candidates can do."""
        return self._metrics(-np.sort(-self.relevant.astype(np.int8), axis=1) > 0)

    def _metrics(self, ranked: np.ndarray) -> dict[str, float]:
        return {
            "p_at_5": round(macro_average(precision_at(ranked, 5), self.photo_class), 4),
            "ndcg_at_10": round(macro_average(ndcg_at(ranked, self.relevant_total), self.photo_class), 4),
        }

    def save(self, directory: Path, card: dict[str, Any]) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        arrays: dict[str, np.ndarray] = {
            "format": np.array(FORMAT),
            "strategies": np.array(self.strategies, dtype=str),
            "engine_scores": self.engine_scores.astype(np.float32),
            "photo_va": self.photo_va.astype(np.float32),
            "photo_va_known": self.photo_va_known.astype(np.float32),
            "track_va": self.track_va.astype(np.float32),
            "relevant": self.relevant,
            "relevant_total": self.relevant_total.astype(np.int32),
            "photo_class": self.photo_class.astype(np.int8),
            "themes": self.themes.astype(str),
            **{f"strategy_{k}": v.astype(np.float32) for k, v in self.strategy_scores.items()},
        }
        np.savez_compressed(directory / FILE, **arrays)  # type: ignore[arg-type]
        (directory / CARD).write_text(json.dumps(card, indent=2) + "\n")


def load(directory: Path | str) -> OfflineEval:
    """The artifact in directory, or Unavailable saying why it cannot be used."""
    path = Path(directory) / FILE
    if not path.is_file():
        raise Unavailable(f"{path} is missing (build it with python -m recommender.lab.rerank_offline)")
    try:
        with np.load(path, allow_pickle=False) as saved:
            if str(saved["format"]) != FORMAT:
                raise Unavailable(f"{path} is {saved['format']}, not {FORMAT}")
            strategies = tuple(str(s) for s in saved["strategies"])
            return OfflineEval(
                strategies,
                saved["engine_scores"].astype(np.float64),
                {s: saved[f"strategy_{s}"].astype(np.float64) for s in strategies},
                saved["photo_va"].astype(np.float64),
                saved["photo_va_known"].astype(np.float64),
                saved["track_va"].astype(np.float64),
                saved["relevant"].astype(bool),
                saved["relevant_total"].astype(np.int64),
                saved["photo_class"].astype(np.int64),
                saved["themes"].astype(str),
            )
    except Unavailable:
        raise
    except Exception as exc:  # a truncated or foreign file
        raise Unavailable(f"{path} cannot be read ({type(exc).__name__}: {exc})") from exc


def build(data: Path, cache: Path) -> tuple[OfflineEval, dict[str, Any]]:
    """OASIS development photos (out-of-fold moods, as the evaluation report's catalogue kinds read them)
    against the demo catalogue (editorial V/A), ranked by the shipped default engine."""
    from recommender.lab.evaluation.kinds import oasis_photos
    from recommender.lab.labelled_catalogue import demo_tracks
    from recommender.pipeline import EngineConfig, get_engine

    predicted, _, human, themes = oasis_photos(data, cache)
    rows = demo_tracks()
    config = EngineConfig.from_environment()
    engine = get_engine(config)
    catalogue = engine.build_catalogue(rows, version="offline-eval")
    positioned = np.asarray(catalogue.has_position, dtype=bool)
    catalogue_va = np.asarray(catalogue.va, dtype=np.float64)
    track_class = quadrants(catalogue_va, median_split(catalogue_va[positioned]))
    track_class[~positioned] = -1
    photo_class = quadrants(human, median_split(human))
    row_of = {int(t): i for i, t in enumerate(catalogue.track_ids)}
    rankings = [engine.recommend(photo, catalogue, top_k=POOL) for photo in predicted]
    k = min(r.scored for r in rankings)
    names = tuple(sorted(rankings[0].strategy_scores))
    at = np.array([[row_of[int(t)] for t in r.track_ids[:k]] for r in rankings])
    built = OfflineEval(
        strategies=names,
        engine_scores=np.stack([r.scores[:k] for r in rankings]),
        strategy_scores={n: np.stack([r.strategy_scores[n][:k] for r in rankings]) for n in names},
        photo_va=np.array([p.va for p in predicted]),
        photo_va_known=np.asarray(human, dtype=np.float64),
        track_va=np.where(positioned[at][..., None], catalogue_va[at], np.nan),
        relevant=track_class[at] == photo_class[:, None],
        relevant_total=np.array([(track_class == c).sum() for c in photo_class]),
        photo_class=photo_class,
        themes=np.array(themes, dtype=str),
    )
    chance = macro_average(built.relevant_total / positioned.sum(), photo_class)
    card = {
        "format": FORMAT,
        "task": "the reranker gate's fixed offline evaluation (registry/training.py)",
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": "python -m recommender.lab.rerank_offline --data ../shared/data --cache var/cache",
        "photos": {
            "dataset": "OASIS, development part (../shared/data/oasis)",
            "count": len(predicted),
            "themes": len(set(themes)),
            "mood": "out of fold: train_mood_sources.validate, each theme read by a mood model trained on "
            "Emotion6 and the other OASIS themes (as the evaluation report's catalogue kinds)",
            "class": "quadrant of the human valence/arousal means, split at the photos' medians",
            "mood_known": "the human valence/arousal on the served footing (OASIS equated to Emotion6), "
            "for the second judgement",
        },
        "catalogue": {
            "dataset": "demo/catalogue.csv (editorial valence/arousal, no audio features)",
            "tracks": len(rows),
            "class": "quadrant of the catalogue V/A, split at the catalogue's medians",
        },
        "engine": {
            "encoder": config.encoder,
            "mood_artifact": Path(config.mood_artifact).name,
            "heads_artifact": Path(config.heads_artifact).name,
            "strategies": list(names),
            "candidates_per_photo": k,
        },
        "contents": "derived numbers only: per photo the mood read, its class and relevant count; per "
        "photo x candidate the engine's and strategies' scores, the track's V/A and its relevance. "
        "No photo, no rating, no track metadata.",
        "licence_note": "derived from OASIS ratings (free for research; Kurdi et al., 2017) and the demo "
        "catalogue's editorial estimates",
        "metrics": {
            "engine_alone": built.engine_alone(),
            "oracle_reordering_of_the_candidates": built.oracle(),
            "chance_p_at_5": round(chance, 4),
        },
    }
    return built, card


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--cache", type=Path, default=Path("var/cache"))
    parser.add_argument("--out", type=Path, default=DEFAULT_DIR)
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    built, card = build(args.data, args.cache)
    built.save(args.out, card)
    print(json.dumps({"out": str(args.out), **card["metrics"]}, indent=2))


if __name__ == "__main__":
    main()
