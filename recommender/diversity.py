"""Artist diversity: no artist twice in the top list while the pool has unseen artists."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def artist_key(artist: str) -> str:
    return " ".join(artist.casefold().split())


def diversify(order: np.ndarray, artists: Sequence[str]) -> np.ndarray:
    """Reorder `order` (positions, best first) so each artist's best track comes first, in score order;
    the remaining tracks (repeat artists) follow, also in score order."""
    seen: set[str] = set()
    first: list[int] = []
    rest: list[int] = []
    for pos in order:
        key = artist_key(artists[int(pos)])
        if key in seen:
            rest.append(int(pos))
        else:
            seen.add(key)
            first.append(int(pos))
    return np.array(first + rest, dtype=np.int64)


def distinct_artists(order: np.ndarray, artists: Sequence[str], top_k: int) -> bool:
    """True when the first top_k entries have no repeated artist."""
    keys = [artist_key(artists[int(p)]) for p in order[:top_k]]
    return len(keys) == len(set(keys))
