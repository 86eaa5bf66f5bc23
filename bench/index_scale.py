"""Track-vector search at catalogue scale: the index TrackCatalogue builds for a representation of that
size (vector_search.py: exact up to --approximate-above rows, else IVF-SQ8 with an exact re-rank and
calibrated nprobe) against exact search, side by side in one process.

    python bench/index_scale.py [--sizes 100000 1000000] [--vectors real|synthetic] [--queries 200]
                                [--photos 100] [--dims 128] [--approximate-above 50000]
    python bench/index_scale.py --strategies-only --tracks 30000   # ms each strategy adds per photo

Prints one JSON object per line as it goes: first what the vectors are, then per size a "build" line and
a "load" line, then one "search" line per representation.

--vectors real (default): the engine's own track vectors, the ones the default strategies search
("predicted_features", 12-d, feature_prediction; "joint_embedding", 128-d, joint_embedding), computed
with the shipped heads artifact. The 28k tracks of the TidyTuesday Spotify file are too few, so each
bench track is a real one (its genre, tags and their text embedding) whose standardised audio features
are resampled: each feature taken from another random real track with probability SWAP, then moved by
Gaussian noise of NOISE standard deviations (key and mode, which are discrete, are not moved); the
vectors are then computed from those features exactly as the strategies compute them (checked against
the strategies' own track_vectors on the real tracks: the "vectors" line's max_abs_difference). This is
not easier than the real set: the vectors lie on the same manifold as the real ones (the joint embedding
is very concentrated: a track's 10th-nearest neighbour is at cosine 0.996), 35 times denser at 1M, so
neighbours are nearer and harder to tell apart; their first 28k rows have the real tracks' neighbour
structure (the "vectors" line compares them: mean cosine of the 10th neighbour of real tracks among 28k
bench tracks vs among the real ones, and the variance share of the first 5 principal components).
Queries: --photos Emotion6 photos (EfficientNet-Lite0 and the heads, as the strategies build their
queries; the engine's real queries, which lie off the tracks: cosine ~0.74 to the nearest track in the
joint embedding) and --queries held-out bench tracks (generated, not in the catalogue).

--vectors synthetic: L2-normalised vectors around 2,000 random centres (--dims each), queries drawn
around the same centres. Clustered data is easy for an IVF index; kept for comparison.

Per size, in subprocesses (memory is per process; peak RSS is the process's VmHWM, everything included):
  build:  TrackCatalogue.build over the bench tracks in blocks of columns (TrackBlocks, as the adapter
          hands them over), each block's vectors read from the generated files (as a computing step
          would produce them, a block at a time); timed, RSS before it and peak; the catalogue saved.
  search: TrackCatalogue.load(mmap=True) timed, RSS after it (anonymous and file-backed, that is pages of
          the mapped files, which the kernel can drop); the V/A candidates (500 nearest) ms; per
          representation with FAISS on one thread, as the engine searches: search_vectors ms p50/p95 and
          recall@10 against exact search (rows tied with the exact 10th count as hits) per query set, the
          same at k 500 (the engine's candidate pool) on the photos (or held-out tracks), exact
          IndexFlatIP timed on the first --exact-queries of each set after ours (not interleaved: each
          0.5 GB scan would leave our next search cache-cold) and the ratio; on the photos, ours again
          with EVICT_MB of other memory read before each search ("after_cache_eviction": a worker
          searches after decoding and encoding a photo); RSS after the queries, and an nprobe sweep
          around the calibrated value. Targets: recall@10 >= 0.95 in <= 2 ms, build <= 3 GB peak, load
          <= 300 MB.
Calibration (real vectors): --calibration-photos OASIS photos, embeddings only, turned into each
strategy's queries as the index service does with stored photos (Engine.calibration_queries); another
source than the Emotion6 photos measured. 0: perturbed catalogue rows (vector_search).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

import faiss  # noqa: E402
import numpy as np  # noqa: E402

from recommender.catalogue_index import TrackCatalogue, TrackRepresentation  # noqa: E402
from recommender.diversity import artist_codes  # noqa: E402
from recommender.threads import available_cpus  # noqa: E402
from recommender.track_columns import TrackBlocks, TrackColumns  # noqa: E402
from recommender.types import IMAGE_EMOTIONS, PhotoAnalysis, TrackRow  # noqa: E402
from recommender.vector_search import (  # noqa: E402
    APPROXIMATE_ABOVE,
    exact_index,
    exact_top_k,
    recall_at_k,
    reranked_search,
)

CHUNK = 100_000
CENTRES = 2_000
K = 10
POOL = 500  # EngineConfig.candidate_pool: what the strategies ask search_vectors for
SWAP = 0.2
NOISE = 0.1
EVICT_MB = 64
TARGETS = {"recall_at_10": 0.95, "query_ms": 2.0, "build_peak_rss_mb": 3072, "load_rss_mb": 300}


def emit(row: dict[str, Any]) -> None:
    print(json.dumps(row), flush=True)


def memory() -> dict[str, int]:
    """This process's VmRSS, RssAnon, RssFile and VmHWM (peak) in MB."""
    out = {}
    with open("/proc/self/status") as handle:
        for line in handle:
            key = line.split(":")[0]
            if key in ("VmRSS", "RssAnon", "RssFile", "VmHWM"):
                out[key] = int(line.split()[1]) // 1024
    return out


