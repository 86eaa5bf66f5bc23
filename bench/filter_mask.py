"""recommend() latency with and without run filters (the engine's boolean row mask, `only`).

    python bench/filter_mask.py [--tracks 30000] [--runs 100]

Same synthetic catalogue and photos as bench/engine_recommend.py (built as the served one is, on one FAISS
thread). A filter allows a random share of the tracks; each timed call is recommend() plus reading its 10
results. Prints one JSON object: p50/p95 ms without a filter and for each share allowed.
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
sys.path.insert(0, str(REPO_ROOT / "bench"))

import faiss  # noqa: E402
import numpy as np  # noqa: E402
from engine_recommend import random_photo, synthetic_rows  # noqa: E402

from recommender.config import EngineConfig  # noqa: E402
from recommender.pipeline import Engine  # noqa: E402
from recommender.types import TrackFilter  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tracks", type=int, default=30_000)
    parser.add_argument("--runs", type=int, default=100)
    args = parser.parse_args()
    faiss.omp_set_num_threads(1)
    engine = Engine(EngineConfig(threads=1))
    rows = synthetic_rows(args.tracks)
    catalogue = engine.build_catalogue(rows)
    ids = np.array([r.track_id for r in rows], dtype=np.int64)
    out: dict[str, object] = {"tracks": args.tracks, "runs": args.runs}
    for share in (None, 0.5, 0.05, 0.005, 20 / args.tracks):
        only = None
        if share is not None:
            allowed = np.random.default_rng(2).choice(ids, max(1, int(share * len(ids))), replace=False)
            only = TrackFilter(allowed, "bench")
        rng = np.random.default_rng(1)
        ms = []
        for _ in range(args.runs):
            photo = random_photo(rng)
            start = time.perf_counter()
            list(engine.recommend(photo, catalogue, top_k=10, only=only)[:10])
            ms.append((time.perf_counter() - start) * 1000)
        key = "no_filter" if share is None else f"allowed_{share:.4g}"
        out[key] = {
            "p50_ms": round(statistics.median(ms), 2),
            "p95_ms": round(sorted(ms)[int(0.95 * len(ms)) - 1], 2),
        }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
