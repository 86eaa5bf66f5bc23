"""TrackCatalogue: the active catalogue as numpy arrays plus a FAISS index over mood positions.

Saved as a versioned directory (the version is the caller's: inference/adapter.py combines the
catalogue version with FORMAT and the versions of everything that computes track vectors):

    <dir>/meta.json          format, version, counts, approximate-index settings
    <dir>/*.npy              ids, V/A, music emotions, provenance, has-position mask (memory-mappable)
    <dir>/str_<field>.npy    artists, titles, genres and tags (the track's own words, for strategies
    <dir>/str_<field>.offsets.npy   that read text) as one UTF-8 buffer and offsets per field, so that
                             a load maps them instead of making a million Python strings (a list of
                             each, from JSON, took 467 MB for 1M tracks); read as StringColumn
    <dir>/va.faiss           IndexFlatL2 over the positioned tracks' (valence, arousal) points
    <dir>/vec_<name>.npy     named track representations computed at build time for strategies that
                             need them (e.g. predicted-feature space, joint embedding, text embedding)
    <dir>/vec_<name>.faiss   the approximate index of a representation with more than
                             `approximate_above` rows (memory-mapped on load)

Only tracks with a mood position are in the FAISS index; `candidates` never returns the others.

Vector search (search_vectors) is exact (IndexFlatIP, built on first use) up to `approximate_above`
rows. Above it, build() trains an IVF index with an 8-bit scalar quantiser on the representation itself
(nlist = 4 * sqrt(n), k-means on a sample of TRAIN_PER_LIST rows per list, rows added in chunks, so the
build holds no second float copy of the matrix). A search asks the IVF index for RERANK * k rows and
re-scores them exactly with the stored float vectors, so the quantiser only has to get the right rows
into that shortlist (alone, SQ8 could not order the near-ties of these representations: recall@10
stopped at 0.87 at any nprobe on the joint embedding at 1M tracks), and the inner products returned
are exact.

nprobe is calibrated at build time, for searches of up to 10, 100 and 1000 rows each (CALIBRATED_K: the
strategies ask for the engine's candidate pool, 500 rows or more, which spans more lists than the top
10): the smallest power of two whose recall@k against exact search reaches TARGET_RECALL, capped at the
nprobe that scans about MAX_SCANNED rows per query, so that a search never silently turns into a scan
of a large catalogue. If the cap comes first, the search keeps the cap, the recall measured there is
recorded (approximate_info: recall_by_k, calibrated_recall_at_10, target_reached false) and a warning
logged. Where the calibrated nprobe would probe half the lists or more (only in catalogues of up to
2 * MAX_SCANNED rows, where that is cheap), an exact scan of the stored vectors answers instead
(nprobe_by_k 0, recall 1.0). The calibration queries are held out from the catalogue: CALIBRATION_QUERIES
catalogue vectors each pushed off the catalogue by an equal-length random direction (q = x/|x| + g/|g|,
normalised; a query as far from its nearest track as a photo is, cosine ~0.7-0.9). Real queries are
photos projected into the track space, and they lie off the tracks: with the engine's own vectors at 1M
tracks (bench/index_scale.py --vectors real) photos needed nprobe 32 (predicted features) and 128 (joint
embedding) where held-out tracks needed 16 and 16; these perturbed queries needed the same 32 and 128.
A caller with real queries can pass them instead (build's calibration_queries).

Memory: the build holds each representation once (float32, as computed) plus its index (n * d bytes
of codes); building 1M tracks with the default strategies' two representations (12-d and 128-d) peaked
at 1.7 GB RSS, 1.2 GB of it the rows and vectors handed in. load(mmap=True) maps every array, string
column and index file in place (faiss IO_FLAG_MMAP_IFC): +2 MB RSS for 1M tracks; searches then bring
in pages of the mapped files (file-backed memory that the kernel can drop and processes share: 730 MB
after 100 searches of each kind). Figures: bench/index_scale.py.

The 2-d V/A index stays exact: its 500-nearest search over 1M points took 2.2 ms (p50, one thread, an
earlier bench/index_scale.py run; 5-12 ms on the busy shared 2-core machine).
"""

from __future__ import annotations

import functools
import itertools
import json
import logging
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, overload

import faiss
import numpy as np

from .threads import available_cpus
from .tracks import MUSIC_EMOTIONS, Provenance, track_position, va_to_music
from .types import TrackRow

logger = logging.getLogger(__name__)

