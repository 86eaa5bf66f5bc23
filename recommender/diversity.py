"""Artist diversity: no artist twice in the top list while the pool has unseen artists."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

_codes_lock = threading.Lock()
# A catalogue's artists -> one integer per track (same artist, same code); a few catalogues at most.
_codes: OrderedDict[int, tuple[Sequence[str], np.ndarray]] = OrderedDict()


def artist_key(artist: str) -> str:
    return " ".join(artist.casefold().split())


def artist_codes(artists: Sequence[str]) -> np.ndarray:
    """(len(artists),) int64: equal codes for equal artist keys. Computed once per artists list (a
    catalogue's), so ranking a whole catalogue needs no per-track Python."""
    with _codes_lock:
        hit = _codes.get(id(artists))
        if hit is not None and hit[0] is artists:
            _codes.move_to_end(id(artists))
            return hit[1]
    seen: dict[str, int] = {}
    codes = np.fromiter((seen.setdefault(artist_key(a), len(seen)) for a in artists), np.int64, len(artists))
    with _codes_lock:
        _codes[id(artists)] = (artists, codes)  # the reference keeps the id from being reused
        while len(_codes) > 4:
            _codes.popitem(last=False)
    return codes


def diversify(order: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Reorder `order` (positions, best first) so each artist's best track comes first, in score order;
    the remaining tracks (repeat artists) follow, also in score order. codes[pos]: the artist of pos."""
    order = np.asarray(order, dtype=np.int64)
    if len(order) == 0:
        return order
    _, first = np.unique(codes[order], return_index=True)
    is_first = np.zeros(len(order), dtype=bool)
    is_first[first] = True
    return np.concatenate([order[is_first], order[~is_first]])


def distinct_artists(order: np.ndarray, codes: np.ndarray, top_k: int) -> bool:
    """True when the first top_k entries have no repeated artist."""
    head = codes[np.asarray(order[:top_k], dtype=np.int64)]
    return len(np.unique(head)) == len(head)
