"""Track-vector index at scale: the index TrackCatalogue itself chooses for a representation of that
size (catalogue_index.vector_index_for: IVF-SQ8 with calibrated nprobe above --approximate-above rows,
exact below) against exact IndexFlatIP in the same run, and the latency the strategies add per photo at
catalogue scale. Prints one JSON object.

    python bench/index_scale.py [--vectors 1000000] [--dims 128 256] [--queries 1000] [--hnsw]
                                [--approximate-above 100000]
    python bench/index_scale.py --skip-index --tracks 30000      # only the strategy latency

Vectors are synthetic and L2-normalised, drawn around 2,000 random centres (real track embeddings are
clustered; uniformly random high-dimensional vectors have no near neighbours to find and would make every
approximate index look worse than it is on real data). They are generated in chunks into one float32
array. Per index: build time, index bytes (the serialised size), process RSS growth during the build,
single-query latency p50/p95 over `--queries` queries with faiss using 1 and 2 OpenMP threads, and
recall@10 against the exact index. For the catalogue's approximate index also: its settings, an nprobe
sweep, and the RSS growth and latency after saving it and reading it back memory-mapped, as a serving
process does. Plus the 2-d V/A index (exact IndexFlatL2; the engine asks it for 500 candidates) at the
same size. Targets: <= 5 ms per query and <= 1 GB.

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

from recommender.catalogue_index import (  # noqa: E402
    APPROXIMATE_ABOVE,
    TrackCatalogue,
    exact_index,
    vector_index_for,
)
from recommender.colour import colour_stats, describe_colour  # noqa: E402
from recommender.lab.evaluation.scoring import precomputed  # noqa: E402
from recommender.pipeline import Engine, EngineConfig  # noqa: E402
from recommender.strategies import STRATEGIES, NeedsTrackVectors, Strategy  # noqa: E402
from recommender.types import IMAGE_EMOTIONS, PhotoAnalysis, TrackRow  # noqa: E402

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


def latency(index: faiss.Index, queries: np.ndarray, threads: int, k: int = K) -> dict[str, float]:
    faiss.omp_set_num_threads(threads)
    index.search(queries[:1], k)  # warm-up
    ms = []
    for i in range(len(queries)):
        t = time.perf_counter()
        index.search(queries[i : i + 1], k)
        ms.append((time.perf_counter() - t) * 1000)
    ms.sort()
    return {"p50_ms": round(statistics.median(ms), 3), "p95_ms": round(ms[int(0.95 * (len(ms) - 1))], 3)}


def recall_at_k(found: np.ndarray, truth: np.ndarray) -> float:
    hits = sum(len(set(f.tolist()) & set(t.tolist())) for f, t in zip(found, truth, strict=True))
    return round(hits / truth.size, 4)


def measure(
    name: str, build: Any, base: np.ndarray, queries: np.ndarray, truth: np.ndarray | None
) -> tuple[faiss.Index, dict[str, Any]]:
    """build(base) -> (index, settings); its cost, size, latency and recall against truth."""
    faiss.omp_set_num_threads(2)  # build with both cores
    rss0 = rss_bytes()
    t = time.perf_counter()
    index, settings = build(base)
    build_s = time.perf_counter() - t
    row: dict[str, Any] = {
        "index": name,
        "kind": "approximate" if settings else "exact",
        "settings": settings,
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


def build_hnsw(base: np.ndarray, m: int = 32, ef_search: int = 64) -> tuple[faiss.Index, dict[str, Any]]:
    index = faiss.IndexHNSWFlat(base.shape[1], m, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = 40
    for start in range(0, len(base), CHUNK):
        index.add(base[start : start + CHUNK])
    index.hnsw.efSearch = ef_search
    return index, {"M": m, "efSearch": ef_search}


def mmap_reload(index: faiss.Index, queries: np.ndarray, truth: np.ndarray) -> dict[str, Any]:
    """Save the index and read it back memory-mapped (as TrackCatalogue.load does): RSS growth of the
    load, latency and recall of the mapped copy."""
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "vec.faiss")
        faiss.write_index(index, path)
        rss0 = rss_bytes()
        mapped = faiss.read_index(path, faiss.IO_FLAG_MMAP)
        loaded_rss = rss_bytes() - rss0
        faiss.omp_set_num_threads(2)
        _, found = mapped.search(queries, K)
        return {
            "rss_delta_bytes_after_load": loaded_rss,
            "rss_delta_bytes_after_queries": rss_bytes() - rss0,
            "nprobe": faiss.extract_index_ivf(mapped).nprobe,
            "recall_at_10": recall_at_k(found, truth),
            "query_1_thread": latency(mapped, queries, 1),
        }


def va_index_latency(n: int, n_queries: int, k: int = 500) -> dict[str, Any]:
    """The 2-d V/A index the catalogue keeps exact: k-nearest latency over n positioned tracks."""
    rng = np.random.default_rng(4)
    index = faiss.IndexFlatL2(2)
    index.add(rng.uniform(size=(n, 2)).astype(np.float32))
    return {
        "index": "IndexFlatL2 (exact, V/A)",
        "tracks": n,
        "k": k,
        **latency(index, rng.uniform(size=(n_queries, 2)).astype(np.float32), 1, k),
    }


def index_scale(n: int, d: int, n_queries: int, hnsw: bool, approximate_above: int) -> dict[str, Any]:
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((CENTRES, d)).astype(np.float32)
    t = time.perf_counter()
    base = clustered(n, d, seed=1, centres=centres)
    queries = clustered(n_queries, d, seed=2, centres=centres)
    out: dict[str, Any] = {
        "vectors": n,
        "dim": d,
        "approximate_above": approximate_above,
        "generate_s": round(time.perf_counter() - t, 2),
    }
    flat, row = measure("IndexFlatIP (exact)", lambda b: (exact_index(b), {}), base, queries, None)
    faiss.omp_set_num_threads(2)
    _, truth = flat.search(queries, K)
    row["recall_at_10"] = 1.0
    rows = [row]
    del flat
    chosen, row = measure(
        "TrackCatalogue's choice", lambda b: vector_index_for(b, approximate_above), base, queries, truth
    )
    if row["settings"]:
        # nprobe trades recall for speed without a rebuild.
        sweep = []
        for nprobe in sorted({1, 2, 4, 8, 16, 32, 64, int(row["settings"]["nprobe"])}):
            faiss.extract_index_ivf(chosen).nprobe = nprobe
            faiss.omp_set_num_threads(2)
            _, found = chosen.search(queries, K)
            sweep.append(
                {
                    "nprobe": nprobe,
                    "recall_at_10": recall_at_k(found, truth),
                    **latency(chosen, queries[:300], 1),
                }
            )
        faiss.extract_index_ivf(chosen).nprobe = int(row["settings"]["nprobe"])
        row["nprobe_sweep_1_thread"] = sweep
        row["memory_mapped_reload"] = mmap_reload(chosen, queries, truth)
    rows.append(row)
    del chosen
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
    parser.add_argument(
        "--approximate-above",
        type=int,
        default=APPROXIMATE_ABOVE,
        help="the catalogue's threshold for an approximate index (TrackCatalogue.build's approximate_above)",
    )
    parser.add_argument("--tracks", type=int, default=30_000, help="catalogue size for the strategy latency")
    parser.add_argument("--skip-index", action="store_true")
    parser.add_argument("--skip-strategies", action="store_true")
    args = parser.parse_args()

    result: dict[str, Any] = {
        "benchmark": "track-vector index at scale",
        "targets": {"query_ms": 5, "index_bytes": 1 << 30},
    }
    if not args.skip_index:
        result["index"] = [
            index_scale(args.vectors, d, args.queries, args.hnsw, args.approximate_above) for d in args.dims
        ]
        result["va_index"] = va_index_latency(args.vectors, args.queries)
    if not args.skip_strategies:
        faiss.omp_set_num_threads(1)  # what runtime.configure_threads sets in the engine
        result["strategies"] = strategy_latency(args.tracks)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
