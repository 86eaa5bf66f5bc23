"""TrackCatalogue: the active catalogue as numpy arrays plus a FAISS index over mood positions.

Saved as a versioned directory (the version is the caller's: runtime.py combines the catalogue
fingerprint with the versions of everything that computes track vectors):

    <dir>/meta.json          format, version, counts, approximate-index settings
    <dir>/*.npy              ids, V/A, music emotions, provenance, has-position mask (memory-mappable)
    <dir>/strings.json       artists, titles, genres and tags (the track's own words, for strategies
                             that read text)
    <dir>/va.faiss           IndexFlatL2 over the positioned tracks' (valence, arousal) points
    <dir>/vec_<name>.npy     named track representations computed at build time for strategies that
                             need them (e.g. predicted-feature space, joint embedding, text embedding)
    <dir>/vec_<name>.faiss   the approximate index of a representation with more than
                             `approximate_above` rows (memory-mapped on load)

Only tracks with a mood position are in the FAISS index; `candidates` never returns the others.

Vector search (search_vectors) is exact (IndexFlatIP, built on first use) up to `approximate_above`
rows. Above it, build() trains an IVF index with an 8-bit scalar quantiser on the representation itself
(nlist = 4 * sqrt(n)) and picks the smallest power-of-two nprobe whose recall@10 reaches TARGET_RECALL,
measured against exact search for CALIBRATION_QUERIES of the catalogue's own (non-zero) vectors used as
queries, each query's own row left out (real queries are photos, so their recall may differ; the bench
reports held-out recall). The 2-d V/A index stays exact: its 500-nearest search over 1M points took
2.2 ms (p50, one thread, bench/index_scale.py).
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import faiss
import numpy as np

from .threads import available_cpus
from .tracks import MUSIC_EMOTIONS, Provenance, track_position, va_to_music
from .types import TrackRow

FORMAT = "photophone-catalogue/2"
# Representations with more rows than this get an approximate index; fewer are searched exactly.
APPROXIMATE_ABOVE = 50_000
TARGET_RECALL = 0.95
CALIBRATION_QUERIES = 200
RECALL_K = 10
# k-means training points per inverted list (faiss warns below 39).
TRAIN_PER_LIST = 50
_ADD_CHUNK = 100_000

# Computes one (n, d) float32 matrix for the rows of a catalogue (one row of output per track).
TrackRepresentation = Callable[[Sequence[TrackRow]], np.ndarray]


@dataclass
class TrackCatalogue:
    version: str
    track_ids: np.ndarray  # (n,) int64
    artists: list[str]
    titles: list[str]
    genres: list[str]
    tags: list[list[str]]
    va: np.ndarray  # (n, 2) float32, NaN where the track has no position
    has_position: np.ndarray  # (n,) bool
    provenance: np.ndarray  # (n,) int8, Provenance values
    music_emotions: np.ndarray  # (n, len(MUSIC_EMOTIONS)) float32, zeros where no position
    index: faiss.Index  # over positioned rows only
    index_rows: np.ndarray  # (n_positioned,) FAISS id -> catalogue row
    # Named per-track representations, (n, d) float32 each, aligned with track_ids.
    vectors: dict[str, np.ndarray] = field(default_factory=dict)
    # Approximate indexes of the representations above the threshold, and how each was set up.
    approximate: dict[str, faiss.Index] = field(default_factory=dict, repr=False)
    approximate_info: dict[str, dict[str, float]] = field(default_factory=dict)
    _exact_indexes: dict[str, faiss.Index] = field(default_factory=dict, repr=False)

    # --- building -----------------------------------------------------------------------------------

    @classmethod
    def build(
        cls,
        rows: Sequence[TrackRow],
        version: str = "unversioned",
        representations: Mapping[str, TrackRepresentation] | None = None,
        approximate_above: int = APPROXIMATE_ABOVE,
    ) -> TrackCatalogue:
        n = len(rows)
        va = np.full((n, 2), np.nan, dtype=np.float32)
        provenance = np.zeros(n, dtype=np.int8)
        for i, row in enumerate(rows):
            pos = track_position(row)
            if pos is not None:
                va[i] = pos[:2]
                provenance[i] = int(pos[2])
        has_position = provenance != Provenance.NONE
        music = np.zeros((n, len(MUSIC_EMOTIONS)), dtype=np.float32)
        if has_position.any():
            music[has_position] = va_to_music(va[has_position]).astype(np.float32)
        index_rows = np.flatnonzero(has_position).astype(np.int64)
        index = faiss.IndexFlatL2(2)
        if len(index_rows):
            index.add(np.ascontiguousarray(va[index_rows], dtype=np.float32))
        vectors = {
            name: _as_matrix(name, compute(rows), n) for name, compute in (representations or {}).items()
        }
        approximate: dict[str, faiss.Index] = {}
        approximate_info: dict[str, dict[str, float]] = {}
        exact: dict[str, faiss.Index] = {}
        for name, matrix in vectors.items():
            searched_by, info = vector_index_for(matrix, approximate_above)
            if info:
                approximate[name], approximate_info[name] = searched_by, info
            else:
                exact[name] = searched_by
        return cls(
            version=version,
            track_ids=np.array([r.track_id for r in rows], dtype=np.int64),
            artists=[r.artist for r in rows],
            titles=[r.title for r in rows],
            genres=[r.genre for r in rows],
            tags=[list(r.tags) for r in rows],
            va=va,
            has_position=has_position,
            provenance=provenance,
            music_emotions=music,
            index=index,
            index_rows=index_rows,
            vectors=vectors,
            approximate=approximate,
            approximate_info=approximate_info,
            _exact_indexes=exact,
        )

    def __len__(self) -> int:
        return len(self.track_ids)

    @property
    def positioned_count(self) -> int:
        return len(self.index_rows)

    @functools.cached_property
    def arousal_stats(self) -> tuple[float, float] | None:
        """(mean, sd) of positioned tracks' arousal, or None with fewer than two positioned tracks."""
        if self.positioned_count < 2:
            return None
        a = np.asarray(self.va)[np.asarray(self.index_rows), 1].astype(np.float64)
        return float(a.mean()), float(a.std())

    @functools.cached_property
    def _row_lookup(self) -> dict[int, int]:
        return {int(t): i for i, t in enumerate(self.track_ids.tolist())}

    def row_of(self, track_ids: Sequence[int]) -> dict[int, int]:
        """track id -> catalogue row, for the ids present."""
        lookup = self._row_lookup
        return {int(t): lookup[int(t)] for t in track_ids if int(t) in lookup}

    # --- querying -----------------------------------------------------------------------------------

    def candidates(self, target_va: tuple[float, float], k: int) -> np.ndarray:
        """Catalogue rows of the k positioned tracks nearest to target_va (all of them when k >= count)."""
        count = self.positioned_count
        if count == 0 or k <= 0:
            return np.zeros(0, dtype=np.int64)
        if k >= count:
            return self.index_rows.copy()
        query = np.array([target_va], dtype=np.float32)
        _, found = self.index.search(query, k)
        found = found[0]
        return self.index_rows[found[found >= 0]]

    def vector_index(self, name: str) -> faiss.Index:
        """The index search_vectors uses for `name`: the approximate one when built, else exact."""
        if name in self.approximate:
            return self.approximate[name]
        if name not in self._exact_indexes:
            self._exact_indexes[name] = exact_index(self.vectors[name])
        return self._exact_indexes[name]

    def search_vectors(self, name: str, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(rows, inner products) of the k tracks whose `name` vector has the largest inner product
        with query (cosine similarity when both sides are L2-normalised). Exact up to approximate_above
        rows; above it approximate, with inner products from the quantised vectors."""
        matrix = self.vectors[name]
        if len(matrix) == 0 or k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        sims, found = self.vector_index(name).search(
            np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32), min(k, len(matrix))
        )
        keep = found[0] >= 0
        return found[0][keep].astype(np.int64), sims[0][keep]

    # --- persistence --------------------------------------------------------------------------------

    def save(self, directory: Path | str) -> Path:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        np.save(directory / "track_ids.npy", self.track_ids)
        np.save(directory / "va.npy", self.va)
        np.save(directory / "has_position.npy", self.has_position)
        np.save(directory / "provenance.npy", self.provenance)
        np.save(directory / "music_emotions.npy", self.music_emotions)
        np.save(directory / "index_rows.npy", self.index_rows)
        strings = {"artists": self.artists, "titles": self.titles, "genres": self.genres, "tags": self.tags}
        (directory / "strings.json").write_text(json.dumps(strings))
        faiss.write_index(self.index, str(directory / "va.faiss"))
        for name, matrix in self.vectors.items():
            np.save(directory / f"vec_{name}.npy", np.ascontiguousarray(matrix, dtype=np.float32))
        for name, index in self.approximate.items():
            faiss.write_index(index, str(directory / f"vec_{name}.faiss"))
        meta = {
            "format": FORMAT,
            "version": self.version,
            "tracks": len(self),
            "positioned": self.positioned_count,
            "music_emotions": list(MUSIC_EMOTIONS),
            "vectors": sorted(self.vectors),
            "approximate": self.approximate_info,
        }
        # meta.json last: a directory without it is an unfinished write.
        (directory / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
        return directory

    @staticmethod
    def read_version(directory: Path | str) -> str | None:
        """The saved version, or None if there is no finished catalogue there."""
        meta = Path(directory) / "meta.json"
        if not meta.is_file():
            return None
        return str(json.loads(meta.read_text()).get("version"))

    @classmethod
    def load(cls, directory: Path | str, *, mmap: bool = True) -> TrackCatalogue:
        directory = Path(directory)
        meta_path = directory / "meta.json"
        if not meta_path.is_file():
            raise FileNotFoundError(f"no catalogue index at {directory} (meta.json missing)")
        meta = json.loads(meta_path.read_text())
        if meta.get("format") != FORMAT:
            raise ValueError(
                f"catalogue index at {directory} has format {meta.get('format')!r}, want {FORMAT}"
            )
        if list(meta.get("music_emotions", [])) != list(MUSIC_EMOTIONS):
            raise ValueError(
                f"catalogue index at {directory} uses another music-emotion vocabulary; rebuild it"
            )
        mode: Literal["r"] | None = "r" if mmap else None
        strings = json.loads((directory / "strings.json").read_text())
        flags = faiss.IO_FLAG_MMAP if mmap else 0
        approximate_info = {name: dict(info) for name, info in meta.get("approximate", {}).items()}
        approximate = {}
        for name, info in approximate_info.items():
            approximate[name] = faiss.read_index(str(directory / f"vec_{name}.faiss"), flags)
            faiss.extract_index_ivf(approximate[name]).nprobe = int(info["nprobe"])
        return cls(
            version=str(meta["version"]),
            track_ids=np.load(directory / "track_ids.npy", mmap_mode=mode),
            artists=list(strings["artists"]),
            titles=list(strings["titles"]),
            genres=list(strings["genres"]),
            tags=[list(t) for t in strings["tags"]],
            va=np.load(directory / "va.npy", mmap_mode=mode),
            has_position=np.load(directory / "has_position.npy", mmap_mode=mode),
            provenance=np.load(directory / "provenance.npy", mmap_mode=mode),
            music_emotions=np.load(directory / "music_emotions.npy", mmap_mode=mode),
            index=faiss.read_index(str(directory / "va.faiss"), flags),
            index_rows=np.load(directory / "index_rows.npy", mmap_mode=mode),
            vectors={
                name: np.load(directory / f"vec_{name}.npy", mmap_mode=mode)
                for name in meta.get("vectors", [])
            },
            approximate=approximate,
            approximate_info=approximate_info,
        )


def vector_index_for(
    matrix: np.ndarray, approximate_above: int = APPROXIMATE_ABOVE
) -> tuple[faiss.Index, dict[str, float]]:
    """The index a catalogue searches matrix with, and its settings: exact ({} settings) up to
    approximate_above rows, else build_approximate_index."""
    if len(matrix) > approximate_above:
        return build_approximate_index(matrix)
    return exact_index(matrix), {}


def exact_index(matrix: np.ndarray) -> faiss.Index:
    index = faiss.IndexFlatIP(matrix.shape[1])
    for start in range(0, len(matrix), _ADD_CHUNK):
        index.add(np.ascontiguousarray(matrix[start : start + _ADD_CHUNK], dtype=np.float32))
    return index


def build_approximate_index(
    matrix: np.ndarray, target_recall: float = TARGET_RECALL, seed: int = 0
) -> tuple[faiss.Index, dict[str, float]]:
    """IVF (nlist = 4 * sqrt(n)) with 8-bit scalar quantisation over matrix, inner product, nprobe
    calibrated to target_recall (module docstring); returns the index and its settings."""
    matrix = np.ascontiguousarray(matrix, dtype=np.float32)
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
        index.train(matrix[sample])
        for start in range(0, n, _ADD_CHUNK):
            index.add(matrix[start : start + _ADD_CHUNK])
        nprobe, recall = _calibrate_nprobe(index, matrix, target_recall, rng)
    finally:
        faiss.omp_set_num_threads(threads)
    index.nprobe = nprobe
    return index, {"nlist": nlist, "nprobe": nprobe, "calibrated_recall_at_10": recall}


def _calibrate_nprobe(
    index: faiss.IndexIVF, matrix: np.ndarray, target_recall: float, rng: np.random.Generator
) -> tuple[int, float]:
    """The smallest power-of-two nprobe (or nlist) reaching target_recall, and the recall it reached."""
    nonzero = np.flatnonzero(np.linalg.norm(matrix, axis=1) > 1e-6)
    if len(nonzero) == 0:
        return index.nlist, 1.0
    query_rows = np.sort(rng.choice(nonzero, min(len(nonzero), CALIBRATION_QUERIES), replace=False))
    queries = matrix[query_rows]
    k = min(RECALL_K, len(matrix) - 1)
    if k < 1:
        return index.nlist, 1.0
    exact_sims, _ = faiss.knn(queries, matrix, k + 1, faiss.METRIC_INNER_PRODUCT)
    # A found row counts when it is at least as close as the exact k-th neighbour (ties are equal hits).
    threshold = exact_sims[:, k] - 1e-5
    nprobe, recall = 1, 0.0
    while True:
        index.nprobe = nprobe
        _, found = index.search(queries, k + 1)
        hits = 0
        for i, row in enumerate(query_rows):
            others = [int(r) for r in found[i] if r >= 0 and r != row][:k]
            hits += int(np.count_nonzero(matrix[others] @ queries[i] >= threshold[i]))
        recall = hits / (k * len(query_rows))
        if recall >= target_recall or nprobe >= index.nlist:
            return nprobe, round(recall, 4)
        nprobe = min(2 * nprobe, index.nlist)


def _as_matrix(name: str, matrix: np.ndarray, n: int) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float32)
    if matrix.ndim != 2 or matrix.shape[0] != n:
        raise ValueError(f"track representation {name!r} has shape {matrix.shape}, want ({n}, d)")
    return matrix