FORMAT = "photophone-catalogue/3"
# Representations with more rows than this get an approximate index; fewer are searched exactly.
APPROXIMATE_ABOVE = 50_000
TARGET_RECALL = 0.95
CALIBRATION_QUERIES = 200
RECALL_K = 10
# nprobe is calibrated separately for searches of up to 10, 100 and 1000 rows: the strategies ask for the
# engine's candidate pool (500 or more), whose nearest rows span more inverted lists than the top 10.
CALIBRATED_K = (RECALL_K, 100, 1000)
# k-means training points per inverted list (faiss warns below 39).
TRAIN_PER_LIST = 40
# The IVF index proposes RERANK * k rows; the stored float vectors pick the k best of them.
RERANK = 2
# nprobe is capped where a query scans about this many rows (1M tracks, nlist 4000: nprobe 256).
MAX_SCANNED = 65_536
_ADD_CHUNK = 100_000
_STRING_CHUNK = 65_536
TAG_SEPARATOR = "\x1f"  # ASCII unit separator
# Memory-map a saved index in place, where faiss has IO_FLAG_MMAP_IFC (the lists stay plain arrays over
# the mapped file). IO_FLAG_MMAP reads IVF lists through OnDiskInvertedLists instead: 28x slower
# searches (2.8 ms instead of 0.1 ms for nprobe 32 over 60k 12-d vectors, faiss 1.15).
_MMAP_FLAG = getattr(faiss, "IO_FLAG_MMAP_IFC", faiss.IO_FLAG_MMAP)

# Computes one (n, d) float32 matrix for the rows of a catalogue (one row of output per track).
TrackRepresentation = Callable[[Sequence[TrackRow]], np.ndarray]


