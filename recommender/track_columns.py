"""Catalogue tracks as columns, the way a large catalogue reaches the engine to be indexed.

A build of a million tracks reads them from the database in blocks (TrackColumns: ids, words and numbers
as arrays and lists) instead of one TrackRow with its dict of features per track, which held about
0.6 GB at 1M tracks before the build even started. TrackCatalogue.build takes TrackBlocks and keeps only
one block's Python objects at a time. A block is still a Sequence[TrackRow] (each read makes one), so
code written for rows works on it; the hot paths (mood positions, raw features, genres, track texts) read
the columns directly.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import overload

import numpy as np

from .types import TrackRow


@dataclass(frozen=True, eq=False)
class TrackColumns(Sequence[TrackRow]):
    """n tracks as columns; reading an item makes its TrackRow (unknown numbers are None there, NaN here)."""

    track_ids: np.ndarray  # (n,) int64
    artists: list[str]
    titles: list[str]
    valence: np.ndarray  # (n,) float64, NaN unknown
    arousal: np.ndarray  # (n,) float64, NaN unknown
    feature_names: tuple[str, ...]
    features: np.ndarray  # (n, len(feature_names)) float64, NaN unknown
    genres: list[str]
    tags: list[list[str]]

    def __post_init__(self) -> None:
        n = len(self.track_ids)
        sizes = {
            "artists": len(self.artists),
            "titles": len(self.titles),
            "valence": len(self.valence),
            "arousal": len(self.arousal),
            "features": len(self.features),
            "genres": len(self.genres),
            "tags": len(self.tags),
        }
        wrong = {name: size for name, size in sizes.items() if size != n}
        if wrong:
            raise ValueError(f"track columns of unequal length: {n} ids but {wrong}")
        if self.features.ndim != 2 or self.features.shape[1] != len(self.feature_names):
            raise ValueError(
                f"features have shape {self.features.shape}, want ({n}, {len(self.feature_names)})"
            )

    @classmethod
    def from_rows(cls, rows: Sequence[TrackRow], feature_names: Sequence[str] | None = None) -> TrackColumns:
        """The rows as columns (feature_names: default, every feature any row names, in first-seen order)."""
        if feature_names is None:
            feature_names = list(dict.fromkeys(name for row in rows for name in row.features))
        features = np.full((len(rows), len(feature_names)), np.nan)
        for i, row in enumerate(rows):
            for j, name in enumerate(feature_names):
                features[i, j] = _number(row.features.get(name))
        return cls(
            track_ids=np.array([r.track_id for r in rows], dtype=np.int64),
            artists=[r.artist for r in rows],
            titles=[r.title for r in rows],
            valence=np.array([_number(r.valence) for r in rows], dtype=np.float64),
            arousal=np.array([_number(r.arousal) for r in rows], dtype=np.float64),
            feature_names=tuple(feature_names),
            features=features,
            genres=[r.genre for r in rows],
            tags=[list(r.tags) for r in rows],
        )

    def feature(self, name: str) -> np.ndarray:
        """(n,) float64 column of one feature, all NaN when the block does not carry it."""
        if name in self.feature_names:
            return self.features[:, self.feature_names.index(name)]
        return np.full(len(self), np.nan)

    def __len__(self) -> int:
        return len(self.track_ids)

    @overload
    def __getitem__(self, index: int) -> TrackRow: ...

    @overload
    def __getitem__(self, index: slice) -> list[TrackRow]: ...

    def __getitem__(self, index: int | slice) -> TrackRow | list[TrackRow]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        i = range(len(self))[index]
        return TrackRow(
            track_id=int(self.track_ids[i]),
            artist=self.artists[i],
            title=self.titles[i],
            valence=_optional(self.valence[i]),
            arousal=_optional(self.arousal[i]),
            features={
                name: _optional(v) for name, v in zip(self.feature_names, self.features[i], strict=True)
            },
            genre=self.genres[i],
            tags=list(self.tags[i]),
        )

    def __iter__(self) -> Iterator[TrackRow]:
        return (self[i] for i in range(len(self)))


class TrackBlocks:
    """A catalogue handed over as blocks of TrackColumns (TrackCatalogue.build reads them once, in order)."""

    def __init__(self, blocks: Iterable[TrackColumns]) -> None:
        self._blocks = blocks

    def __iter__(self) -> Iterator[TrackColumns]:
        return iter(self._blocks)


def _number(value: float | None) -> float:
    return math.nan if value is None else float(value)


def _optional(value: float) -> float | None:
    return None if math.isnan(value) else float(value)
