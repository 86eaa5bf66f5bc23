"""Approximate vector search above the catalogue's threshold: chosen, calibrated, saved, memory-mapped."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path

import faiss
import numpy as np
import pytest

from recommender import vector_search
from recommender.catalogue_index import TrackCatalogue
from recommender.types import TrackRow
from recommender.vector_search import build_approximate_index, nprobe_for, recall_at_k

N_TRACKS = 4000
DIM = 32


def clustered(n: int, seed: int, centres: np.ndarray) -> np.ndarray:
    """Unit vectors around the given centres."""
    rng = np.random.default_rng(seed)
    x = centres[rng.integers(0, len(centres), n)] + 0.5 * rng.standard_normal((n, DIM))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def spread(n: int, seed: int, d: int = 16) -> np.ndarray:
    """Unit vectors without clusters: one anisotropic Gaussian (a few directions matter more), like the
    engine's standardised-feature vectors; far harder for an IVF index than clustered ones."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d)) * np.linspace(1.0, 0.2, d)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture(scope="module")
def data() -> tuple[list[TrackRow], np.ndarray, np.ndarray]:
    centres = np.random.default_rng(0).standard_normal((60, DIM))
    return rows_for(N_TRACKS), clustered(N_TRACKS, 1, centres), clustered(100, 2, centres)


def rows_for(n: int) -> list[TrackRow]:
    return [TrackRow(i + 1, f"Artist {i % 500}", f"Song {i}", 0.5, 0.5) for i in range(n)]


def build(
    rows: Sequence[TrackRow], matrix: np.ndarray, approximate_above: int, **options: object
) -> TrackCatalogue:
    return TrackCatalogue.build(
        rows,
        "ann-test",
        representations={"emb": lambda _rows: matrix},
        approximate_above=approximate_above,
        **options,  # type: ignore[arg-type]
    )


def exact_top(matrix: np.ndarray, q: np.ndarray, k: int) -> np.ndarray:
    return np.argsort(-(matrix @ q), kind="stable")[:k]


def recall(catalogue: TrackCatalogue, matrix: np.ndarray, queries: np.ndarray, k: int = 10) -> float:
    """Share of the found rows at least as close as the exact k-th (ties count)."""
    hits = 0
    for q in queries:
        kth = np.sort(matrix @ q)[::-1][k - 1]
        _, sims = catalogue.search_vectors("emb", q, k)
        hits += int(np.count_nonzero(sims >= kth - 1e-5))
    return hits / (k * len(queries))


def test_below_the_threshold_search_is_exact(data) -> None:
    rows, matrix, queries = data
    catalogue = build(rows, matrix, approximate_above=N_TRACKS)
    assert catalogue.approximate == {} and catalogue.approximate_info == {}
    with pytest.raises(KeyError):
        catalogue.vector_index("emb")  # scanned exactly: no index
    assert recall(catalogue, matrix, queries) == 1.0


def test_above_the_threshold_an_ivf_sq8_index_is_built_and_agrees_with_exact_search(data) -> None:
    rows, matrix, queries = data
    catalogue = build(rows, matrix, approximate_above=1000)
    index = catalogue.vector_index("emb")
    assert isinstance(index, faiss.IndexIVFScalarQuantizer) and index.ntotal == N_TRACKS
    info = catalogue.approximate_info["emb"]
    assert info["nlist"] == round(4 * np.sqrt(N_TRACKS)) == index.nlist
    assert info["calibrated_recall_at_10"] >= 0.95 and 1 <= info["nprobe"] < info["nlist"]
    assert index.nprobe == info["nprobe"]
    # Held-out queries, not the catalogue's own vectors.
    assert recall(catalogue, matrix, queries) >= 0.95
    # The inner products returned are exact (re-scored with the stored vectors), best first.
    found, sims = catalogue.search_vectors("emb", queries[0], 10)
    assert np.allclose(sims, matrix[found] @ queries[0], atol=1e-6) and np.all(np.diff(sims) <= 0)
    assert len(catalogue.candidates((0.5, 0.5), 5)) == 5  # the V/A search is unaffected


