"""The Strategy protocol: one way to score (photo, track) pairs over a candidate set."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from ..catalogue_index import TrackCatalogue, TrackRepresentation
from ..types import PhotoAnalysis

Explain = Callable[[np.ndarray], list[str]]


def dot_rows(matrix: np.ndarray, query: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """matrix[rows] @ query. When rows are most of the matrix (a whole-catalogue request) the product runs
    over the matrix as it lies (memory-mapped) and is indexed after, instead of copying the rows first."""
    if 4 * len(rows) >= len(matrix):
        return np.asarray(matrix @ query)[rows]
    return np.asarray(matrix[rows] @ query)


class StrategyResult:
    """A strategy's scores for every candidate, and its reasons for the candidates that are shown.

    Scores are arrays over the whole candidate set; words are built only for the positions asked for
    (reasons_for), because writing text for a whole catalogue costs far more than scoring it. A strategy
    passes either the reasons as a list (one per candidate) or a function from positions to reasons.
    "" means the strategy has nothing to say about that candidate.

    seen: which candidates the strategy can judge at all (None: every one). A strategy that cannot see a
    track (no audio features, no text) abstains for it: the fusion leaves it out of that track's score
    instead of counting a made-up score, and the strategy gives no reason and no score for it."""

    def __init__(
        self, scores: np.ndarray, reasons: Sequence[str] | Explain = (), seen: np.ndarray | None = None
    ) -> None:
        self.scores = scores
        self._reasons = reasons
        self.seen = None if seen is None or bool(np.all(seen)) else np.asarray(seen, dtype=bool)

    def shown_scores(self) -> np.ndarray:
        """The scores with NaN where the strategy abstains (what a ranked track reports)."""
        scores = np.asarray(self.scores, dtype=np.float64)
        return scores if self.seen is None else np.where(self.seen, scores, np.nan)

    def reasons_for(self, positions: np.ndarray) -> list[str]:
        positions = np.asarray(positions, dtype=np.int64)
        if callable(self._reasons):
            words = self._reasons(positions)
        elif not self._reasons:
            return [""] * len(positions)
        else:
            words = [self._reasons[int(i)] for i in positions]
        if self.seen is None:
            return words
        return [w if ok else "" for w, ok in zip(words, self.seen[positions], strict=True)]

    @property
    def reasons(self) -> list[str]:
        """Every candidate's reason (builds them all)."""
        return self.reasons_for(np.arange(len(self.scores)))


class Strategy(Protocol):
    name: str

    def score(
        self,
        photo: PhotoAnalysis,
        target: tuple[float, float],
        catalogue: TrackCatalogue,
        candidate_idx: np.ndarray,
    ) -> StrategyResult:
        """Score catalogue rows candidate_idx for this photo; target is the V/A to aim for
        (the photo's own mood in "match" mode, a brighter one in "lift" mode)."""
        ...


@runtime_checkable
class NeedsTrackVectors(Protocol):
    """A strategy that scores against per-track vectors computed when the catalogue index is built."""

    def track_representations(self) -> Mapping[str, TrackRepresentation]:
        """name -> function computing an (n, d) matrix for the catalogue's rows; names are global."""
        ...


@runtime_checkable
class QueriesFromEmbeddings(Protocol):
    """A NeedsTrackVectors strategy that can tell what it would search its vectors with for photos known
    only by their encoder embedding (stored photos): the queries an approximate index is calibrated on."""

    def photo_queries(self, embeddings: np.ndarray) -> Mapping[str, np.ndarray]:
        """representation name -> (m, d) queries for the (m, embedding dim) photo embeddings."""
        ...


@runtime_checkable
class VersionedTrackVectors(Protocol):
    """A NeedsTrackVectors strategy that says which model/code computes its track vectors."""

    def representation_version(self) -> str:
        """Changes whenever the vectors track_representations() computes for the same rows would
        (a retrained artifact, another text model, a change in how vectors are combined)."""
        ...


def representations_version(strategies: Iterable[object]) -> str:
    """A short digest of every track vector the strategies need and the version of what computes it,
    for versioning a saved catalogue index. A strategy without representation_version() counts as
    "unversioned": its vectors are rebuilt only when the catalogue itself changes."""
    parts = []
    for strategy in strategies:
        if isinstance(strategy, NeedsTrackVectors):
            names = ",".join(sorted(strategy.track_representations()))
            version = (
                strategy.representation_version()
                if isinstance(strategy, VersionedTrackVectors)
                else "unversioned"
            )
            parts.append(f"{names}={version}")
    return hashlib.sha256("\n".join(sorted(parts)).encode()).hexdigest()[:12]


@runtime_checkable
class ProposesCandidates(Protocol):
    """A strategy with its own nearest-neighbour search, whose finds join the candidate pool."""

    def candidates(
        self, photo: PhotoAnalysis, target: tuple[float, float], catalogue: TrackCatalogue, k: int
    ) -> np.ndarray:
        """Catalogue rows of up to k tracks this strategy would rank highest."""
        ...