@contextmanager
def faiss_threads(n: int) -> Iterator[None]:
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(n)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


def ms_summary(ms: Sequence[float]) -> dict[str, float]:
    ordered = sorted(ms)
    return {
        "p50_ms": round(statistics.median(ordered), 3),
        "p95_ms": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 3),
    }


# --- vectors --------------------------------------------------------------------------------------------


def clustered(n: int, seed: int, d: int, centres: np.ndarray) -> Iterator[np.ndarray]:
    """n L2-normalised vectors around centres, CHUNK rows at a time."""
    rng = np.random.default_rng(seed)
    for start in range(0, n, CHUNK):
        size = min(n, start + CHUNK) - start
        chunk = centres[rng.integers(0, len(centres), size)] + 0.6 * rng.standard_normal((size, d))
        yield (chunk / np.linalg.norm(chunk, axis=1, keepdims=True)).astype(np.float32)


class EngineVectors:
    """The default strategies' track vectors for bench tracks resampled from the real ones (docstring)."""

    def __init__(self) -> None:
        from recommender.heads.model import DEFAULT_HEADS_DIR, load_heads
        from recommender.heads.track_inputs import FEATURE_NAMES, joint_track_inputs, raw_features
        from recommender.lab.datasets import load_spotify_songs
        from recommender.strategies.feature_prediction import FeaturePrediction
        from recommender.strategies.joint_embedding import JointEmbedding

        self.rows = [t.row for t in load_spotify_songs()]
        self.features, self.joint = FeaturePrediction(), JointEmbedding()
        self.model = load_heads(str(DEFAULT_HEADS_DIR))
        raw = raw_features(self.rows)
        self.z, self.missing = self.model.scaler.standardise(raw)
        self.inputs = joint_track_inputs(
            self.rows, self.model.scaler, self.model.genres, self.model.use_text, raw=raw
        )
        self.discrete = [FEATURE_NAMES.index("key"), FEATURE_NAMES.index("mode")]
        self.names = {self.features.vectors_name: self.z.shape[1], self.joint.vectors_name: self.model_dim}

    @property
    def model_dim(self) -> int:
        return int(self.model.track_projection.w2.shape[1])

    def from_features(self, base: np.ndarray, z: np.ndarray) -> dict[str, np.ndarray]:
        """Both representations of the tracks `base` (rows of the real set) with standardised features z."""
        from recommender.heads.track_inputs import l2_rows

        z = np.where(self.missing[base] > 0, 0.0, z).astype(np.float32)
        inputs = self.inputs[base].copy()
        inputs[:, : z.shape[1]] = z
        return {
            self.features.vectors_name: l2_rows(z),
            self.joint.vectors_name: self.model.project_track_inputs(inputs),
        }

    def check(self) -> dict[str, Any]:
        """The shortcut of from_features against the strategies' own track_vectors on the real tracks."""
        ours = self.from_features(np.arange(len(self.rows)), self.z)
        theirs = {
            self.features.vectors_name: self.features.track_vectors(self.rows),
            self.joint.vectors_name: self.joint.track_vectors(self.rows),
        }
        return {name: float(np.abs(ours[name] - theirs[name]).max()) for name in ours}

    def generate(self, n: int, seed: int) -> Iterator[tuple[np.ndarray, dict[str, np.ndarray]]]:
        """(rows of the real tracks the bench tracks come from, their vectors), CHUNK tracks at a time."""
        rng = np.random.default_rng(seed)
        for start in range(0, n, CHUNK):
            size = min(n, start + CHUNK) - start
            base = rng.integers(0, len(self.rows), size)
            z = self.z[base]
            swap = rng.random(z.shape) < SWAP
            z = np.where(swap, self.z[rng.integers(0, len(self.rows), size)], z)
            noise = NOISE * rng.standard_normal(z.shape).astype(np.float32)
            noise[:, self.discrete] = 0.0
            yield base, self.from_features(base, z + noise)

    def photo_queries(self, count: int) -> dict[str, np.ndarray]:
        """The strategies' queries for `count` Emotion6 photos (empty when the data is absent)."""
        from PIL import Image

        from recommender.config import EFFICIENTNET_LITE0
        from recommender.encoder_factory import make_encoder
        from recommender.lab.datasets import load_emotion6
        from recommender.photo_inputs import extract

        try:
            photos = load_emotion6()
        except FileNotFoundError as exc:
            print(f"no photo queries: {exc}", file=sys.stderr)
            return {}
        rng = np.random.default_rng(7)
        paths = [photos.paths[i] for i in sorted(rng.choice(len(photos.paths), count, replace=False))]
        images = []
        for path in paths:
            with Image.open(path) as image:
                images.append(image.convert("RGB"))
        found = extract(make_encoder(EFFICIENTNET_LITE0), images)
        analyses = [
            PhotoAnalysis(0.5, 0.5, {e: 1 / len(IMAGE_EMOTIONS) for e in IMAGE_EMOTIONS}, emb, colour, [])
            for emb, colour in zip(found.embeddings, found.colour, strict=True)
        ]
        from recommender.heads.track_inputs import l2_rows

        return {
            self.features.vectors_name: l2_rows(np.stack([self.features.predict(p) for p in analyses])),
            self.joint.vectors_name: np.stack([self.joint.project(p) for p in analyses]).astype(np.float32),
        }

    def calibration_queries(self, count: int) -> dict[str, np.ndarray]:
        """What the index service calibrates on in production (photos.selectors.recent_photo_embeddings ->
        Engine.calibration_queries): the strategies' queries for stored photos' encoder embeddings (no
        colour statistics: the training mean stands in). Here `count` OASIS photos, another source than
        the Emotion6 photos the searches are measured on. Empty when OASIS is absent."""
        from PIL import Image

        from recommender.config import EFFICIENTNET_LITE0
        from recommender.encoder_factory import make_encoder
        from recommender.lab.datasets import load_oasis
        from recommender.photo_inputs import extract

        try:
            oasis = load_oasis()
        except FileNotFoundError as exc:
            print(f"no calibration photos: {exc}", file=sys.stderr)
            return {}
        rng = np.random.default_rng(11)
        picked = sorted(rng.choice(len(oasis.paths), min(count, len(oasis.paths)), replace=False))
        images = []
        for i in picked:
            with Image.open(oasis.paths[i]) as image:
                images.append(image.convert("RGB"))
        embeddings = extract(make_encoder(EFFICIENTNET_LITE0), images).embeddings
        queries = {**self.features.photo_queries(embeddings), **self.joint.photo_queries(embeddings)}
        return {name: np.asarray(q, dtype=np.float32) for name, q in queries.items()}

    def realism(self, generated: dict[str, np.ndarray], queries: int = 200) -> dict[str, Any]:
        """Neighbour structure of the first len(real) bench tracks vs the real tracks."""
        real = self.from_features(np.arange(len(self.rows)), self.z)
        rng = np.random.default_rng(3)
        pick = rng.choice(len(self.rows), queries, replace=False)
        out = {}
        for name, matrix in real.items():
            bench = generated[name][: len(matrix)]
            q = matrix[pick]
            among_real = exact_top_k(matrix, q, K + 1)[:, K]  # the query itself is the first
            among_bench = exact_top_k(bench, q, K)[:, K - 1]
            out[name] = {
                "tenth_neighbour_cosine_real": round(float(among_real.mean()), 4),
                "tenth_neighbour_cosine_bench": round(float(among_bench.mean()), 4),
                "first_5_pc_variance_real": round(_pc_share(matrix), 3),
                "first_5_pc_variance_bench": round(_pc_share(bench), 3),
            }
        return out


