"""What per-user terms and track corrections cost, over synthetic data (no image model runs).

    python bench/rating_learners.py [--tracks 30000] [--runs 300] [--ratings 10000,100000] [--users 500]

- rerank_ms: recommender.reranker.rerank per photo over a --tracks catalogue, global logistic reranker
  against the same with one user's terms (the worker's extra database read for the terms is not in it);
- apply_track_moods_ms: the corrected copy of the index a worker makes once per index and reranker
  version (TrackMoods.apply, corrections for 5% of the tracks);
- learn_seconds_<n>_ratings: rating_learners.learn_beside (track corrections, per-user terms, both judged
  on the held-out ratings) for n synthetic ratings from --users users, after the global reranker.
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

import numpy as np  # noqa: E402
from reranker import POOL, STRATEGIES, synthetic_ratings, uniform_catalogue  # noqa: E402

from recommender.lab import rerank_training  # noqa: E402
from recommender.lab.rating_learners import learn_beside  # noqa: E402
from recommender.ranking import Ranking  # noqa: E402
from recommender.reranker import rerank  # noqa: E402
from recommender.threads import configure_threads  # noqa: E402
from recommender.track_moods import TrackMoods  # noqa: E402


def with_users(n: int, users: int, tracks: int, seed: int) -> rerank_training.RatingSet:
    rng = np.random.default_rng(seed)
    data = synthetic_ratings(n, seed)
    data.extra = {"users": rng.integers(users, size=n), "track_ids": rng.integers(1, tracks + 1, size=n)}
    return data


def percentiles(times: list[float]) -> dict[str, float]:
    times = sorted(times)
    return {"p50": round(statistics.median(times), 3), "p95": round(times[int(0.95 * len(times))], 3)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tracks", type=int, default=30_000)
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--ratings", default="10000,100000")
    parser.add_argument("--users", type=int, default=500)
    args = parser.parse_args()
    configure_threads(1)
    rng = np.random.default_rng(1)
    catalogue = uniform_catalogue(args.tracks, rng)
    train = with_users(5000, 20, args.tracks, 0)
    model = rerank_training.fit_logistic(train, sorted(STRATEGIES), "bench")
    learned = learn_beside(model, train)
    personal = replace(model, personal=learned.spec)
    weights = next(iter(learned.user_terms.values()))[0]
    out: dict[str, object] = {"tracks": args.tracks, "runs": args.runs, "pool": POOL}
    timings: dict[str, list[float]] = {"global": [], "with_user_terms": []}
    for _ in range(args.runs):
        ids = rng.choice(args.tracks, POOL, replace=False) + 1
        strategy = {s: rng.uniform(size=POOL) for s in STRATEGIES}
        ranking = Ranking(ids, np.sort(rng.uniform(size=POOL))[::-1], strategy, lambda idx: [[] for _ in idx])
        photo = (float(rng.uniform()), float(rng.uniform()))
        for name, reranker, user in (("global", model, None), ("with_user_terms", personal, weights)):
            started = time.perf_counter()
            rerank(ranking, photo, catalogue, reranker, 10, user)
            timings[name].append((time.perf_counter() - started) * 1000)
    out["rerank_ms"] = {name: percentiles(t) for name, t in timings.items()}
    moved = rng.choice(args.tracks, args.tracks // 20, replace=False) + 1
    moods = TrackMoods({int(t): (0.05, -0.05) for t in moved})
    started = time.perf_counter()
    moods.apply(catalogue)
    out["apply_track_moods_ms"] = round((time.perf_counter() - started) * 1000, 2)
    for n in (int(x) for x in args.ratings.split(",") if x):
        data = with_users(n, args.users, min(args.tracks, n // 20), seed=2)
        candidate = rerank_training.fit_logistic(
            data.split_by_time(rerank_training.HELD_OUT)[0], sorted(STRATEGIES), "b"
        )
        started = time.perf_counter()
        result = learn_beside(candidate, data)
        out[f"learn_seconds_{n}_ratings"] = round(time.perf_counter() - started, 2)
        out[f"learned_{n}_ratings"] = {k: v for k, v in result.metrics.items() if not isinstance(v, dict)}
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