@dataclass
class TrackCatalogue:
    version: str
    track_ids: np.ndarray  # (n,) int64
    # Lists after build(), StringColumn / TagsColumn (memory-mapped, decoded per read) after load().
    artists: Sequence[str]
    titles: Sequence[str]
    genres: Sequence[str]
    tags: Sequence[list[str]]
    va: np.ndarray  # (n, 2) float32, NaN where the track has no position
    has_position: np.ndarray  # (n,) bool
    provenance: np.ndarray  # (n,) int8, Provenance values
    music_emotions: np.ndarray  # (n, len(MUSIC_EMOTIONS)) float32, zeros where no position
    index: faiss.Index  # over positioned rows only
    index_rows: np.ndarray  # (n_positioned,) FAISS id -> catalogue row
    # Named per-track representations, (n, d) float32 each, aligned with track_ids.
    vectors: dict[str, np.ndarray] = field(default_factory=dict)
    # Approximate indexes of the representations above the threshold, and how each was set up
    # (nlist, nprobe per k, the recall its calibration measured; see build_approximate_index).
    approximate: dict[str, faiss.Index] = field(default_factory=dict, repr=False)
    approximate_info: dict[str, dict[str, Any]] = field(default_factory=dict)
    _exact_indexes: dict[str, faiss.Index] = field(default_factory=dict, repr=False)

    # --- building -----------------------------------------------------------------------------------

    @classmethod
    def build(
        cls,
        rows: Sequence[TrackRow],
        version: str = "unversioned",
        representations: Mapping[str, TrackRepresentation] | None = None,
        approximate_above: int = APPROXIMATE_ABOVE,
        calibration_queries: Mapping[str, np.ndarray] | None = None,
    ) -> TrackCatalogue:
        """calibration_queries: per representation, (m, d) queries like the ones it will be searched
        with, for the nprobe calibration of an approximate index (default: perturbed catalogue rows)."""
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
        vectors: dict[str, np.ndarray] = {}
        approximate: dict[str, faiss.Index] = {}
        approximate_info: dict[str, dict[str, Any]] = {}
        exact: dict[str, faiss.Index] = {}
        # One representation at a time: its matrix, then its index (the index holds 8-bit codes).
        for name, compute in (representations or {}).items():
            matrix = vectors[name] = _as_matrix(name, compute(rows), n)
            queries = (calibration_queries or {}).get(name)
            searched_by, info = vector_index_for(matrix, approximate_above, queries)
            if info:
                approximate[name], approximate_info[name] = searched_by, info
                _log_calibration(name, info)
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
        with query (cosine similarity when both sides are L2-normalised), best first. Exact up to
        approximate_above rows; above it the approximate index's shortlist re-scored exactly (rows it
        misses are missing; the inner products are exact)."""
        matrix = self.vectors[name]
        if len(matrix) == 0 or k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        q = np.ascontiguousarray(np.asarray(query, dtype=np.float32).reshape(1, -1))
        if name in self.approximate:
            nprobe = nprobe_for(self.approximate_info[name], k)
            if nprobe == 0:  # calibrated to probe half the lists or more: a scan is as fast, and exact
                return exact_scan(matrix, q, k)
            return reranked_search(self.approximate[name], matrix, q, k, nprobe)[0]
        sims, found = self.vector_index(name).search(q, min(k, len(matrix)))
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
        for name, strings in (("artists", self.artists), ("titles", self.titles), ("genres", self.genres)):
            StringColumn.of(strings).save(directory, name)
        TagsColumn.of(self.tags).save(directory, "tags")
        faiss.write_index(self.index, str(directory / "va.faiss"))
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
            index=faiss.read_index(str(directory / "va.faiss"), flags),
            index_rows=np.load(directory / "index_rows.npy", mmap_mode=mode),
            vectors={
                name: np.load(directory / f"vec_{name}.npy", mmap_mode=mode)
                for name in meta.get("vectors", [])
            },
            approximate=approximate,
            approximate_info=approximate_info,
        )


class StringColumn(Sequence[str]):
    """A read-only sequence of strings held as one UTF-8 buffer and n + 1 offsets (both may be
    memory-mapped); each read decodes its string. Equal to any sequence of the same strings."""

    def __init__(self, data: np.ndarray, offsets: np.ndarray) -> None:
        self.data = data  # (total bytes,) uint8
        self.offsets = offsets  # (n + 1,) int64

    @classmethod
    def of(cls, strings: Sequence[str]) -> StringColumn:
        if isinstance(strings, StringColumn):
            return strings
        encoded = [s.encode("utf-8") for s in strings]
        offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
        np.cumsum([len(b) for b in encoded], out=offsets[1:])
        return cls(np.frombuffer(b"".join(encoded), dtype=np.uint8), offsets)

    def save(self, directory: Path, name: str) -> None:
        np.save(directory / f"str_{name}.npy", np.asarray(self.data, dtype=np.uint8))
        np.save(directory / f"str_{name}.offsets.npy", np.asarray(self.offsets, dtype=np.int64))

    @classmethod
    def load(cls, directory: Path, name: str, mode: Literal["r"] | None) -> StringColumn:
        data = np.load(directory / f"str_{name}.npy", mmap_mode=mode)
        offsets = np.load(directory / f"str_{name}.offsets.npy", mmap_mode=mode)
        return cls(data, offsets)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> list[str]: ...

    def __getitem__(self, index: int | slice) -> str | list[str]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        n = len(self)
        i = int(index) + n if index < 0 else int(index)
        if not 0 <= i < n:
            raise IndexError(f"row {index} out of range for {n} strings")
        return bytes(self.data[self.offsets[i] : self.offsets[i + 1]]).decode("utf-8")

    def __iter__(self) -> Iterator[str]:
        for start in range(0, len(self), _STRING_CHUNK):
            stop = min(len(self), start + _STRING_CHUNK)
            offsets = np.asarray(self.offsets[start : stop + 1]) - int(self.offsets[start])
            block = bytes(self.data[int(self.offsets[start]) : int(self.offsets[stop])])
            for a, b in itertools.pairwise(offsets.tolist()):
                yield block[a:b].decode("utf-8")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"StringColumn({len(self)} strings)"


class TagsColumn(Sequence[list[str]]):
    """Each track's tags, stored as a StringColumn of the tags joined by TAG_SEPARATOR (a separator
    inside a tag becomes a space). Each read is a new list."""

    def __init__(self, joined: StringColumn) -> None:
        self.joined = joined

    @classmethod
    def of(cls, tags: Sequence[Sequence[str]]) -> TagsColumn:
        if isinstance(tags, TagsColumn):
            return tags
        return cls(
            StringColumn.of([TAG_SEPARATOR.join(t.replace(TAG_SEPARATOR, " ") for t in row) for row in tags])
        )

    def save(self, directory: Path, name: str) -> None:
        self.joined.save(directory, name)

    @classmethod
    def load(cls, directory: Path, name: str, mode: Literal["r"] | None) -> TagsColumn:
        return cls(StringColumn.load(directory, name, mode))

    @staticmethod
    def _split(joined: str) -> list[str]:
        return joined.split(TAG_SEPARATOR) if joined else []

    def __len__(self) -> int:
        return len(self.joined)

    @overload
    def __getitem__(self, index: int) -> list[str]: ...

    @overload
    def __getitem__(self, index: slice) -> list[list[str]]: ...

    def __getitem__(self, index: int | slice) -> list[str] | list[list[str]]:
        if isinstance(index, slice):
            return [self._split(j) for j in self.joined[index]]
        return self._split(self.joined[index])

    def __iter__(self) -> Iterator[list[str]]:
        return (self._split(j) for j in self.joined)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str):
            return NotImplemented
        return len(self) == len(other) and all(a == list(b) for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"TagsColumn({len(self)} tracks)"


def vector_index_for(
    matrix: np.ndarray, approximate_above: int = APPROXIMATE_ABOVE, queries: np.ndarray | None = None
) -> tuple[faiss.Index, dict[str, Any]]:
    """The index a catalogue searches matrix with, and its settings: exact ({} settings) up to
    approximate_above rows, else build_approximate_index (calibrated on queries when given)."""
    if len(matrix) > approximate_above:
        return build_approximate_index(matrix, queries=queries)
    return exact_index(matrix), {}


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
        given = queries is not None and len(queries) > 0
        if queries is None or len(queries) == 0:
            queries = perturbed_queries(matrix, CALIBRATION_QUERIES, rng)
        scanned = MAX_SCANNED if max_scanned is None else max_scanned
        max_nprobe = max(1, min(nlist, math.ceil(scanned * nlist / n)))
        calibrated = _calibrate_nprobe(index, matrix, queries, target_recall, max_nprobe)
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
        "calibration_queries": len(queries),
        "calibrated_on": "given queries" if given else "perturbed catalogue rows",
    }


def nprobe_for(info: Mapping[str, Any], k: int) -> int:
    """The calibrated nprobe for a search of k rows: that of the smallest calibrated k at least k (the
    largest one beyond them); 0 means an exact scan of the vectors."""
    by_k = sorted((int(key), int(p)) for key, p in info.get("nprobe_by_k", {}).items())
    for calibrated_k, nprobe in by_k:
        if k <= calibrated_k:
            return nprobe
    return by_k[-1][1] if by_k else int(info["nprobe"])


def exact_scan(matrix: np.ndarray, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(rows, inner products) of the k rows of matrix with the largest inner product with query (1, d),
    by scanning every row (no index, no copy of the matrix)."""
    sims, found = faiss.knn(
        np.ascontiguousarray(query, dtype=np.float32),
        np.ascontiguousarray(matrix, dtype=np.float32),
        min(k, len(matrix)),
        faiss.METRIC_INNER_PRODUCT,
    )
    keep = found[0] >= 0
    return found[0][keep].astype(np.int64), sims[0][keep]