def _pc_share(matrix: np.ndarray, rows: int = 5000) -> float:
    x = matrix[:rows] - matrix[:rows].mean(axis=0)
    s = np.linalg.svd(x, compute_uv=False) ** 2
    return float(s[:5].sum() / s.sum())


def write_vectors(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """base_<name>.npy (max size rows) and queries_<name>.npz under work; returns the "vectors" line."""
    n = max(args.sizes)
    info: dict[str, Any] = {"event": "vectors", "kind": args.vectors, "rows": n}
    t = time.perf_counter()
    if args.vectors == "synthetic":
        names = {f"synthetic_{d}": d for d in args.dims}
        sources: dict[str, Callable[[int, int], Iterator[np.ndarray]]] = {
            name: functools.partial(
                clustered,
                d=d,
                centres=np.random.default_rng(d).standard_normal((CENTRES, d)).astype(np.float32),
            )
            for name, d in names.items()
        }
        files = {
            name: np.lib.format.open_memmap(work / f"base_{name}.npy", "w+", np.float32, (n, d))
            for name, d in names.items()
        }
        for name, source in sources.items():
            start = 0
            for block in source(n, 1):
                files[name][start : start + len(block)] = block
                start += len(block)
            np.savez(
                work / f"queries_{name}.npz", held_out_tracks=np.concatenate(list(source(args.queries, 2)))
            )
        info["description"] = f"L2-normalised, around {CENTRES} random centres (noise sd 0.6 per dimension)"
    else:
        engine = EngineVectors()
        names = engine.names
        info["description"] = (
            f"the engine's track vectors of {len(engine.rows)} real tracks (TidyTuesday Spotify) with "
            f"resampled audio features (each from another real track with p={SWAP}, plus N(0, {NOISE}) "
            "in standardised units; key and mode not moved)"
        )
        info["max_abs_difference_to_strategies"] = engine.check()
        files = {
            name: np.lib.format.open_memmap(work / f"base_{name}.npy", "w+", np.float32, (n, d))
            for name, d in names.items()
        }
        start = 0
        bases = []
        for base, chunk in engine.generate(n, 1):
            for name, matrix in chunk.items():
                files[name][start : start + len(matrix)] = matrix
            start += len(base)
            bases.append(base)
        np.save(work / "base_tracks.npy", np.concatenate(bases))
        held_out = {
            name: np.concatenate([c[name] for _, c in engine.generate(args.queries, 2)]) for name in names
        }
        photos = engine.photo_queries(args.photos) if args.photos else {}
        calibration = engine.calibration_queries(args.calibration_photos) if args.calibration_photos else {}
        for name in names:
            sets: dict[str, Any] = {"held_out_tracks": held_out[name]}
            if name in photos:
                sets["photos"] = photos[name]
            np.savez(work / f"queries_{name}.npz", **sets)
            if name in calibration:
                np.save(work / f"calibration_{name}.npy", calibration[name])
        info["calibration"] = (
            f"{args.calibration_photos} OASIS photos (embeddings only, as stored photos)"
            if calibration
            else "perturbed catalogue rows"
        )
        if n >= len(engine.rows):
            info["realism"] = engine.realism({name: np.asarray(f) for name, f in files.items()})
    for f in files.values():
        f.flush()
    info["dims"] = names
    info["generate_s"] = round(time.perf_counter() - t, 1)
    return info


# --- workers (one process each, so that memory is theirs) ------------------------------------------------


def fixed(matrix: np.ndarray) -> TrackRepresentation:
    """A track representation that hands back vectors computed already."""
    return lambda _rows: matrix


def from_ids(matrix: np.ndarray) -> TrackRepresentation:
    """A track representation that reads each block's rows of precomputed vectors (bench track ids are
    1..n), so that a build in blocks holds one block of them at a time, as a computing step would."""

    def rows_of(block: Sequence[TrackRow]) -> np.ndarray:
        ids = block.track_ids if isinstance(block, TrackColumns) else [r.track_id for r in block]
        return np.asarray(matrix[np.asarray(ids, dtype=np.int64) - 1], dtype=np.float32)

    return rows_of


def bench_blocks(n: int, work: Path, block: int = CHUNK) -> Iterator[TrackColumns]:
    """The bench tracks in blocks of columns (what the adapter hands a build), each with an annotated V/A
    position. With real vectors, each has the artist, genre and tags of the real track it came from and
    that track's title made unique (the words are what a saved catalogue holds per track); else short
    made-up words."""
    rng = np.random.default_rng(5)
    va = rng.uniform(size=(n, 2))
    real: list[TrackRow] | None = None
    base = None
    if (work / "base_tracks.npy").is_file():
        from recommender.lab.datasets import load_spotify_songs

        real = [t.row for t in load_spotify_songs()]
        base = np.load(work / "base_tracks.npy", mmap_mode="r")
    for start in range(0, n, block):
        ids = np.arange(start, min(n, start + block))
        if real is None or base is None:
            artists = [f"Artist {i % 50_000}" for i in ids]
            titles = [f"Track {i}" for i in ids]
            genres = [""] * len(ids)
            tags: list[list[str]] = [[] for _ in ids]
        else:
            sources = [real[int(b)] for b in base[start : start + len(ids)]]
            artists = [r.artist for r in sources]
            titles = [f"{r.title} ({i})" for r, i in zip(sources, ids, strict=True)]
            genres, tags = [r.genre for r in sources], [list(r.tags) for r in sources]
        yield TrackColumns(
            track_ids=ids + 1,
            artists=artists,
            titles=titles,
            valence=va[ids, 0],
            arousal=va[ids, 1],
            feature_names=(),
            features=np.zeros((len(ids), 0)),
            genres=genres,
            tags=tags,
        )


def build_worker(spec: dict[str, Any]) -> None:
    n, work = spec["size"], Path(spec["work"])
    matrices = {name: np.load(work / f"base_{name}.npy", mmap_mode="r")[:n] for name in spec["names"]}
    calibration = {
        name: np.load(work / f"calibration_{name}.npy")
        for name in spec["names"]
        if (work / f"calibration_{name}.npy").is_file()
    }
    before = memory()
    t = time.perf_counter()
    catalogue = TrackCatalogue.build(
        TrackBlocks(bench_blocks(n, work)),
        "bench",
        representations={name: from_ids(m) for name, m in matrices.items()},
        approximate_above=spec["approximate_above"],
        calibration_queries=calibration,
    )
    build_s = time.perf_counter() - t
    peak = memory()["VmHWM"]
    t = time.perf_counter()
    directory = catalogue.save(spec["catalogue"])
    emit(
        {
            "event": "build",
            "size": n,
            "vectors": spec["kind"],
            "build_s": round(build_s, 1),
            "save_s": round(time.perf_counter() - t, 1),
            "rss_before_build_mb": before["VmRSS"],
            "build_peak_rss_mb": peak,
            "approximate": catalogue.approximate_info,
            "file_mb": {p.name: round(p.stat().st_size / 2**20, 1) for p in sorted(directory.iterdir())},
        }
    )


def search_worker(spec: dict[str, Any]) -> None:
    n, work = spec["size"], Path(spec["work"])
    faiss.omp_set_num_threads(1)  # as configure_threads leaves it in an engine process
    before = memory()
    t = time.perf_counter()
    catalogue = TrackCatalogue.load(spec["catalogue"], mmap=True)
    load_s = time.perf_counter() - t
    loaded = memory()
    rng = np.random.default_rng(9)
    targets = rng.uniform(size=(200, 2))
    catalogue.candidates(tuple(targets[0]), POOL)
    va_ms = []
    for v, a in targets.tolist():
        t = time.perf_counter()
        catalogue.candidates((v, a), POOL)
        va_ms.append((time.perf_counter() - t) * 1000)
    t = time.perf_counter()
    artist_codes(catalogue.artists)  # what the first recommend() reads of the words: every artist, once
    codes_s = time.perf_counter() - t
    after_codes = memory()
    emit(
        {
            "event": "load",
            "size": n,
            "vectors": spec["kind"],
            "load_s": round(load_s, 2),
            "rss_before_load_mb": before["VmRSS"],
            "rss_after_load_mb": loaded["VmRSS"],
            "rss_after_load_anon_mb": loaded["RssAnon"],
            "rss_after_load_file_mb": loaded["RssFile"],
            "va_candidates_500": ms_summary(va_ms),
            "artist_codes_s": round(codes_s, 2),
            "rss_after_artist_codes_mb": after_codes["VmRSS"],
        }
    )
    for name in spec["names"]:
        emit(search_one(catalogue, name, n, work, spec))


def search_one(
    catalogue: TrackCatalogue, name: str, n: int, work: Path, spec: dict[str, Any]
) -> dict[str, Any]:
    matrix = catalogue.vectors[name]
    with np.load(work / f"queries_{name}.npz") as saved:
        query_sets = {key: saved[key] for key in saved.files}
    main_set = "photos" if "photos" in query_sets else "held_out_tracks"
    with faiss_threads(available_cpus()):  # the ground truth may use every core
        truth = {key: exact_top_k(matrix, q, POOL) for key, q in query_sets.items()}
    approximate = name in catalogue.approximate
    row: dict[str, Any] = {
        "event": "search",
        "size": n,
        "vectors": spec["kind"],
        "representation": name,
        "dim": int(matrix.shape[1]),
        "index": "IVF-SQ8 + exact re-rank" if approximate else "exact IndexFlatIP",
        "settings": catalogue.approximate_info.get(name, {}),
    }

    def hits(found: np.ndarray, k: int, exact: np.ndarray) -> int:
        return int(np.count_nonzero(found >= exact[k - 1] - 1e-5))

    # Every query once (pages of the mapped files come in), then RSS: what serving these costs.
    for q in query_sets[main_set]:
        catalogue.search_vectors(name, q, POOL)
    after = memory()
    row["rss_after_queries_mb"] = after["VmRSS"]
    row["rss_after_queries_anon_mb"] = after["RssAnon"]
    row["rss_after_queries_file_mb"] = after["RssFile"]

    flat = exact_index(matrix)  # the exact side: IndexFlatIP over the same vectors, in memory
    for key, queries in query_sets.items():
        for k in (K, POOL):
            if k == POOL and key != main_set:
                continue
            # Ours back to back, then the exact side: interleaved, each exact scan (0.5 GB at 1M x 128)
            # would leave our next search with cold caches (that case is measured on its own below).
            found_hits, ms, exact_ms = 0, [], []
            for i, q in enumerate(queries):
                t = time.perf_counter()
                _, sims = catalogue.search_vectors(name, q, k)
                ms.append((time.perf_counter() - t) * 1000)
                found_hits += hits(sims, k, truth[key][i])
            for q in queries[: spec["exact_queries"]]:
                t = time.perf_counter()
                flat.search(q[None, :], k)
                exact_ms.append((time.perf_counter() - t) * 1000)
            ours = ms_summary(ms)
            exact = ms_summary(exact_ms)
            row[f"{key}_k{k}"] = {
                "queries": len(queries),
                f"recall_at_{k}": round(found_hits / (k * len(queries)), 4),
                **ours,
                "exact": {**exact, "timed_queries": len(exact_ms)},
                "exact_over_ours_p50": round(exact["p50_ms"] / max(ours["p50_ms"], 1e-6), 1),
            }
            if key == main_set:
                # A worker searches between other work (decode, the encoder) that evicts the CPU caches.
                cold, other_memory = [], np.ones(EVICT_MB * 2**20 // 8)  # more than the L2 and L3 caches
                for q in queries:
                    other_memory.sum()
                    t = time.perf_counter()
                    catalogue.search_vectors(name, q, k)
                    cold.append((time.perf_counter() - t) * 1000)
                row[f"{key}_k{k}"]["after_cache_eviction"] = ms_summary(cold)
                del other_memory
    del flat
    if approximate:
        index = faiss.extract_index_ivf(catalogue.approximate[name])
        chosen = index.nprobe
        queries = query_sets[main_set]
        sweep = []
        for nprobe in sorted(
            {max(1, chosen // 4), max(1, chosen // 2), chosen, min(index.nlist, 2 * chosen)}
        ):
            index.nprobe = nprobe
            ms = []
            for q in queries:
                t = time.perf_counter()
                reranked_search(index, matrix, q[None, :], K)
                ms.append((time.perf_counter() - t) * 1000)
            with faiss_threads(available_cpus()):
                recall = recall_at_k(index, matrix, queries, K, truth[main_set][:, :K])
            sweep.append({"nprobe": nprobe, "recall_at_10": round(recall, 4), **ms_summary(ms)})
        index.nprobe = chosen
        row[f"nprobe_sweep_{main_set}"] = sweep
    return row


def run_worker(kind: str, spec: dict[str, Any], work: Path) -> None:
    """Run a worker in a fresh process, passing its lines on as they come."""
    path = work / f"spec-{kind}-{spec['size']}.json"
    path.write_text(json.dumps(spec))
    with subprocess.Popen(
        [sys.executable, __file__, "--worker", kind, "--spec", str(path)], stdout=subprocess.PIPE, text=True
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            print(line, end="", flush=True)
    if proc.returncode:
        emit({"event": "error", "worker": kind, "size": spec["size"], "returncode": proc.returncode})


# --- strategy latency at catalogue scale ----------------------------------------------------------------


def random_photo(rng: np.random.Generator, dim: int = 1280) -> PhotoAnalysis:
    """A made-up analysis with everything a strategy reads: colour and its words, scene labels."""
    from PIL import Image

    from recommender.colour import colour_stats, describe_colour

    colour = colour_stats(Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)))
    embedding = np.abs(rng.standard_normal(dim)).astype(np.float32)
    return PhotoAnalysis(
        valence=float(rng.uniform()),
        arousal=float(rng.uniform(0.3, 0.7)),
        emotions=dict(zip(IMAGE_EMOTIONS, rng.dirichlet(np.ones(len(IMAGE_EMOTIONS))).tolist(), strict=True)),
        embedding=embedding / np.linalg.norm(embedding),
        colour=colour,
        descriptors=describe_colour(colour),
        labels=[("seashore", 0.4), ("sandbar", 0.2)],
    )


def strategy_latency(tracks: int = 30_000, photos: int = 30, top_k: int = 10) -> dict[str, Any]:
    """Per registered strategy: track-vector build time and score() ms per photo over the engine's
    candidate pool, on synthetic tracks and photos; and recommend() p50 with the default strategies."""
    from engine_recommend import synthetic_rows

    from recommender.config import EngineConfig
    from recommender.pipeline import Engine
    from recommender.strategies import STRATEGIES, NeedsTrackVectors, Strategy

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
    cat = TrackCatalogue.build(rows, "bench", representations={k: fixed(m) for k, m in vectors.items()})
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
            continue
        per_strategy[name] = {"score_p50_ms": ms_summary(ms)["p50_ms"], "vectors_build_s": build_s.get(name)}
    engine = Engine(config, strategies=[available[n] for n in config.strategies if n in available])
    engine.recommend(sample[0], cat, top_k=top_k)[:top_k]  # warm-up
    ms = []
    for photo in sample:
        t = time.perf_counter()
        engine.recommend(photo, cat, top_k=top_k)[:top_k]
        ms.append((time.perf_counter() - t) * 1000)
    return {
        "event": "strategies",
        "tracks": tracks,
        "photos": photos,
        "candidate_pool": config.candidate_pool,
        "per_strategy": per_strategy,
        "skipped": skipped,
        "recommend_default_strategies": ms_summary(ms),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--vectors", choices=("real", "synthetic"), default="real")
    parser.add_argument("--dims", type=int, nargs="+", default=[128], help="synthetic vectors' dimensions")
    parser.add_argument("--queries", type=int, default=200, help="held-out bench tracks used as queries")
    parser.add_argument(
        "--photos", type=int, default=100, help="Emotion6 photos used as queries (real vectors)"
    )
    parser.add_argument(
        "--calibration-photos",
        type=int,
        default=200,
        help="OASIS photos the indexes are calibrated on (real vectors; 0: perturbed catalogue rows)",
    )
    parser.add_argument("--exact-queries", type=int, default=50, help="queries per set timed on exact search")
    parser.add_argument(
        "--approximate-above",
        type=int,
        default=APPROXIMATE_ABOVE,
        help="the catalogue's threshold for an approximate index (TrackCatalogue.build's approximate_above)",
    )
    parser.add_argument(
        "--workdir", type=Path, help="where the vectors and catalogues go (default: a temp dir)"
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the vectors and catalogues under --workdir (for profiling)"
    )
    parser.add_argument("--strategies-only", action="store_true", help="only the per-strategy latency")
    parser.add_argument("--tracks", type=int, default=30_000, help="catalogue size for --strategies-only")
    parser.add_argument("--worker", choices=("build", "search"), help=argparse.SUPPRESS)
    parser.add_argument("--spec", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        spec = json.loads(args.spec.read_text())
        (build_worker if args.worker == "build" else search_worker)(spec)
        return
    if args.strategies_only:
        sys.path.insert(0, str(Path(__file__).parent))
        faiss.omp_set_num_threads(1)
        emit(strategy_latency(args.tracks))
        return
    kept = Path(tempfile.mkdtemp(prefix="index_scale-", dir=args.workdir)) if args.keep else None
    with (
        contextlib.nullcontext(str(kept))
        if kept
        else tempfile.TemporaryDirectory(prefix="index_scale-", dir=args.workdir) as tmp
    ):
        work = Path(tmp)
        if kept:
            print(f"keeping {work}", file=sys.stderr)
        info = write_vectors(args, work)
        emit({**info, "targets": TARGETS, "cpus": available_cpus()})
        for size in sorted(args.sizes):
            spec = {
                "size": size,
                "work": str(work),
                "kind": args.vectors,
                "names": list(info["dims"]),
                "approximate_above": args.approximate_above,
                "catalogue": str(work / f"catalogue-{size}"),
                "exact_queries": args.exact_queries,
            }
            run_worker("build", spec, work)
            run_worker("search", spec, work)
            if args.keep:
                continue
            for path in Path(spec["catalogue"]).glob("*"):
                path.unlink()


if __name__ == "__main__":
    main()
