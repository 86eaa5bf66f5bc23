"""TrackCatalogue: the active catalogue as numpy arrays, and FAISS indexes for its large representations.

Saved as a versioned directory (the version is the caller's: inference/adapter.py combines the
catalogue version with FORMAT and the versions of everything that computes track vectors):

    <dir>/meta.json          format, version, counts, approximate-index settings
    <dir>/*.npy              ids, V/A, music emotions, provenance, has-position mask (memory-mappable)
    <dir>/str_<field>.npy    artists, titles, genres and tags (the track's own words, for strategies
    <dir>/str_<field>.offsets.npy   that read text) as one UTF-8 buffer and offsets per field, so that
                             a load maps them instead of making a million Python strings (a list of
                             each, from JSON, took 467 MB for 1M tracks); read as StringColumn
    <dir>/vec_<name>.npy     named track representations computed at build time for strategies that
                             need them (e.g. predicted-feature space, joint embedding, text embedding)
    <dir>/vec_<name>.faiss   the approximate index of a representation with more than
                             `approximate_above` rows (memory-mapped on load)

`candidates` (the tracks nearest a target V/A) is an exact partial sort over the positioned tracks and
never returns the others.

Vector search: vector_search.py (exact up to `approximate_above` rows, else IVF-SQ8 proposals re-ranked
exactly, nprobe calibrated at build time). Words: string_columns.py.

Memory: a large catalogue arrives in blocks (TrackBlocks of TrackColumns, from the adapter): each
block's words, positions and vectors are taken and its rows dropped before the next is read, so no
TrackRow per track is ever held. The build holds each representation once (float32; its blocks are
freed as they are joined) plus its index (n * d bytes of codes). load(mmap=True) maps every array, string
column and index file in place (faiss IO_FLAG_MMAP_IFC): +2 MB RSS for 1M tracks; searches then bring
in pages of the mapped files (file-backed memory that the kernel can drop and processes share: 730 MB
after 100 searches of each kind). Figures: bench/index_scale.py.

The 2-d V/A index stays exact: its 500-nearest search over 1M points took 2.2 ms (p50, one thread, an
earlier bench/index_scale.py run; 5-12 ms on the busy shared 2-core machine).
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import faiss
import numpy as np

from .string_columns import StringColumn, StringColumnWriter, TagsColumn, joined_tags
from .track_columns import TrackBlocks, TrackColumns
from .tracks import MUSIC_EMOTIONS, Provenance, track_positions, va_to_music
from .types import TrackRow
from .vector_search import (
    APPROXIMATE_ABOVE,
    GPU_MAX_K,
    build_approximate_index,
    exact_gpu_index,
    exact_scan,
    gpu_search_available,
    log_calibration,
    nprobe_for,
    reranked_search,
)

logger = logging.getLogger(__name__)

FORMAT = "photophone-catalogue/4"
# Memory-map a saved index in place, where faiss has IO_FLAG_MMAP_IFC (the lists stay plain arrays over
# the mapped file). IO_FLAG_MMAP reads IVF lists through OnDiskInvertedLists instead: 28x slower
# searches (2.8 ms instead of 0.1 ms for nprobe 32 over 60k 12-d vectors, faiss 1.15).
_MMAP_FLAG = getattr(faiss, "IO_FLAG_MMAP_IFC", faiss.IO_FLAG_MMAP)
# Rows per step when a representation's matrix is read whole (vector_seen).
_SEEN_CHUNK = 65_536

# Computes one (n, d) float32 matrix for the rows of a catalogue (one row of output per track).
TrackRepresentation = Callable[[Sequence[TrackRow]], np.ndarray]


@dataclass
class TrackCatalogue:
    version: str
    track_ids: np.ndarray  # (n,) int64
    # StringColumn / TagsColumn: in memory after build(), memory-mapped after load(); decoded per read.
    artists: Sequence[str]
    titles: Sequence[str]
    genres: Sequence[str]
    tags: Sequence[list[str]]
    va: np.ndarray  # (n, 2) float32, NaN where the track has no position
    has_position: np.ndarray  # (n,) bool
    provenance: np.ndarray  # (n,) int8, Provenance values
    music_emotions: np.ndarray  # (n, len(MUSIC_EMOTIONS)) float32, zeros where no position
    index_rows: np.ndarray  # (n_positioned,) the catalogue rows of the tracks with a mood position
    # Named per-track representations, (n, d) float32 each, aligned with track_ids.
    vectors: dict[str, np.ndarray] = field(default_factory=dict)
    # Approximate indexes of the representations above the threshold, and how each was set up
    # (nlist, nprobe per k, the recall its calibration measured; see build_approximate_index).
    approximate: dict[str, faiss.Index] = field(default_factory=dict, repr=False)
    approximate_info: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Exact indexes of the representations on a GPU, when the engine runs there (use_gpu); not saved.
    on_gpu: dict[str, faiss.Index] = field(default_factory=dict, repr=False)

    # --- building -----------------------------------------------------------------------------------

    @classmethod
    def build(
        cls,
        rows: Sequence[TrackRow] | TrackBlocks,
        version: str = "unversioned",
        representations: Mapping[str, TrackRepresentation] | None = None,
        approximate_above: int = APPROXIMATE_ABOVE,
        calibration_queries: Mapping[str, np.ndarray] | None = None,
    ) -> TrackCatalogue:
        """rows: the tracks, or TrackBlocks (a large catalogue read in blocks: each block's positions,
        words and representations are computed and its rows dropped before the next is read; the
        result is the same). calibration_queries: per representation, (m, d) queries like the ones it
        will be searched with, for the nprobe calibration of an approximate index (default: perturbed
        catalogue rows)."""
        blocks: Iterable[Sequence[TrackRow]] = rows if isinstance(rows, TrackBlocks) else [rows]
        ids: list[np.ndarray] = []
        va: list[np.ndarray] = []
        provenance: list[np.ndarray] = []
        words = {name: StringColumnWriter() for name in ("artists", "titles", "genres", "tags")}
        parts: dict[str, list[np.ndarray]] = {name: [] for name in representations or {}}
        for block in blocks:
            if isinstance(block, TrackColumns):
                ids.append(np.asarray(block.track_ids, dtype=np.int64))
                artists, titles, genres, tags = block.artists, block.titles, block.genres, block.tags
            else:
                ids.append(np.array([r.track_id for r in block], dtype=np.int64))
                artists, titles = [r.artist for r in block], [r.title for r in block]
                genres, tags = [r.genre for r in block], [r.tags for r in block]
            words["artists"].add(artists)
            words["titles"].add(titles)
            words["genres"].add(genres)
            words["tags"].add(joined_tags(tags))
            block_va, block_provenance = track_positions(block)
            va.append(block_va)
            provenance.append(block_provenance)
            for name, compute in (representations or {}).items():
                parts[name].append(_as_matrix(name, compute(block), len(block)))
        track_ids = np.concatenate(ids) if ids else np.zeros(0, dtype=np.int64)
        n = len(track_ids)
        all_va = np.concatenate(va) if va else np.zeros((0, 2), dtype=np.float32)
        all_provenance = np.concatenate(provenance) if provenance else np.zeros(0, dtype=np.int8)
        has_position = all_provenance != Provenance.NONE
        music = np.zeros((n, len(MUSIC_EMOTIONS)), dtype=np.float32)
        if has_position.any():
            music[has_position] = va_to_music(all_va[has_position]).astype(np.float32)
        vectors: dict[str, np.ndarray] = {}
        approximate: dict[str, faiss.Index] = {}
        approximate_info: dict[str, dict[str, Any]] = {}
        # One representation at a time: its matrix, then its index (the index holds 8-bit codes). Up to
        # approximate_above rows a representation needs no index: it is scanned exactly.
        for name, compute in (representations or {}).items():
            blocks_of = parts.pop(name)
            empty = not blocks_of
            matrix = vectors[name] = _as_matrix(name, compute([]), 0) if empty else _joined(name, blocks_of)
            if len(matrix) > approximate_above:
                queries = (calibration_queries or {}).get(name)
                approximate[name], approximate_info[name] = build_approximate_index(matrix, queries=queries)
                log_calibration(name, approximate_info[name])
        return cls(
            version=version,
            track_ids=track_ids,
            artists=words["artists"].finish(),
            titles=words["titles"].finish(),
            genres=words["genres"].finish(),
            tags=TagsColumn(words["tags"].finish()),
            va=all_va,
            has_position=has_position,
            provenance=all_provenance,
            music_emotions=music,
            index_rows=np.flatnonzero(has_position).astype(np.int64),
            vectors=vectors,
            approximate=approximate,
            approximate_info=approximate_info,
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
    def _id_order(self) -> tuple[np.ndarray, np.ndarray]:
        """(track ids sorted, the row of each): 16 bytes a track, where a dict took ~100."""
        ids = np.asarray(self.track_ids, dtype=np.int64)
        order = np.argsort(ids, kind="stable")
        return ids[order], order

    def row_of(self, track_ids: Sequence[int]) -> dict[int, int]:
        """track id -> catalogue row, for the ids present (the last row of an id listed twice)."""
        wanted = np.fromiter((int(t) for t in track_ids), dtype=np.int64)
        if len(wanted) == 0 or len(self.track_ids) == 0:
            return {}
        ids, order = self._id_order
        at = np.searchsorted(ids, wanted, side="right") - 1
        found = (at >= 0) & (ids[np.maximum(at, 0)] == wanted)
        return {int(t): int(order[i]) for t, i, ok in zip(wanted, at, found, strict=True) if ok}

    # --- querying -----------------------------------------------------------------------------------

    def candidates(self, target_va: tuple[float, float], k: int) -> np.ndarray:
        """Catalogue rows of the k positioned tracks nearest to target_va (all of them when k >= count)."""
        count = self.positioned_count
        if count == 0 or k <= 0:
            return np.zeros(0, dtype=np.int64)
        if k >= count:
            return self.index_rows.copy()
        _, found = self._va_index.search(np.array([target_va], dtype=np.float32), k)
        return self.index_rows[found[0][found[0] >= 0]]

    @functools.cached_property
    def _va_index(self) -> faiss.Index:
        """Exact L2 search over the positioned tracks' (valence, arousal), built in memory on first use
        (1M points in a few ms; its heap selection beat a numpy partial sort 8 vs 24 ms at 1M, 0.4 vs
        0.7 ms at 28k for k = 500, one thread)."""
        index = faiss.IndexFlatL2(2)
        if len(self.index_rows):
            index.add(np.ascontiguousarray(np.asarray(self.va)[self.index_rows], dtype=np.float32))
        return index

    def use_gpu(self) -> bool:
        """Search every representation exactly on the GPU from now on (faiss-gpu). False, and the searches
        stay on the CPU, where this faiss has no GPU support or sees no GPU."""
        if not gpu_search_available():
            return False
        for name, matrix in self.vectors.items():
            if len(matrix) and name not in self.on_gpu:
                self.on_gpu[name] = exact_gpu_index(np.asarray(matrix, dtype=np.float32))
        return True

    def vector_seen(self, name: str) -> np.ndarray:
        """(n,) bool: the tracks whose `name` vector is not all zeros (a strategy that reads the vectors
        abstains for the others). Computed once per catalogue object, in chunks (the matrix may be
        memory-mapped), instead of an absolute-value copy of the whole matrix for every photo."""
        seen = self._seen_by_name.get(name)
        if seen is None:
            matrix = self.vectors[name]
            ones = np.ones(matrix.shape[1], dtype=np.float32)
            seen = np.zeros(len(matrix), dtype=bool)
            for start in range(0, len(matrix), _SEEN_CHUNK):
                chunk = np.abs(np.asarray(matrix[start : start + _SEEN_CHUNK]))
                seen[start : start + len(chunk)] = chunk @ ones > 1e-6
            self._seen_by_name[name] = seen
        return seen

    @functools.cached_property
    def _seen_by_name(self) -> dict[str, np.ndarray]:
        return {}

    def vector_index(self, name: str) -> faiss.Index:
        """The approximate index of `name` (KeyError for a representation searched exactly)."""
        return self.approximate[name]

    def search_vectors(self, name: str, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(rows, inner products) of the k tracks whose `name` vector has the largest inner product
        with query (cosine similarity when both sides are L2-normalised), best first. Exact up to
        approximate_above rows; above it the approximate index's shortlist re-scored exactly (rows it
        misses are missing; the inner products are exact)."""
        matrix = self.vectors[name]
        if len(matrix) == 0 or k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        q = np.ascontiguousarray(np.asarray(query, dtype=np.float32).reshape(1, -1))
        if name in self.on_gpu and k <= GPU_MAX_K:
            sims, found = self.on_gpu[name].search(q, min(k, len(matrix)))
            keep = found[0] >= 0
            return found[0][keep].astype(np.int64), sims[0][keep]
        if name in self.approximate:
            nprobe = nprobe_for(self.approximate_info[name], k)
            if nprobe == 0:  # calibrated to probe half the lists or more: a scan is as fast, and exact
                return exact_scan(matrix, q, k)
            return reranked_search(self.approximate[name], matrix, q, k, nprobe)[0]
        return exact_scan(matrix, q, k)

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
        for name, strings in (("artists", self.artists), ("titles", self.titles), ("genres", self.genres)):
            StringColumn.of(strings).save(directory, name)
        TagsColumn.of(self.tags).save(directory, "tags")
        for name, matrix in self.vectors.items():
            np.save(directory / f"vec_{name}.npy", np.asarray(matrix, dtype=np.float32))
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
        """The saved catalogue; with mmap (default) its arrays, track vectors and approximate indexes
        are memory-mapped (read from disk as searches touch them) instead of read into memory."""
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
        flags = _MMAP_FLAG if mmap else 0
        approximate_info = {name: dict(info) for name, info in meta.get("approximate", {}).items()}
        approximate = {}
        for name, info in approximate_info.items():
            approximate[name] = faiss.read_index(str(directory / f"vec_{name}.faiss"), flags)
            faiss.extract_index_ivf(approximate[name]).nprobe = max(1, int(info["nprobe"]))
        return cls(
            version=str(meta["version"]),
            track_ids=np.load(directory / "track_ids.npy", mmap_mode=mode),
            artists=StringColumn.load(directory, "artists", mode),
            titles=StringColumn.load(directory, "titles", mode),
            genres=StringColumn.load(directory, "genres", mode),
            tags=TagsColumn.load(directory, "tags", mode),
            va=np.load(directory / "va.npy", mmap_mode=mode),
            has_position=np.load(directory / "has_position.npy", mmap_mode=mode),
            provenance=np.load(directory / "provenance.npy", mmap_mode=mode),
            music_emotions=np.load(directory / "music_emotions.npy", mmap_mode=mode),
            index_rows=np.load(directory / "index_rows.npy", mmap_mode=mode),
            vectors={
                name: np.load(directory / f"vec_{name}.npy", mmap_mode=mode)
                for name in meta.get("vectors", [])
            },
            approximate=approximate,
            approximate_info=approximate_info,
        )


def _joined(name: str, blocks: list[np.ndarray]) -> np.ndarray:
    """The blocks (emptied) stacked into one matrix. Each block is freed once copied, and the result's
    pages are only touched as they are written, so the representation is never held twice."""
    dims = {b.shape[1] for b in blocks}
    if len(dims) != 1:
        raise ValueError(f"track representation {name!r} has blocks of widths {sorted(dims)}")
    out = np.empty((sum(len(b) for b in blocks), dims.pop()), dtype=np.float32)
    start = 0
    blocks.reverse()
    while blocks:
        block = blocks.pop()
        out[start : start + len(block)] = block
        start += len(block)
    return out


def _as_matrix(name: str, matrix: np.ndarray, n: int) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float32)
    if matrix.ndim != 2 or matrix.shape[0] != n:
        raise ValueError(f"track representation {name!r} has shape {matrix.shape}, want ({n}, d)")
    return matrix
