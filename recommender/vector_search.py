"""Searching track representations by inner product (the engine's candidate searches).

Vector search (search_vectors) is exact (IndexFlatIP, built on first use) up to `approximate_above`
rows. Above it, build() trains an IVF index with an 8-bit scalar quantiser on the representation itself
(nlist = 4 * sqrt(n), k-means on a sample of TRAIN_PER_LIST rows per list, rows added in chunks, so the
build holds no second float copy of the matrix). A search asks the IVF index for RERANK * k rows and
re-scores them exactly with the stored float vectors, so the quantiser only has to get the right rows
into that shortlist (alone, SQ8 could not order the near-ties of these representations: recall@10
stopped at 0.87 at any nprobe on the joint embedding at 1M tracks), and the inner products returned
are exact.

nprobe is calibrated at build time, for searches of up to 10, 100, 500 and 1000 rows each (CALIBRATED_K:
the strategies ask for the engine's candidate pool, 500 rows or more, which spans more lists than the top
10): the smallest nprobe (doubling, then bisecting the last doubling to within NPROBE_STEP) whose
recall@k against exact search reaches TARGET_RECALL + CALIBRATION_MARGIN, capped at the
nprobe that scans about MAX_SCANNED rows per query, so that a search never silently turns into a scan
of a large catalogue. If the cap comes first, the search keeps the cap, the recall measured there is
recorded (approximate_info: recall_by_k, calibrated_recall_at_10, target_reached false) and a warning
logged. Where the calibrated nprobe would probe half the lists or more (only in catalogues of up to
2 * MAX_SCANNED rows, where that is cheap), an exact scan of the stored vectors answers instead
(nprobe_by_k 0, recall 1.0).

Calibration queries: real ones where the caller has them (build's `queries`: the index service passes
the strategies' queries for the latest stored photos, Engine.calibration_queries), else, or with fewer
than MIN_CALIBRATION_QUERIES, CALIBRATION_QUERIES catalogue vectors each pushed off the catalogue by an
equal-length random direction (q = x/|x| + g/|g|, normalised; cosine ~0.7-0.9 to the nearest track).
Real queries are photos projected into the track space, and they lie off the tracks: at 1M tracks
(bench/index_scale.py, the engine's own vectors) perturbed rows chose nprobe 28 (predicted features) and
88 (joint embedding), where Emotion6 photos then reached recall@10 only 0.937 and 0.978: in the 12-d
predicted features photos lie further off than perturbed rows. Calibrated on 200 OASIS photos instead
(embeddings only, as stored photos are), the same build chose 36 and 80 and Emotion6 photos reached
0.967 and 0.975.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Mapping
from typing import Any

import faiss
import numpy as np

from .threads import available_cpus

logger = logging.getLogger(__name__)

# Representations with more rows than this get an approximate index; fewer are searched exactly.
APPROXIMATE_ABOVE = 50_000
TARGET_RECALL = 0.95
CALIBRATION_QUERIES = 200
# Fewer given calibration queries than this measure recall too coarsely: perturbed rows are used instead.
MIN_CALIBRATION_QUERIES = 50
RECALL_K = 10
# nprobe is calibrated separately for searches of up to 10, 100, 500 and 1000 rows: the strategies ask
# for the engine's candidate pool (EngineConfig.candidate_pool, 500, or more when artists repeat), whose
# nearest rows span more inverted lists than the top 10.
CALIBRATED_K = (RECALL_K, 100, 500, 1000)
# Calibration aims this far above the target: 200 queries x 10 rows measure recall@10 to about +-0.005
# (one standard error), and the photos a catalogue is searched with are not the calibration queries.
CALIBRATION_MARGIN = 0.01
# Bisection stops within this share of the chosen nprobe (powers of two alone overshot by up to 2x).
NPROBE_STEP = 0.125
# k-means training points per inverted list (faiss warns below 39).
TRAIN_PER_LIST = 40
# The IVF index proposes RERANK * k rows; the stored float vectors pick the k best of them.
RERANK = 2
# nprobe is capped where a query scans about this many rows (1M tracks, nlist 4000: nprobe 256).
MAX_SCANNED = 65_536
_ADD_CHUNK = 100_000


# faiss-gpu's largest k for one search; larger searches stay on the CPU.
GPU_MAX_K = 2048
_gpu_resources: Any = None


def gpu_search_available() -> bool:
    """Whether this faiss is faiss-gpu and sees a GPU."""
    return hasattr(faiss, "StandardGpuResources") and faiss.get_num_gpus() > 0


def exact_gpu_index(matrix: np.ndarray) -> faiss.Index:
    """An exact inner-product index over matrix on GPU 0 (faiss-gpu; check gpu_search_available first).
    Exact even above approximate_above: a GPU scans 1M x 128 floats (0.5 GB of its memory) in well under
    a millisecond, so the IVF approximation is for the CPU only."""
    global _gpu_resources
    if _gpu_resources is None:
        _gpu_resources = faiss.StandardGpuResources()  # one per process: it holds scratch memory
    return faiss.index_cpu_to_gpu(_gpu_resources, 0, exact_index(matrix))


def exact_index(matrix: np.ndarray) -> faiss.Index:
    index = faiss.IndexFlatIP(matrix.shape[1])
    for start in range(0, len(matrix), _ADD_CHUNK):
        index.add(np.ascontiguousarray(matrix[start : start + _ADD_CHUNK], dtype=np.float32))
    return index


def build_approximate_index(
    matrix: np.ndarray,
    target_recall: float = TARGET_RECALL,
    seed: int = 0,
    queries: np.ndarray | None = None,
    max_scanned: int | None = None,
) -> tuple[faiss.Index, dict[str, Any]]:
    """IVF (nlist = 4 * sqrt(n)) with 8-bit scalar quantisation over matrix, inner product, nprobe
    calibrated to target_recall on `queries` (default: perturbed rows of matrix; module docstring);
    returns the index and its settings. matrix may be memory-mapped: it is read in chunks."""
    n, d = matrix.shape
    nlist = max(1, min(n, round(4 * math.sqrt(n))))
    rng = np.random.default_rng(seed)
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(available_cpus())  # the engine searches on one thread; training wants them all
    try:
        index = faiss.IndexIVFScalarQuantizer(
            faiss.IndexFlatIP(d), d, nlist, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
        )
        sample = np.sort(rng.choice(n, min(n, TRAIN_PER_LIST * nlist), replace=False))
        index.train(np.ascontiguousarray(matrix[sample], dtype=np.float32))
        del sample
        for start in range(0, n, _ADD_CHUNK):
            index.add(np.ascontiguousarray(matrix[start : start + _ADD_CHUNK], dtype=np.float32))
        if queries is not None and len(queries) and np.shape(queries)[1:] != (d,):
            raise ValueError(f"calibration queries have shape {np.shape(queries)}, want (m, {d})")
        given = queries is not None and len(queries) >= MIN_CALIBRATION_QUERIES
        calibration = (
            queries if queries is not None and given else perturbed_queries(matrix, CALIBRATION_QUERIES, rng)
        )
        scanned = MAX_SCANNED if max_scanned is None else max_scanned
        max_nprobe = max(1, min(nlist, math.ceil(scanned * nlist / n)))
        calibrated = _calibrate_nprobe(index, matrix, calibration, target_recall, max_nprobe)
    finally:
        faiss.omp_set_num_threads(threads)
    # Where the IVF index would probe half its lists or more, an exact scan of the vectors is as fast.
    calibrated = {k: (0, 1.0) if 2 * p >= nlist else (p, r) for k, (p, r) in calibrated.items()}
    nprobe, recall = calibrated[min(calibrated)]
    index.nprobe = max(1, nprobe)
    return index, {
        "nlist": nlist,
        "nprobe": nprobe,  # for k <= 10 (0: an exact scan)
        "calibrated_recall_at_10": recall,
        "nprobe_by_k": {str(k): p for k, (p, _) in calibrated.items()},
        "recall_by_k": {str(k): r for k, (_, r) in calibrated.items()},
        "max_nprobe": max_nprobe,
        "rerank": RERANK,
        "target_recall": target_recall,
        "target_reached": all(r >= target_recall for _, r in calibrated.values()),
        "calibration_queries": len(calibration),
        "calibrated_on": "given queries" if given else "perturbed catalogue rows",
    }


def nprobe_for(info: Mapping[str, Any], k: int) -> int:
    """The calibrated nprobe for a search of k rows: that of the smallest calibrated k at least k; 0 means
    an exact scan of the vectors. Beyond the largest calibrated k (a candidate pool widened because
    artists repeat), the largest one's nprobe scaled by how many more rows are wanted, up to the point
    where an exact scan is as cheap."""
    by_k = sorted((int(key), int(p)) for key, p in info.get("nprobe_by_k", {}).items())
    for calibrated_k, nprobe in by_k:
        if k <= calibrated_k:
            return nprobe
    if not by_k:
        return int(info["nprobe"])
    largest_k, nprobe = by_k[-1]
    if nprobe == 0:
        return 0
    scaled = math.ceil(nprobe * k / largest_k)
    return 0 if 2 * scaled >= int(info["nlist"]) else scaled


def exact_scan(matrix: np.ndarray, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(rows, inner products) of the k rows of matrix with the largest inner product with query (1, d),
    by scanning every row (no index, no copy of the matrix): one matrix-vector product and a partial
    sort, several times faster than a flat FAISS index for the engine's k of 500 (its heap per query)."""
    sims = np.asarray(matrix @ np.asarray(query, dtype=np.float32).reshape(-1), dtype=np.float32)
    rows = best_k(sims, k)
    return rows, sims[rows]


