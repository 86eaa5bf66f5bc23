"""A seeded feedback simulator: simulated users rate the engine's recommendations by a hidden truth the
engine never sees, and a reranker retrained from those ratings is measured on photos it never saw.

    python -m recommender.lab.feedback_simulator [--data ../shared/data] [--catalogue demo/catalogue.csv]
        [--ratings 500,2000,10000] [--seed 0] [--moods out-of-fold|served] [--truth median|midpoint]
        [--features var/cache] [--cache FILE.npz]

Hidden truth: a track fits a photo when their valence/arousal quadrants agree, the photo's from its OASIS
human ratings (1-7 means, as (x - 1) / 6) and the track's from the catalogue's annotations (the demo
catalogue's editorial V/A), each split at its own median as the evaluation's fixed relevance does
(evaluation/relevance.py; --truth midpoint splits both at 0.5 instead). What the engine reads of a photo
(--moods): by default its out-of-fold mood (a mood model that never trained on the photo's theme, as for a new
user's photo; evaluation/kinds.py), since the served mood model was trained on every OASIS development photo;
"served" reads it with the served model. Each simulated user (50) has a personal taste, a shift of how
pleasant they hear music (sd 0.1 on valence), and rates with noise (15% of ratings flipped). A user sees the
engine's top 10 for a photo and rates one of them. OASIS themes are split (seeded) into photos the ratings
come from (70%) and photos kept for the measure (30%; a theme is never on both sides): P@5 by the hidden truth
(without taste) of the engine alone against the engine's top 50 reranked by the retrained reranker. Ratings
that are random or adversarial (the truth inverted) go through the same evaluation gate and should be refused.
The gate's offline check (--check) is the registry's: the shipped fixed offline evaluation
(rerank_offline.py), less the photos of the themes measured here, so the gate never sees them ("offline", the
default); or the hidden truth of the photos the ratings came from ("seen").
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from pathlib import Path

import numpy as np
from PIL import Image

from recommender.catalogue_index import TrackCatalogue
from recommender.config import EngineConfig
from recommender.lab import datasets, rerank_offline
from recommender.lab.datasets import quadrants
from recommender.lab.evaluation.kinds import oasis_photos
from recommender.lab.evaluation.relevance import median_split
from recommender.lab.rerank_offline import OfflineEval
from recommender.lab.rerank_training import RatingSet, train_and_judge
from recommender.pipeline import get_engine
from recommender.ranking import Ranking
from recommender.reranker import POOL, rerank
from recommender.types import PhotoAnalysis, TrackRow

USERS = 50
TASTE_SD = 0.1
FLIP = 0.15
SHOWN = 10
SEEN_SHARE = 0.7


def load_catalogue(path: Path) -> list[TrackRow]:
    with open(path, newline="") as handle:
        return [
            TrackRow(
                track_id=i + 1,
                artist=r["artist"],
                title=r["title"],
                valence=float(r["valence"]),
                arousal=float(r["arousal"]),
                genre=r.get("genre", ""),
                tags=[t for t in r.get("tags", "").split(";") if t],
            )
            for i, r in enumerate(csv.DictReader(handle))
        ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--catalogue", type=Path, default=Path("demo/catalogue.csv"))
    parser.add_argument("--ratings", default="500,2000,10000")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--check", choices=("offline", "seen"), default="offline")
    parser.add_argument("--offline", type=Path, default=rerank_offline.DEFAULT_DIR)
    parser.add_argument("--moods", choices=("out-of-fold", "served"), default="out-of-fold")
    parser.add_argument("--truth", choices=("median", "midpoint"), default="median")
    parser.add_argument("--features", type=Path, default=Path("var/cache"), help="the photo feature cache")
    parser.add_argument("--cache", type=Path, help="an .npz keeping the engine's outputs between runs")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    started = time.perf_counter()

    oasis = datasets.load_oasis(args.data / "oasis")
    photos = list(zip(oasis.paths, oasis.themes, oasis.valence, oasis.arousal, strict=True))
    groups = sorted(set(oasis.themes))
    seen_groups = set(rng.permutation(groups)[: int(len(groups) * SEEN_SHARE)].tolist())
    truth_va = np.stack([oasis.valence, oasis.arousal], axis=1)
    seen = np.array([g in seen_groups for g in oasis.themes])

    engine = get_engine(EngineConfig.from_environment())
    rows = load_catalogue(args.catalogue)
    cache = args.cache if args.cache and args.cache.exists() else None
    # With the engine's outputs cached, ranking needs only the tracks' moods and artists.
    catalogue = TrackCatalogue.build(rows) if cache else engine.build_catalogue(rows)
    track_truth = {r.track_id: (float(r.valence or 0), float(r.arousal or 0)) for r in rows}
    analyses: list[PhotoAnalysis] = []
    rankings: list[Ranking] = []
    if cache is not None:  # the engine's outputs saved by an earlier run (--cache)
        with np.load(cache) as saved:
            if str(saved["moods"]) != args.moods or len(saved["va"]) != len(photos):
                raise SystemExit(f"{cache} holds other engine outputs: remove it or give another --cache")
            for i, (v, a) in enumerate(saved["va"]):
                analyses.append(PhotoAnalysis(float(v), float(a), {}, np.zeros(1), {}, []))
                strategies = {k: saved["strategy_" + k][i] for k in saved["strategies"]}
                rankings.append(
                    Ranking(saved["ids"][i], saved["scores"][i], strategies, lambda idx: [[] for _ in idx])
                )
    else:
        if args.moods == "out-of-fold":
            args.features.mkdir(parents=True, exist_ok=True)
            analyses = oasis_photos(args.data, args.features)[0]
        else:
            for start in range(0, len(photos), 16):
                images = [Image.open(p).convert("RGB") for p, _, _, _ in photos[start : start + 16]]
                analyses += engine.analyse_batch(images)
        rankings = [engine.recommend(analysis, catalogue, top_k=POOL) for analysis in analyses]
    if args.cache and cache is None:
        names = sorted(rankings[0].strategy_scores)
        arrays: dict[str, np.ndarray] = {
            "moods": np.array(args.moods),
            "va": np.array([a.va for a in analyses]),
            "ids": np.stack([r.track_ids[:POOL] for r in rankings]),
            "scores": np.stack([r.scores[:POOL] for r in rankings]),
            "strategies": np.array(names),
            **{"strategy_" + k: np.stack([r.strategy_scores[k][:POOL] for r in rankings]) for k in names},
        }
        np.savez(args.cache, **arrays)  # type: ignore[arg-type]
    splits = (
        (median_split(truth_va), median_split(np.array(list(track_truth.values()))))
        if args.truth == "median"
        else ((0.5, 0.5), (0.5, 0.5))
    )
    analysed = time.perf_counter() - started

    def fits(photo: int, track_id: int, taste: float = 0.0) -> bool:
        tv, ta = track_truth[track_id]
        photo_class = quadrants(truth_va[photo, 0], truth_va[photo, 1], splits[0])
        return bool(photo_class == quadrants(tv + taste, ta, splits[1]))

    def precision_at_5(photo: int, track_ids: list[int]) -> float:
        return float(np.mean([fits(photo, t) for t in track_ids[:5]]))

    def simulate(n: int, mode: str, seed: int) -> RatingSet:
        r = np.random.default_rng(seed)
        tastes = r.normal(0, TASTE_SD, USERS)
        seen_photos = np.flatnonzero(seen)
        rows_out: list[tuple] = []
        for i in range(n):
            user, photo = int(r.integers(USERS)), int(r.choice(seen_photos))
            ranking = rankings[photo]
            at = int(r.integers(min(SHOWN, ranking.scored)))
            track = int(ranking.track_ids[at])
            up = fits(photo, track, tastes[user]) != (r.uniform() < FLIP)
            if mode == "adversarial":
                up = not up
            elif mode == "random":
                up = bool(r.uniform() < 0.5)
            row = catalogue.row_of([track])[track]
            rows_out.append(
                (
                    float(ranking.scores[at]),
                    {k: float(v[at]) for k, v in ranking.strategy_scores.items()},
                    analyses[photo].va,
                    tuple(catalogue.va[row]),
                    int(up),
                    photo * USERS + user,
                    float(i),
                )
            )
        names = sorted({k for x in rows_out for k in x[1]})
        return RatingSet(
            engine_scores=np.array([x[0] for x in rows_out]),
            strategy_scores={k: np.array([x[1].get(k, np.nan) for x in rows_out]) for k in names},
            photo_va=np.array([x[2] for x in rows_out]),
            track_va=np.array([x[3] for x in rows_out], dtype=np.float64),
            labels=np.array([x[4] for x in rows_out]),
            groups=np.array([x[5] for x in rows_out]),
            times=np.array([x[6] for x in rows_out]),
        )

    unseen = np.flatnonzero(~seen)

    def seen_photos_check() -> OfflineEval:
        """The hidden truth of the photos the ratings came from (their truth, not their ratings), in the
        offline evaluation's form: the engine's top 50 of each."""
        picked = np.flatnonzero(seen)
        ids = [[int(t) for t in rankings[p].track_ids[:POOL]] for p in picked]
        relevant = np.array([[fits(int(p), t) for t in row] for p, row in zip(picked, ids, strict=True)])
        names = tuple(sorted(rankings[0].strategy_scores))
        return OfflineEval(
            names,
            np.stack([rankings[p].scores[:POOL] for p in picked]),
            {k: np.stack([rankings[p].strategy_scores[k][:POOL] for p in picked]) for k in names},
            np.array([analyses[p].va for p in picked]),
            truth_va[picked],
            np.array(
                [[catalogue.va[catalogue.row_of([t])[t]] for t in row] for row in ids], dtype=np.float64
            ),
            relevant,
            np.array([sum(fits(int(p), r.track_id) for r in rows) for p in picked]),
            np.array([quadrants(truth_va[p, 0], truth_va[p, 1], splits[0]) for p in picked]),
            np.array([photos[p][1] for p in picked]),
        )

    before = [precision_at_5(int(p), [int(t) for t in rankings[p].track_ids[:5]]) for p in unseen]
    out: dict[str, object] = {
        "photos": len(photos),
        "themes": len(groups),
        "seen_photos": int(seen.sum()),
        "unseen_photos": len(unseen),
        "catalogue": str(args.catalogue),
        "tracks": len(rows),
        "seed": args.seed,
        "moods": args.moods,
        "truth": args.truth,
        "chance_p_at_5": round(
            float(np.mean([np.mean([fits(int(p), r.track_id) for r in rows]) for p in unseen])), 4
        ),
        "engine_p_at_5_unseen": round(float(np.mean(before)), 4),
        "analysis_seconds": round(analysed, 1),
    }
    if args.check == "seen":
        check = seen_photos_check()
    else:
        shipped = rerank_offline.load(args.offline)
        measured = {photos[p][1] for p in unseen}
        check = shipped.subset(np.flatnonzero(~np.isin(shipped.themes, list(measured))))
    out["offline_check"] = {
        "kind": args.check,
        "photos": len(check),
        "engine_alone": check.engine_alone(),
        "oracle": check.oracle(),
    }
    for n in (int(x) for x in args.ratings.split(",") if x):
        outcome = train_and_judge(simulate(n, "truthful", args.seed + n), None, f"sim-{n}", check)
        entry: dict[str, object] = {
            "gate_passed": outcome.passed,
            "reason": outcome.reason,
            "learner": outcome.metrics.get("learner"),
            "held_out_auc": outcome.metrics.get("held_out_auc"),
            "engine_held_out_auc": outcome.metrics.get("active_held_out_auc"),
            "offline": outcome.metrics.get("offline"),
        }
        if outcome.reranker is not None:
            after = [
                precision_at_5(
                    int(p),
                    [t.track_id for t in rerank(rankings[p], analyses[p].va, catalogue, outcome.reranker, 5)],
                )
                for p in unseen
            ]
            entry["reranked_p_at_5_unseen"] = round(float(np.mean(after)), 4)
        out[f"after_{n}_ratings"] = entry
    for mode in ("random", "adversarial"):
        outcome = train_and_judge(simulate(2000, mode, args.seed + 7), None, f"sim-{mode}", check)
        out[f"{mode}_2000_ratings"] = {
            "gate_passed": outcome.passed,
            "reason": outcome.reason,
            "held_out_auc": outcome.metrics.get("held_out_auc"),
            "engine_held_out_auc": outcome.metrics.get("active_held_out_auc"),
            "offline": outcome.metrics.get("offline"),
        }
    out["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
