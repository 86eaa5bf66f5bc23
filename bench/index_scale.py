"""Track-vector index at scale: exact IndexFlatIP against approximate indexes, and the latency the
strategies add per photo at catalogue scale. Prints one JSON object.

    python bench/index_scale.py [--vectors 1000000] [--dims 128 256] [--queries 1000] [--hnsw]
    python bench/index_scale.py --skip-index --tracks 30000      # only the strategy latency

Vectors are synthetic and L2-normalised, drawn around 2,000 random centres (real track embeddings are
clustered; uniformly random high-dimensional vectors have no near neighbours to find and would make every
approximate index look worse than it is on real data). They are generated in chunks into one float32
array. Per index: build time, index bytes (the serialised size), process RSS growth during the build,
single-query latency p50/p95 over `--queries` queries with faiss using 1 and 2 OpenMP threads, and
recall@10 against the exact index. Targets: <= 5 ms per query and <= 1 GB.

strategy_latency() is importable: the ms each registered strategy adds per photo over a synthetic
catalogue of `tracks` tracks, and recommend() with the default vs all available strategies.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

import faiss  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from recommender.engine.catalogue_index import TrackCatalogue  # noqa: E402
from recommender.engine.colour import colour_stats, describe_colour  # noqa: E402
from recommender.engine.evaluation.runner import precomputed  # noqa: E402
from recommender.engine.pipeline import Engine, EngineConfig  # noqa: E402
from recommender.engine.strategies import STRATEGIES, NeedsTrackVectors, Strategy  # noqa: E402
from recommender.engine.types import IMAGE_EMOTIONS, PhotoAnalysis, TrackRow  # noqa: E402

CHUNK = 100_000
CENTRES = 2_000
K = 10


def rss_bytes() -> int:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def clustered(n: int, d: int, seed: int, centres: np.ndarray | None = None) -> np.ndarray:
    """n L2-normalised vectors around the given (or new) centres, generated CHUNK rows at a time."""
    rng = np.random.default_rng(seed)
    if centres is None:
        centres = rng.standard_normal((CENTRES, d)).astype(np.float32)
    out = np.empty((n, d), dtype=np.float32)
    for start in range(0, n, CHUNK):
        stop = min(n, start + CHUNK)
        which = rng.integers(0, len(centres), stop - start)
        chunk = centres[which] + 0.6 * rng.standard_normal((stop - start, d)).astype(np.float32)
        out[start:stop] = chunk / np.linalg.norm(chunk, axis=1, keepdims=True)
    return out


def index_bytes(index: faiss.Index) -> int:
    with tempfile.NamedTemporaryFile(suffix=".faiss") as handle:
        faiss.write_index(index, handle.name)
        return os.path.getsize(handle.name)


def latency(index: faiss.Index, queries: np.ndarray, threads: int) -> dict[str, float]:
    faiss.omp_set_num_threads(threads)
    index.search(queries[:1], K)  # warm-up
    ms = []
    for i in range(len(queries)):
        t = time.perf_counter()
        index.search(queries[i : i + 1], K)
        ms.append((time.perf_counter() - t) * 1000)
    ms.sort()
    return {"p50_ms": round(statistics.median(ms), 3), "p95_ms": round(ms[int(0.95 * (len(ms) - 1))], 3)}


def recall_at_k(found: np.ndarray, truth: np.ndarray) -> float:
    hits = sum(len(set(f.tolist()) & set(t.tolist())) for f, t in zip(found, truth, strict=True))
    return round(hits / truth.size, 4)


def measure(
    name: str, build: Any, base: np.ndarray, queries: np.ndarray, truth: np.ndarray | None
) -> tuple[faiss.Index, dict[str, Any]]:
    faiss.omp_set_num_threads(2)  # build with both cores
    rss0 = rss_bytes()
    t = time.perf_counter()
    index = build(base)
    build_s = time.perf_counter() - t
    row: dict[str, Any] = {
        "index": name,
        "build_s": round(build_s, 2),
        "index_bytes": index_bytes(index),
        "rss_delta_bytes": rss_bytes() - rss0,
        "query_1_thread": latency(index, queries, 1),
        "query_2_threads": latency(index, queries, 2),
    }
    if truth is not None:
        faiss.omp_set_num_threads(2)
        _, found = index.search(queries, K)
        row["recall_at_10"] = recall_at_k(found, truth)
    row["meets_targets"] = row["query_1_thread"]["p95_ms"] <= 5.0 and row["index_bytes"] <= 1 << 30
    return index, row


def build_flat(base: np.ndarray) -> faiss.Index:
    index = faiss.IndexFlatIP(base.shape[1])
    for start in range(0, len(base), CHUNK):
        index.add(base[start : start + CHUNK])
    return index


def build_ivf_sq8(base: np.ndarray, nlist: int = 4096, nprobe: int = 32) -> faiss.Index:
    d = base.shape[1]
    quantiser = faiss.IndexFlatIP(d)
    index = faiss.IndexIVFScalarQuantizer(
        quantiser, d, nlist, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
    )
    sample = base[np.random.default_rng(1).choice(len(base), min(len(base), 64 * nlist), replace=False)]
    index.train(sample)
    for start in range(0, len(base), CHUNK):
        index.add(base[start : start + CHUNK])
    index.nprobe = nprobe
    return index


def build_hnsw(base: np.ndarray, m: int = 32, ef_search: int = 64) -> faiss.Index:
    index = faiss.IndexHNSWFlat(base.shape[1], m, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = 40
    for start in range(0, len(base), CHUNK):
        index.add(base[start : start + CHUNK])
    index.hnsw.efSearch = ef_search
    return index


def index_scale(n: int, d: int, n_queries: int, hnsw: bool) -> dict[str, Any]:
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((CENTRES, d)).astype(np.float32)
    t = time.perf_counter()
    base = clustered(n, d, seed=1, centres=centres)
    queries = clustered(n_queries, d, seed=2, centres=centres)
    out: dict[str, Any] = {"vectors": n, "dim": d, "generate_s": round(time.perf_counter() - t, 2)}
    flat, row = measure("IndexFlatIP (exact)", build_flat, base, queries, None)
    faiss.omp_set_num_threads(2)
    _, truth = flat.search(queries, K)
    row["recall_at_10"] = 1.0
    rows = [row]
    del flat
    ivf, row = measure("IVF4096,SQ8 (nprobe 32)", build_ivf_sq8, base, queries, truth)
    # nprobe trades recall for speed without a rebuild.
    sweep = []
    for nprobe in (8, 16, 32, 64):
        faiss.ParameterSpace().set_index_parameter(ivf, "nprobe", nprobe)
        faiss.omp_set_num_threads(2)
        _, found = ivf.search(queries, K)
        sweep.append(
            {"nprobe": nprobe, "recall_at_10": recall_at_k(found, truth), **latency(ivf, queries[:300], 1)}
        )
    row["nprobe_sweep_1_thread"] = sweep
    rows.append(row)
    del ivf
    if hnsw:
        index, row = measure("HNSW32,Flat (efSearch 64)", build_hnsw, base, queries, truth)
        rows.append(row)
        del index
    out["indexes"] = rows
    return out


# --- strategy latency at catalogue scale ----------------------------------------------------------


def synthetic_rows(n: int, seed: int = 0) -> list[TrackRow]:
    rng = np.random.default_rng(seed)
    genres = ["pop", "rock", "rap", "latin", "edm", "r&b"]
    return [
        TrackRow(
            track_id=i + 1,
            artist=f"Artist {int(rng.integers(0, max(2, n // 4)))}",
            title=f"Track {i} {rng.choice(['love', 'night', 'rain', 'summer', 'blue', 'fire'])}",
            valence=float(rng.uniform()),
            features={
                "valence": float(rng.uniform()),
                "energy": float(rng.uniform()),
                "danceability": float(rng.uniform()),
                "tempo": float(rng.uniform(60, 190)),
                "loudness": float(rng.uniform(-30, -2)),
                "acousticness": float(rng.uniform()),
                "speechiness": float(rng.uniform(0, 0.3)),
                "instrumentalness": float(rng.uniform(0, 0.5)),
                "liveness": float(rng.uniform(0, 0.4)),
                "mode": float(rng.integers(0, 2)),
                "key": float(rng.integers(0, 12)),
                "duration_ms": float(rng.uniform(120_000, 300_000)),
            },
            genre=str(rng.choice(genres)),
            tags=[str(rng.choice(genres))],
        )
        for i in range(n)
    ]


def random_photo(rng: np.random.Generator, dim: int = 1280) -> PhotoAnalysis:
    image = Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8))
    colour = colour_stats(image)
    embedding = rng.standard_normal(dim).astype(np.float32)
    return PhotoAnalysis(
        valence=float(rng.uniform()),
        arousal=float(rng.uniform(0.3, 0.7)),
        emotions=dict(zip(IMAGE_EMOTIONS, rng.dirichlet(np.ones(len(IMAGE_EMOTIONS))).tolist(), strict=True)),
        embedding=embedding / np.linalg.norm(embedding),
        colour=colour,
        descriptors=describe_colour(colour),
        labels=[("seashore", 0.4), ("sandbar", 0.2)],
    )


def _p50(ms: list[float]) -> float:
    return round(statistics.median(ms), 3)


def strategy_latency(tracks: int = 30_000, photos: int = 30, top_k: int = 10) -> dict[str, Any]:
    """Per registered strategy: catalogue-vector build time and score() ms per photo over the candidate
    pool the engine uses; plus recommend() p50 with the default strategies and with all available."""
    rows = synthetic_rows(tracks)
    available: dict[str, Strategy] = {}
    skipped: dict[str, str] = {}
    for name, factory in STRATEGIES.items():
        try:
            available[name] = factory()
        except Exception as exc:  # a missing artifact: report, do not fail
            skipped[name] = f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
    vectors: dict[str, np.ndarray] = {}
    build_s: dict[str, float] = {}
    for name, strategy in list(available.items()):
        if isinstance(strategy, NeedsTrackVectors):
            t = time.perf_counter()
            try:
                vectors.update({k: f(rows) for k, f in strategy.track_representations().items()})
            except Exception as exc:
                skipped[name] = f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
                del available[name]
                continue
            build_s[name] = round(time.perf_counter() - t, 2)

    config = EngineConfig()
    cat = TrackCatalogue.build(rows, "bench", representations={k: precomputed(m) for k, m in vectors.items()})
    rng = np.random.default_rng(3)
    sample = [random_photo(rng) for _ in range(photos)]
    per_strategy: dict[str, Any] = {}
    for name, strategy in list(available.items()):
        ms = []
        try:
            for photo in sample:
                candidates = cat.candidates(photo.va, config.candidate_pool)
                t = time.perf_counter()
                strategy.score(photo, photo.va, cat, candidates)
                ms.append((time.perf_counter() - t) * 1000)
        except Exception as exc:
            skipped[name] = f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
            del available[name]
            continue
        per_strategy[name] = {"score_p50_ms": _p50(ms), "vectors_build_s": build_s.get(name)}

    def recommend_ms(engine: Engine) -> float:
        engine.recommend(sample[0], cat, top_k=top_k)  # warm-up (lazy loads)
        ms = []
        for photo in sample:
            t = time.perf_counter()
            engine.recommend(photo, cat, top_k=top_k)
            ms.append((time.perf_counter() - t) * 1000)
        return _p50(ms)

    defaults = [available[n] for n in config.strategies if n in available]
    everything = list(available.values())
    all_weights = tuple((s.name, 1.0) for s in everything)
    return {
        "tracks": tracks,
        "photos": photos,
        "candidate_pool": config.candidate_pool,
        "per_strategy": per_strategy,
        "skipped": skipped,
        "recommend_p50_ms": {
            "default_strategies": recommend_ms(Engine(config, strategies=defaults)),
            "all_available": recommend_ms(
                Engine(
                    EngineConfig(strategies=tuple(s.name for s in everything), fusion_weights=all_weights),
                    strategies=everything,
                )
            ),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--vectors", type=int, default=1_000_000)
    parser.add_argument("--dims", type=int, nargs="+", default=[128, 256])
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--hnsw", action="store_true", help="also build HNSW32 (slow to build on 2 cores)")
    parser.add_argument("--tracks", type=int, default=30_000, help="catalogue size for the strategy latency")
    parser.add_argument("--skip-index", action="store_true")
    parser.add_argument("--skip-strategies", action="store_true")
    args = parser.parse_args()

    result: dict[str, Any] = {
        "benchmark": "track-vector index at scale",
        "targets": {"query_ms": 5, "index_bytes": 1 << 30},
    }
    if not args.skip_index:
        result["index"] = [index_scale(args.vectors, d, args.queries, args.hnsw) for d in args.dims]
    if not args.skip_strategies:
        faiss.omp_set_num_threads(1)  # what runtime.configure_threads sets in the engine
        result["strategies"] = strategy_latency(args.tracks)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
