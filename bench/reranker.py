"""The reranker's added cost per photo, and retraining time, over synthetic data (no image model runs).

    python bench/reranker.py [--tracks 30000] [--top-k 10] [--runs 300] [--ratings 10000,100000]

Per photo, a worker with an active reranker asks the engine for POOL tracks instead of top_k (the
Ranking is lazy: only the top_k shown get reasons either way) and calls recommender.reranker.rerank on
them: features from the strategies' scores and the photo's and tracks' moods, the model's scores, the
artist-distinct top_k. That call is timed here over a catalogue of --tracks tracks (TrackCatalogue.build,
no track vectors), for a logistic-regression and a LightGBM LambdaRank reranker trained on synthetic
ratings; and the time to read the shipped offline evaluation and train and judge a candidate
(train_and_judge: both learners, the gate with its bootstrap and the offline evaluation) on --ratings
synthetic ratings. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

import numpy as np  # noqa: E402

from recommender.catalogue_index import TrackCatalogue  # noqa: E402
from recommender.lab import rerank_offline, rerank_training  # noqa: E402
from recommender.ranking import Ranking  # noqa: E402
from recommender.reranker import POOL, rerank  # noqa: E402
from recommender.threads import configure_threads  # noqa: E402
from recommender.types import TrackRow  # noqa: E402

STRATEGIES = ("joint_embedding", "va_match")  # the default's, as the shipped offline evaluation holds


def synthetic_ratings(n: int, seed: int = 0) -> rerank_training.RatingSet:
    """Ratings by a hidden truth (same valence/arousal quadrant, 10% flipped); strategies see it noisily."""
    rng = np.random.default_rng(seed)
    photo, track = rng.uniform(size=(n, 2)), rng.uniform(size=(n, 2))
    closeness = 1 - np.hypot(*(photo - track).T) / np.sqrt(2)
    scores = {s: np.clip(closeness + rng.normal(0, 0.3, n), 0, 1) for s in STRATEGIES}
    truth = ((photo > 0.5) == (track > 0.5)).all(axis=1) != (rng.uniform(size=n) < 0.1)
    return rerank_training.RatingSet(
        engine_scores=np.mean(list(scores.values()), axis=0),
        strategy_scores=scores,
        photo_va=photo,
        track_va=track,
        labels=truth.astype(np.int64),
        groups=np.arange(n) // 10,
        times=np.arange(n, dtype=np.float64),
    )


def uniform_catalogue(tracks: int, rng: np.random.Generator) -> TrackCatalogue:
    """tracks with valence and arousal drawn uniformly from rng, over 5,000 artists."""
    rows = [
        TrackRow(i + 1, f"artist {i % 5000}", f"t{i}", valence=float(v), arousal=float(a))
        for i, (v, a) in enumerate(rng.uniform(size=(tracks, 2)))
    ]
    return TrackCatalogue.build(rows)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tracks", type=int, default=30_000)
    parser.add_argument("--top-k", type=int, default=10)
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--ratings", default="10000,100000")
    args = parser.parse_args()
    configure_threads(1)
    rng = np.random.default_rng(1)
    catalogue = uniform_catalogue(args.tracks, rng)
    train = synthetic_ratings(5000)
    strategies = sorted(STRATEGIES)
    models = {name: fit(train, strategies, f"bench-{name}") for name, fit in rerank_training.LEARNERS.items()}

    def one_ranking() -> tuple[Ranking, tuple[float, float]]:
        ids = rng.choice(args.tracks, POOL, replace=False) + 1
        strategy = {s: rng.uniform(size=POOL) for s in STRATEGIES}
        fused = np.sort(np.mean(list(strategy.values()), axis=0))[::-1]
        photo = (float(rng.uniform()), float(rng.uniform()))
        return Ranking(ids, fused, strategy, lambda idx: [["reason"] for _ in idx]), photo

    out: dict[str, object] = {"tracks": args.tracks, "top_k": args.top_k, "pool": POOL, "runs": args.runs}
    for name, model in models.items():
        times = []
        for _ in range(args.runs):
            ranking, photo = one_ranking()
            started = time.perf_counter()
            shown = rerank(ranking, photo, catalogue, model, args.top_k)
            times.append((time.perf_counter() - started) * 1000)
            assert len(shown) == args.top_k
        times.sort()
        out[f"rerank_ms_{name}"] = {
            "p50": round(statistics.median(times), 3),
            "p95": round(times[int(0.95 * len(times))], 3),
            "mean": round(statistics.fmean(times), 3),
        }
    for n in (int(x) for x in args.ratings.split(",") if x):
        data = synthetic_ratings(n, seed=2)
        started = time.perf_counter()
        offline = rerank_offline.load(rerank_offline.DEFAULT_DIR)  # read by every retraining too
        outcome = rerank_training.train_and_judge(data, None, f"bench-{n}", offline)
        out[f"retrain_seconds_{n}_ratings"] = round(time.perf_counter() - started, 2)
        out[f"retrain_{n}_ratings"] = {
            "learner": outcome.metrics.get("learner"),
            "learner_choice_auc": outcome.metrics.get("learner_choice_auc"),
            "held_out_auc": outcome.metrics.get("held_out_auc"),
            "engine_held_out_auc": outcome.metrics.get("active_held_out_auc"),
            "passed_gate": outcome.passed,
        }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