def test_calibration_reaches_the_target_on_vectors_without_clusters_just_above_the_threshold() -> None:
    n = 3000
    matrix = spread(n, 0)
    catalogue = build(rows_for(n), matrix, approximate_above=n - 1)
    info = catalogue.approximate_info["emb"]
    assert info["target_reached"] and info["calibrated_recall_at_10"] >= 0.95
    assert info["calibrated_on"] == "perturbed catalogue rows"
    assert 1 <= info["nprobe"] < info["nlist"] / 2  # the IVF index answers, not a scan
    # Held out twice: fresh draws from the same distribution, and catalogue rows pushed off the catalogue.
    assert recall(catalogue, matrix, spread(200, 1)) >= 0.95
    rng = np.random.default_rng(2)
    assert recall(catalogue, matrix, vector_search.perturbed_queries(matrix, 200, rng)) >= 0.95
    # The engine asks for its candidate pool: that k has its own calibration.
    assert recall(catalogue, matrix, spread(20, 3), k=500) >= 0.95


def test_a_search_uses_the_nprobe_calibrated_for_its_k_and_scans_where_the_index_would_not_help() -> None:
    n = 3000
    matrix = spread(n, 4)
    _, info = build_approximate_index(matrix)
    by_k = {int(k): p for k, p in info["nprobe_by_k"].items()}
    assert sorted(by_k) == [10, 100, 500, 1000]
    assert nprobe_for(info, 1) == nprobe_for(info, 10) == info["nprobe"] == by_k[10]
    assert nprobe_for(info, 11) == nprobe_for(info, 100) == by_k[100]
    assert nprobe_for(info, 101) == nprobe_for(info, 500) == by_k[500]  # the engine's candidate pool
    assert nprobe_for(info, 501) == nprobe_for(info, 50_000) == by_k[1000]
    assert by_k[10] <= by_k[100] or by_k[100] == 0
    # 1000 of 3000 rows would take half the lists or more: an exact scan answers those, recorded as such.
    assert by_k[1000] == 0 and info["recall_by_k"]["1000"] == 1.0
    catalogue = build(rows_for(n), matrix, approximate_above=n - 1)
    q = spread(1, 5)[0]
    found, sims = catalogue.search_vectors("emb", q, 600)
    assert found.tolist() == exact_top(matrix, q, 600).tolist()
    assert np.allclose(sims, matrix[found] @ q, atol=1e-6)


def test_a_target_out_of_reach_caps_nprobe_records_the_recall_and_warns_instead_of_scanning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    n = 3000
    matrix = spread(n, 6)
    monkeypatch.setattr(vector_search, "MAX_SCANNED", 100)  # about 7 of 219 lists per query
    with caplog.at_level(logging.WARNING, logger="recommender.vector_search"):
        catalogue = build(rows_for(n), matrix, approximate_above=n - 1)
    info = catalogue.approximate_info["emb"]
    assert info["max_nprobe"] == 8 < info["nlist"]
    assert not info["target_reached"]
    assert all(0 < p <= info["max_nprobe"] for p in info["nprobe_by_k"].values())  # never a full scan
    assert 0 < info["recall_by_k"]["1000"] < 0.95  # what it measured there, recorded
    assert any("capped at 8" in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records)
    found, _ = catalogue.search_vectors("emb", spread(1, 7)[0], 500)
    assert 0 < len(found) < 500  # what the probed lists hold, not the whole catalogue


def test_calibration_raises_nprobe_until_the_target_recall() -> None:
    matrix = spread(3000, 8)
    _, loose = build_approximate_index(matrix, target_recall=0.5)
    _, strict = build_approximate_index(matrix, target_recall=0.99)
    assert loose["nprobe"] < strict["nprobe"]
    assert loose["calibrated_recall_at_10"] >= 0.5 and strict["calibrated_recall_at_10"] >= 0.99


def test_calibration_picks_the_smallest_nprobe_within_a_step_with_a_margin() -> None:
    matrix, queries = spread(3000, 11), spread(100, 12)
    index, info = build_approximate_index(matrix, target_recall=0.9, queries=queries)
    wanted = 0.9 + vector_search.CALIBRATION_MARGIN
    for k in ("10", "100"):
        chosen = info["nprobe_by_k"][k]
        assert recall_at_k(index, matrix, queries, int(k), nprobe=chosen) >= wanted
        assert info["recall_by_k"][k] >= wanted
        # One step below misses: powers of two alone would have allowed up to twice the lists.
        below = chosen - max(1, round(vector_search.NPROBE_STEP * chosen))
        if below >= 1 and k == "10":
            assert recall_at_k(index, matrix, queries, int(k), nprobe=below) < wanted


