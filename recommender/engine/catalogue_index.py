"""TrackCatalogue: the active catalogue as numpy arrays plus a FAISS index over mood positions.

Saved as a versioned directory (the version is the caller's catalogue fingerprint):

    <dir>/meta.json        format, version, counts
    <dir>/*.npy            ids, V/A, music emotions, provenance, has-position mask (memory-mappable)
    <dir>/strings.json     artists and titles
    <dir>/va.faiss         IndexFlatL2 over the positioned tracks' (valence, arousal) points
    <dir>/vec_<name>.npy   named track representations computed at build time for strategies that
                           need them (e.g. predicted-feature space, joint embedding, text embedding)

Only tracks with a mood position are in the FAISS index; `candidates` never returns the others.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import faiss
import numpy as np

from .tracks import MUSIC_EMOTIONS, Provenance, track_position, va_to_music
from .types import TrackRow

FORMAT = "photophone-catalogue/1"

# Computes one (n, d) float32 matrix for the rows of a catalogue (one row of output per track).
TrackRepresentation = Callable[[Sequence[TrackRow]], np.ndarray]


@dataclass
class TrackCatalogue:
    version: str
    track_ids: np.ndarray  # (n,) int64
    artists: list[str]
    titles: list[str]
    va: np.ndarray  # (n, 2) float32, NaN where the track has no position
    has_position: np.ndarray  # (n,) bool
    provenance: np.ndarray  # (n,) int8, Provenance values
    music_emotions: np.ndarray  # (n, len(MUSIC_EMOTIONS)) float32, zeros where no position
    index: faiss.Index  # over positioned rows only
    index_rows: np.ndarray  # (n_positioned,) FAISS id -> catalogue row
    # Named per-track representations, (n, d) float32 each, aligned with track_ids.
    vectors: dict[str, np.ndarray] = field(default_factory=dict)
    _vector_indexes: dict[str, faiss.Index] = field(default_factory=dict, repr=False)

    # --- building -----------------------------------------------------------------------------------

    @classmethod
    def build(
        cls,
        rows: Sequence[TrackRow],
        version: str = "unversioned",
        representations: Mapping[str, TrackRepresentation] | None = None,
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
        return cls(
            version=version,
            track_ids=np.array([r.track_id for r in rows], dtype=np.int64),
            artists=[r.artist for r in rows],
            titles=[r.title for r in rows],
            va=va,
            has_position=has_position,
            provenance=provenance,
            music_emotions=music,
            index=index,
            index_rows=index_rows,
            vectors={
                name: _as_matrix(name, compute(rows), n) for name, compute in (representations or {}).items()
            },
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

    def search_vectors(self, name: str, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(rows, inner products) of the k tracks whose `name` vector has the largest inner product
        with query (cosine similarity when both sides are L2-normalised). Exact (IndexFlatIP)."""
        matrix = self.vectors[name]
        if len(matrix) == 0 or k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        index = self._vector_indexes.get(name)
        if index is None:
            index = faiss.IndexFlatIP(matrix.shape[1])
            index.add(np.ascontiguousarray(matrix, dtype=np.float32))
            self._vector_indexes[name] = index
        sims, found = index.search(
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
        (directory / "strings.json").write_text(json.dumps({"artists": self.artists, "titles": self.titles}))
        faiss.write_index(self.index, str(directory / "va.faiss"))
        for name, matrix in self.vectors.items():
            np.save(directory / f"vec_{name}.npy", np.ascontiguousarray(matrix, dtype=np.float32))
        meta = {
            "format": FORMAT,
            "version": self.version,
            "tracks": len(self),
            "positioned": self.positioned_count,
            "music_emotions": list(MUSIC_EMOTIONS),
            "vectors": sorted(self.vectors),
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
        return cls(
            version=str(meta["version"]),
            track_ids=np.load(directory / "track_ids.npy", mmap_mode=mode),
            artists=list(strings["artists"]),
            titles=list(strings["titles"]),
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
        )


def _as_matrix(name: str, matrix: np.ndarray, n: int) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float32)
    if matrix.ndim != 2 or matrix.shape[0] != n:
        raise ValueError(f"track representation {name!r} has shape {matrix.shape}, want ({n}, d)")
    return matrix