def reranked_search(
    index: faiss.Index, matrix: np.ndarray, queries: np.ndarray, k: int, nprobe: int | None = None
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per query, (rows, exact inner products) of the k best of the RERANK * k rows the approximate
    index proposes (probing nprobe lists; default: the index's own nprobe), best first (ties: lower
    row first)."""
    depth = min(len(matrix), RERANK * k)
    # Per-call parameters, not index.nprobe: threads may share the index.
    params = None
    if nprobe is not None:
        params = faiss.SearchParametersIVF()
        params.nprobe = nprobe
    _, proposed = index.search(np.ascontiguousarray(queries, dtype=np.float32), depth, params=params)
    out = []
    for q, found in zip(queries, proposed, strict=True):
        rows = np.sort(found[found >= 0]).astype(np.int64)  # sorted: the reads go forward through the file
        sims = np.asarray(matrix[rows], dtype=np.float32) @ q
        best = np.argsort(-sims, kind="stable")[:k]
        out.append((rows[best], sims[best]))
    return out


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
    """Per k of CALIBRATED_K (those below the row count, at least the first): the smallest power-of-two
    nprobe whose recall@k reaches target_recall, else max_nprobe; and the recall there."""
    ks = sorted({min(k, len(matrix)) for k in CALIBRATED_K})
    if len(queries) == 0:  # an all-zero matrix: nothing to find
        return {k: (1, 1.0) for k in ks}
    exact = exact_top_k(matrix, queries, ks[-1])
    out: dict[int, tuple[int, float]] = {}
    nprobe = 1
    for k in ks:  # a larger k needs at least the nprobe of a smaller one
        while True:
            recall = recall_at_k(index, matrix, queries, k, exact, nprobe)
            if recall >= target_recall or nprobe >= max_nprobe:
                break
            nprobe = min(2 * nprobe, max_nprobe)
        out[k] = (nprobe, round(recall, 4))
    return out


def _log_calibration(name: str, info: Mapping[str, Any]) -> None:
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


def _as_matrix(name: str, matrix: np.ndarray, n: int) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float32)
    if matrix.ndim != 2 or matrix.shape[0] != n:
        raise ValueError(f"track representation {name!r} has shape {matrix.shape}, want ({n}, d)")
    return matrix