def test_calibration_can_use_the_queries_the_caller_expects() -> None:
    n = 3000
    matrix, queries = spread(n, 9), spread(50, 10)
    catalogue = build(rows_for(n), matrix, approximate_above=n - 1, calibration_queries={"emb": queries})
    info = catalogue.approximate_info["emb"]
    assert info["calibrated_on"] == "given queries" and info["calibration_queries"] == 50
    assert recall(catalogue, matrix, queries) >= info["calibrated_recall_at_10"] - 1e-9 >= 0.95


def test_the_approximate_index_and_its_recall_survive_save_and_memory_mapped_load(
    data, tmp_path: Path
) -> None:
    rows, matrix, queries = data
    built = build(rows, matrix, approximate_above=1000)
    directory = built.save(tmp_path / "idx")
    assert (directory / "vec_emb.faiss").is_file()
    saved = json.loads((directory / "meta.json").read_text())["approximate"]["emb"]
    assert saved == built.approximate_info["emb"]
    assert {"calibrated_recall_at_10", "recall_by_k", "nprobe_by_k", "target_reached"} <= set(saved)
    for mmap in (True, False):
        loaded = TrackCatalogue.load(directory, mmap=mmap)
        assert loaded.approximate_info == built.approximate_info
        index = loaded.vector_index("emb")
        assert (
            isinstance(index, faiss.IndexIVFScalarQuantizer)
            and index.nprobe == built.approximate_info["emb"]["nprobe"]
        )
        if mmap and hasattr(faiss, "IO_FLAG_MMAP_IFC"):
            # Mapped in place as plain arrays, not read through OnDiskInvertedLists (28x slower).
            invlists = faiss.extract_index_ivf(index).invlists
            assert invlists is not None
            lists = faiss.downcast_InvertedLists(invlists)
            assert isinstance(lists, faiss.ArrayInvertedLists)
            assert isinstance(loaded.vectors["emb"], np.memmap)
        for q in queries[:20]:
            for k in (10, 500):
                rows_built, sims_built = built.search_vectors("emb", q, k)
                rows_loaded, sims_loaded = loaded.search_vectors("emb", q, k)
                assert rows_loaded.tolist() == rows_built.tolist()
                assert np.array_equal(sims_loaded, sims_built)
        assert recall(loaded, matrix, queries) >= 0.95


def test_zero_vectors_and_a_tiny_set_do_not_break_the_approximate_index() -> None:
    matrix = np.zeros((50, 4), dtype=np.float32)
    matrix[:10] = np.eye(4, dtype=np.float32)[np.arange(10) % 4]
    rows = [TrackRow(i + 1, "A", f"S{i}") for i in range(50)]
    catalogue = build(rows, matrix, approximate_above=10)
    found, sims = catalogue.search_vectors("emb", np.array([1.0, 0.0, 0.0, 0.0]), 3)
    assert set(found.tolist()) == {0, 4, 8} and np.allclose(sims, 1.0, atol=0.02)


def test_without_faiss_gpu_the_searches_stay_on_the_cpu(data) -> None:
    rows, matrix, _queries = data
    catalogue = build(rows, matrix, approximate_above=1000)
    if vector_search.gpu_search_available():
        pytest.skip("this machine has faiss-gpu and a GPU: bench/gpu.py measures that path")
    assert catalogue.use_gpu() is False and catalogue.on_gpu == {}


def test_on_a_gpu_every_representation_is_searched_exactly(data, monkeypatch) -> None:
    """The GPU branch of search_vectors, with faiss-gpu's index stood in for by the same exact CPU index
    faiss-gpu copies to the device (index_cpu_to_gpu of vector_search.exact_index): CI has no GPU."""
    rows, matrix, queries = data
    catalogue = build(rows, matrix, approximate_above=1000)  # an IVF index on the CPU
    monkeypatch.setattr("recommender.catalogue_index.gpu_search_available", lambda: True)
    monkeypatch.setattr("recommender.catalogue_index.exact_gpu_index", vector_search.exact_index)
    assert catalogue.use_gpu() and set(catalogue.on_gpu) == {"emb"}
    for q in queries[:20]:
        found, sims = catalogue.search_vectors("emb", q, 50)
        assert list(found) == list(exact_top(matrix, q, 50))  # exact, not the IVF approximation
        assert np.allclose(sims, matrix[found] @ q, atol=1e-5)
    # More rows than faiss-gpu returns in one search: the CPU path answers.
    found, _ = catalogue.search_vectors("emb", queries[0], vector_search.GPU_MAX_K + 1)
    assert len(found) == vector_search.GPU_MAX_K + 1
    # k beyond the catalogue: every row once, no -1 padding.
    small = build(rows[:30], matrix[:30], approximate_above=1000)
    small.use_gpu()
    found, _ = small.search_vectors("emb", queries[0], 100)
    assert sorted(found) == list(range(30))