def best_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k largest scores, best first; ties by lower index."""
    k = min(k, len(scores))
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    top = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
    return top[np.lexsort((top, -scores[top]))].astype(np.int64)


def reranked_search(
    index: faiss.Index, matrix: np.ndarray, queries: np.ndarray, k: int, nprobe: int | None = None
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per query, (rows, exact inner products) of the k best of the RERANK * k rows the approximate
    index proposes (probing nprobe lists; default: the index's own nprobe), best first (ties: lower
    row first)."""
    depth = min(len(matrix), RERANK * k)
    # Per-call parameters, not index.nprobe: threads may share the index.
    params = None if nprobe is None else _ivf_parameters(nprobe)
    _, proposed = index.search(np.ascontiguousarray(queries, dtype=np.float32), depth, params=params)
    out = []
    for q, found in zip(queries, proposed, strict=True):
        rows = np.sort(found[found >= 0]).astype(np.int64)  # sorted: the reads go forward through the file
        sims = np.asarray(matrix[rows], dtype=np.float32) @ q
        best = np.argsort(-sims, kind="stable")[:k]
        out.append((rows[best], sims[best]))
    return out


@functools.lru_cache(maxsize=256)
def _ivf_parameters(nprobe: int) -> faiss.SearchParametersIVF:
    """One read-only parameter object per nprobe, shared by every search (and thread): making one per
    call cost more than a tenth of a millisecond (a fifth of a whole search at 1M tracks)."""
    params = faiss.SearchParametersIVF()
    params.nprobe = nprobe
    return params


