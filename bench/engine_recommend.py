"""recommend() latency over a synthetic catalogue (no image model runs: the photo analyses are synthetic).

    python bench/engine_recommend.py [--tracks 30000] [--top-k 10] [--runs 200]

The catalogue is built as the served one is (Engine.build_catalogue: with the track vectors of the
default strategies, feature_prediction and joint_embedding, from the shipped heads artifact), saved and
loaded memory-mapped. Each timed call is recommend() plus reading its first SHOWN results (reasons are
built when read), on one FAISS thread as in a worker. Prints one JSON object: catalogue build and index
save/load times, and p50/p95/mean ms with and without personal feedback, in match and lift mode.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

import faiss  # noqa: E402
import numpy as np  # noqa: E402

from recommender.catalogue_index import TrackCatalogue  # noqa: E402
from recommender.config import EngineConfig  # noqa: E402
from recommender.pipeline import Engine, Mode  # noqa: E402
from recommender.types import IMAGE_EMOTIONS, FeedbackItem, PhotoAnalysis, TrackRow  # noqa: E402

SHOWN = 10  # results a caller reads (a page of recommendations)


def synthetic_rows(n: int, seed: int = 0) -> list[TrackRow]:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        features: dict[str, float | None] = {
            "valence": float(rng.uniform()),
            "energy": float(rng.uniform()),
            "tempo": float(rng.uniform(60, 190)),
            "loudness": float(rng.uniform(-30, -2)),
            "danceability": float(rng.uniform()),
            "acousticness": float(rng.uniform()),
        }
        if i % 50 == 0:
            features = {"energy": features["energy"]}  # some tracks without a position
        rows.append(TrackRow(i + 1, f"Artist {rng.integers(0, n // 4)}", f"Track {i}", features=features))
    return rows


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x)).astype(np.float32)


def random_photo(rng: np.random.Generator) -> PhotoAnalysis:
    p = rng.dirichlet(np.ones(len(IMAGE_EMOTIONS)))
    return PhotoAnalysis(
        valence=float(rng.uniform()),
        arousal=float(rng.uniform(0.3, 0.7)),
        emotions=dict(zip(IMAGE_EMOTIONS, p.tolist(), strict=True)),
        # A different non-negative (post-ReLU, average-pooled), L2-normalised embedding per photo, so
        # that the heads' searches do not repeat one query; the size the heads were trained on.
        embedding=unit(np.abs(rng.standard_normal(1280))),
        colour={},
        descriptors=[],
    )


def timed(
    engine: Engine, catalogue: TrackCatalogue, runs: int, top_k: int, mode: Mode, feedback: list[FeedbackItem]
) -> dict[str, float]:
    rng = np.random.default_rng(1)
    ms = []
    for _ in range(runs):
        photo = random_photo(rng)
        t = time.perf_counter()
        engine.recommend(photo, catalogue, top_k=top_k, feedback=feedback, mode=mode)[:SHOWN]
        ms.append((time.perf_counter() - t) * 1000)
    ms.sort()
    return {
        "p50_ms": round(statistics.median(ms), 2),
        "p95_ms": round(ms[min(len(ms) - 1, int(0.95 * len(ms)))], 2),
        "mean_ms": round(statistics.fmean(ms), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tracks", type=int, default=30_000)
    parser.add_argument("--top-k", type=int, default=10)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()

    engine = Engine(EngineConfig())
    rows = synthetic_rows(args.tracks)
    t = time.perf_counter()
    built = engine.build_catalogue(rows, version="bench")
    build_s = time.perf_counter() - t
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        built.save(tmp)
        save_s = time.perf_counter() - t
        t = time.perf_counter()
        catalogue = TrackCatalogue.load(tmp, mmap=True)
        load_s = time.perf_counter() - t

        faiss.omp_set_num_threads(1)  # as configure_threads leaves it in a worker
        rng = np.random.default_rng(2)
        liked = rng.choice(catalogue.track_ids, size=40, replace=False)
        feedback = [
            FeedbackItem(int(tid), 1 if j % 4 else -1, float(rng.uniform()), 0.5)
            for j, tid in enumerate(liked)
        ]
        engine.recommend(random_photo(rng), catalogue, top_k=args.top_k)[:SHOWN]  # warm-up (lazy loads)
        result = {
            "benchmark": "Engine.recommend over a synthetic catalogue",
            "tracks": len(catalogue),
            "positioned": catalogue.positioned_count,
            "strategies": [s.name for s in engine.strategies],
            "track_vectors": {name: list(m.shape) for name, m in catalogue.vectors.items()},
            "exact_vector_search": not catalogue.approximate,
            "top_k": args.top_k,
            "candidate_pool": engine.config.candidate_pool,
            "runs": args.runs,
            "build_s": round(build_s, 3),
            "save_s": round(save_s, 3),
            "load_mmap_s": round(load_s, 4),
            "match": timed(engine, catalogue, args.runs, args.top_k, "match", []),
            "lift": timed(engine, catalogue, args.runs, args.top_k, "lift", []),
            "match_with_40_ratings": timed(engine, catalogue, args.runs, args.top_k, "match", feedback),
            "whole_catalogue_top_k": timed(engine, catalogue, 5, len(catalogue), "match", []),
        }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
