"""The result of one request: ranked tracks as arrays, with their words built only when they are read.

A whole-catalogue ranking (the recommend contract allows top_k = catalogue size) is numpy work: scores,
fusion, sort and artist diversity over arrays. What costs per track in Python, the RankedTrack objects and
their reasons, is made when a caller reads an entry, a slice or iterates (in chunks), so a caller that
stores ten tracks pays for ten.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import overload

import numpy as np

from .types import RankedTrack

NO_MOOD_REASON = "no mood data for this track (no valence/arousal or audio features), so listed last"
_CHUNK = 512

# Reasons for entries (indexes into the scored part of the ranking), one list per entry.
Explain = Callable[[np.ndarray], list[list[str]]]


class Ranking(Sequence[RankedTrack]):
    """Best first: the scored tracks, then (when top_k asks for more) tracks with no mood position."""

    def __init__(
        self,
        track_ids: np.ndarray,
        scores: np.ndarray,
        strategy_scores: Mapping[str, np.ndarray],
        explain: Explain,
        unscored_ids: np.ndarray | None = None,
    ) -> None:
        self.scored = len(track_ids)
        self.track_ids = np.concatenate([track_ids, unscored_ids if unscored_ids is not None else []]).astype(
            np.int64
        )
        self.scores = np.concatenate([scores, np.zeros(len(self.track_ids) - self.scored)])
        self.strategy_scores = dict(strategy_scores)
        self._explain = explain

    @classmethod
    def empty(cls) -> Ranking:
        return cls(np.zeros(0, np.int64), np.zeros(0), {}, lambda idx: [])

    def __len__(self) -> int:
        return len(self.track_ids)

    @overload
    def __getitem__(self, index: int) -> RankedTrack: ...

    @overload
    def __getitem__(self, index: slice) -> list[RankedTrack]: ...

    def __getitem__(self, index: int | slice) -> RankedTrack | list[RankedTrack]:
        if isinstance(index, slice):
            return self._make(np.arange(len(self))[index])
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError("ranking index out of range")
        return self._make(np.array([index]))[0]

    def __iter__(self) -> Iterator[RankedTrack]:
        for start in range(0, len(self), _CHUNK):
            yield from self._make(np.arange(start, min(start + _CHUNK, len(self))))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def _make(self, entries: np.ndarray) -> list[RankedTrack]:
        scored = entries[entries < self.scored]
        words = iter(self._explain(scored)) if len(scored) else iter(())
        out = []
        for i in entries:
            i = int(i)
            if i < self.scored:
                out.append(
                    RankedTrack(
                        track_id=int(self.track_ids[i]),
                        score=float(self.scores[i]),
                        # A strategy that abstained for the track (NaN) reports no score.
                        strategy_scores={
                            name: float(s[i])
                            for name, s in self.strategy_scores.items()
                            if not np.isnan(s[i])
                        },
                        reasons=next(words),
                    )
                )
            else:
                out.append(RankedTrack(int(self.track_ids[i]), 0.0, {}, [NO_MOOD_REASON]))
        return out