def perturbed_queries(matrix: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """Up to count held-out queries: non-zero rows of matrix, each plus a random direction of the same
    length, normalised (about 45 degrees off the row: as far from the tracks as photos are)."""
    pick = np.sort(rng.choice(len(matrix), min(len(matrix), 4 * count), replace=False))
    rows = np.asarray(matrix[pick], dtype=np.float32)
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    rows = (rows / np.maximum(norms, 1e-12))[norms[:, 0] > 1e-6][:count]
    noise = rng.standard_normal(rows.shape).astype(np.float32)
    q = rows + noise / np.linalg.norm(noise, axis=1, keepdims=True)
    return (q / np.linalg.norm(q, axis=1, keepdims=True)).astype(np.float32)


def exact_top_k(matrix: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """(m, k) largest inner products of each query with the rows of matrix, best first; matrix is
    read in chunks (no full-size temporary)."""
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    best = np.full((len(queries), 0), -np.inf, dtype=np.float32)
    for start in range(0, len(matrix), _ADD_CHUNK):
        chunk = np.ascontiguousarray(matrix[start : start + _ADD_CHUNK], dtype=np.float32)
        sims, _ = faiss.knn(queries, chunk, min(k, len(chunk)), faiss.METRIC_INNER_PRODUCT)
        both = np.concatenate([best, sims], axis=1)
        best = -np.sort(-both, axis=1)[:, :k]
    return best


def recall_at_k(
    index: faiss.Index,
    matrix: np.ndarray,
    queries: np.ndarray,
    k: int,
    exact: np.ndarray | None = None,
    nprobe: int | None = None,
) -> float:
    """Recall@k of reranked_search against exact search: the share of its rows at least as close as the
    exact k-th neighbour (rows tied with it count as hits). exact: the exact top inner products, best
    first, at least k of them per query."""
    k = min(k, len(matrix))
    if exact is None:
        exact = exact_top_k(matrix, queries, k)
    threshold = exact[:, k - 1] - 1e-5
    found = reranked_search(index, matrix, queries, k, nprobe)
    hits = sum(int(np.count_nonzero(sims >= t)) for (_, sims), t in zip(found, threshold, strict=True))
    return hits / (k * len(queries))


def _calibrate_nprobe(
    index: faiss.IndexIVF, matrix: np.ndarray, queries: np.ndarray, target_recall: float, max_nprobe: int
) -> dict[int, tuple[int, float]]:
    """Per k of CALIBRATED_K (those below the row count, at least the first): the smallest nprobe whose
    recall@k reaches target_recall + CALIBRATION_MARGIN (doubling until one does, then bisecting the
    last doubling to within NPROBE_STEP of it), else max_nprobe; and the recall there."""
    ks = sorted({min(k, len(matrix)) for k in CALIBRATED_K})
    if len(queries) == 0:  # an all-zero matrix: nothing to find
        return {k: (1, 1.0) for k in ks}
    exact = exact_top_k(matrix, queries, ks[-1])
    wanted = min(1.0, target_recall + CALIBRATION_MARGIN)
    out: dict[int, tuple[int, float]] = {}
    nprobe = 1
    for k in ks:  # a larger k needs at least the nprobe of a smaller one

        def recall(p: int, k: int = k) -> float:
            return recall_at_k(index, matrix, queries, k, exact, p)

        failed = nprobe - 1  # the largest nprobe known to miss (0: none tried)
        found = recall(nprobe)
        while found < wanted and nprobe < max_nprobe:
            failed, nprobe = nprobe, min(2 * nprobe, max_nprobe)
            found = recall(nprobe)
        if found >= wanted:
            while nprobe - failed > max(1, round(NPROBE_STEP * nprobe)):
                middle = (failed + nprobe) // 2
                at_middle = recall(middle)
                if at_middle >= wanted:
                    nprobe, found = middle, at_middle
                else:
                    failed = middle
        out[k] = (nprobe, round(found, 4))
    return out


def log_calibration(name: str, info: Mapping[str, Any]) -> None:
    message = (
        "approximate index for %s: nlist %d, nprobe by k %s, calibrated recall by k %s (target %.2f, %s)"
    )
    args = (
        name,
        info["nlist"],
        info["nprobe_by_k"],
        info["recall_by_k"],
        info["target_recall"],
        info["calibrated_on"],
    )
    if info["target_reached"]:
        logger.info(message, *args)
    else:
        logger.warning(
            message + "; nprobe capped at %d rather than scanning the catalogue", *args, info["max_nprobe"]
        )