def test_a_widened_search_probes_more_lists_in_proportion_until_a_scan_is_as_cheap() -> None:
    info = {"nlist": 4000, "nprobe": 32, "nprobe_by_k": {"10": 32, "100": 64, "1000": 128}}
    assert nprobe_for(info, 1000) == 128
    assert nprobe_for(info, 2000) == 256 and nprobe_for(info, 8000) == 1024
    assert nprobe_for(info, 16_000) == 0  # 2048 of 4000 lists: scanned exactly instead


def off_the_rows(matrix: np.ndarray, count: int, seed: int, spread_out: float) -> np.ndarray:
    """Queries further off the catalogue than vector_search's perturbed rows (like photos in the 12-d
    predicted-feature space): rows plus a random direction spread_out times their length, normalised."""
    rng = np.random.default_rng(seed)
    rows = matrix[rng.choice(len(matrix), count, replace=False)]
    noise = rng.standard_normal(rows.shape)
    q = rows + spread_out * noise / np.linalg.norm(noise, axis=1, keepdims=True)
    return (q / np.linalg.norm(q, axis=1, keepdims=True)).astype(np.float32)


def test_calibrating_on_queries_like_the_real_ones_reaches_the_target_on_fresh_ones() -> None:
    """Queries further off the rows than the perturbed ones need more lists: calibrated on queries like
    them, fresh queries of that kind reach the target; calibrated on perturbed rows, they probe fewer."""
    n = 3000
    matrix = spread(n, 13)
    hard = off_the_rows(matrix, 200, 14, spread_out=3.0)
    default = build(rows_for(n), matrix, approximate_above=n - 1)
    calibrated = build(rows_for(n), matrix, approximate_above=n - 1, calibration_queries={"emb": hard})
    info = calibrated.approximate_info["emb"]
    assert info["calibrated_on"] == "given queries" and info["calibration_queries"] == 200
    assert info["nprobe"] > default.approximate_info["emb"]["nprobe"]
    fresh = off_the_rows(matrix, 200, 15, spread_out=3.0)
    assert recall(calibrated, matrix, fresh) >= 0.95


def test_too_few_calibration_queries_fall_back_to_perturbed_rows_and_bad_ones_are_refused() -> None:
    n = 3000
    matrix = spread(n, 16)
    few = spread(vector_search.MIN_CALIBRATION_QUERIES - 1, 17)
    _, info = build_approximate_index(matrix, queries=few)
    assert info["calibrated_on"] == "perturbed catalogue rows"
    assert info["calibration_queries"] == vector_search.CALIBRATION_QUERIES
    with pytest.raises(ValueError, match="calibration queries have shape"):
        build_approximate_index(matrix, queries=spread(100, 18, d=8))


def test_an_index_saved_before_per_k_calibration_and_calibration_sources_still_loads_and_searches(
    data, tmp_path: Path
) -> None:
    """Format 4 indexes saved by earlier builds carry only nlist and nprobe (no nprobe_by_k, no record of
    what they were calibrated on): they load, and every search probes their one nprobe."""
    rows, matrix, queries = data
    built = build(rows, matrix, approximate_above=1000)
    directory = built.save(tmp_path / "old")
    meta = json.loads((directory / "meta.json").read_text())
    info = meta["approximate"]["emb"]
    meta["approximate"]["emb"] = {"nlist": info["nlist"], "nprobe": info["nprobe"], "rerank": 2}
    (directory / "meta.json").write_text(json.dumps(meta))
    loaded = TrackCatalogue.load(directory)
    index = loaded.vector_index("emb")
    for q in queries[:10]:
        for k in (10, 500):
            found, sims = loaded.search_vectors("emb", q, k)
            expected = vector_search.reranked_search(index, matrix, q[None, :], k, info["nprobe"])[0]
            assert found.tolist() == expected[0].tolist() and np.array_equal(sims, expected[1])
    assert recall(loaded, matrix, queries) >= 0.9
