"""Approximate vector search above the catalogue's threshold: chosen, calibrated, saved, memory-mapped."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import faiss
import numpy as np
import pytest

from recommender.catalogue_index import TrackCatalogue, build_approximate_index
from recommender.types import TrackRow

N_TRACKS = 4000
DIM = 32


def clustered(n: int, seed: int, centres: np.ndarray) -> np.ndarray:
    """Unit vectors around the given centres (real track embeddings are clustered too)."""
    rng = np.random.default_rng(seed)
    x = centres[rng.integers(0, len(centres), n)] + 0.5 * rng.standard_normal((n, DIM))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture(scope="module")
def data() -> tuple[list[TrackRow], np.ndarray, np.ndarray]:
    centres = np.random.default_rng(0).standard_normal((60, DIM))
    rows = [TrackRow(i + 1, f"Artist {i % 500}", f"Song {i}", 0.5, 0.5) for i in range(N_TRACKS)]
    return rows, clustered(N_TRACKS, 1, centres), clustered(100, 2, centres)


def build(rows: Sequence[TrackRow], matrix: np.ndarray, approximate_above: int) -> TrackCatalogue:
    return TrackCatalogue.build(
        rows, "ann-test", representations={"emb": lambda _rows: matrix}, approximate_above=approximate_above
    )


def recall_at_10(catalogue: TrackCatalogue, matrix: np.ndarray, queries: np.ndarray) -> float:
    hits = 0
    for q in queries:
        truth = set(np.argsort(-(matrix @ q), kind="stable")[:10].tolist())
        hits += len(truth & set(catalogue.search_vectors("emb", q, 10)[0].tolist()))
    return hits / (10 * len(queries))


def test_below_the_threshold_search_is_exact(data) -> None:
    rows, matrix, queries = data
    catalogue = build(rows, matrix, approximate_above=N_TRACKS)
    assert catalogue.approximate == {} and catalogue.approximate_info == {}
    assert isinstance(catalogue.vector_index("emb"), faiss.IndexFlatIP)
    assert recall_at_10(catalogue, matrix, queries) == 1.0


def test_above_the_threshold_an_ivf_sq8_index_is_built_and_agrees_with_exact_search(data) -> None:
    rows, matrix, queries = data
    catalogue = build(rows, matrix, approximate_above=1000)
    index = catalogue.vector_index("emb")
    assert isinstance(index, faiss.IndexIVFScalarQuantizer) and index.ntotal == N_TRACKS
    info = catalogue.approximate_info["emb"]
    assert info["nlist"] == round(4 * np.sqrt(N_TRACKS)) == index.nlist
    assert info["calibrated_recall_at_10"] >= 0.95 and 1 <= info["nprobe"] < info["nlist"]
    assert index.nprobe == info["nprobe"]
    # Held-out queries, not the catalogue's own vectors the calibration used.
    assert recall_at_10(catalogue, matrix, queries) >= 0.9
    assert catalogue.index.d == 2 and len(catalogue.candidates((0.5, 0.5), 5)) == 5  # V/A index untouched


def test_the_approximate_index_survives_save_and_memory_mapped_load(data, tmp_path: Path) -> None:
    rows, matrix, queries = data
    built = build(rows, matrix, approximate_above=1000)
    directory = built.save(tmp_path / "idx")
    assert (directory / "vec_emb.faiss").is_file()
    for mmap in (True, False):
        loaded = TrackCatalogue.load(directory, mmap=mmap)
        assert loaded.approximate_info == built.approximate_info
        index = loaded.vector_index("emb")
        assert (
            isinstance(index, faiss.IndexIVFScalarQuantizer)
            and index.nprobe == built.approximate_info["emb"]["nprobe"]
        )
        for q in queries[:20]:
            rows_built, sims_built = built.search_vectors("emb", q, 10)
            rows_loaded, sims_loaded = loaded.search_vectors("emb", q, 10)
            assert rows_loaded.tolist() == rows_built.tolist()
            assert np.allclose(sims_loaded, sims_built)
        assert recall_at_10(loaded, matrix, queries) >= 0.9


def test_calibration_raises_nprobe_until_the_target_recall() -> None:
    centres = np.random.default_rng(5).standard_normal((60, DIM))
    matrix = clustered(3000, 6, centres)
    _, loose = build_approximate_index(matrix, target_recall=0.5)
    _, strict = build_approximate_index(matrix, target_recall=0.99)
    assert loose["nprobe"] < strict["nprobe"]
    assert loose["calibrated_recall_at_10"] >= 0.5 and strict["calibrated_recall_at_10"] >= 0.99


def test_zero_vectors_and_a_tiny_set_do_not_break_the_approximate_index() -> None:
    matrix = np.zeros((50, 4), dtype=np.float32)
    matrix[:10] = np.eye(4, dtype=np.float32)[np.arange(10) % 4]
    rows = [TrackRow(i + 1, "A", f"S{i}") for i in range(50)]
    catalogue = build(rows, matrix, approximate_above=10)
    found, sims = catalogue.search_vectors("emb", np.array([1.0, 0.0, 0.0, 0.0]), 3)
    assert set(found.tolist()) == {0, 4, 8} and np.allclose(sims, 1.0, atol=0.02)
