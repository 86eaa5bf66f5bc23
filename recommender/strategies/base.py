"""The Strategy protocol: one way to score (photo, track) pairs over a candidate set."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from ..catalogue_index import TrackCatalogue, TrackRepresentation
from ..types import PhotoAnalysis


@dataclass
class StrategyResult:
    scores: np.ndarray  # (len(candidate_idx),) in [0, 1], higher is better
    reasons: list[str]  # one per candidate ("" when the strategy has nothing to say)


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
