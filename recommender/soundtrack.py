"""One soundtrack for a sequence of photos: plain Python, no Django.

The model
---------
A soundtrack of N tracks for P photos (in their order) is P stretches, one per photo: `allocate` gives each
photo N // P tracks and the first N % P photos one more, so every photo gets at least one (N >= P). Each
stretch draws from its photo's candidates (the engine's ranking for that photo, best first, with the fit
score in [0, 1]). The sequence maximises the sum of the chosen tracks' fit scores under three rules:

1. no track twice and no artist twice (artists compared case- and space-insensitively);
2. neighbouring tracks move smoothly: between two consecutive tracks (also across a photo boundary)
       |energy step|  <= 0.25   (Spotify-style energy, 0-1)
       |tempo step|   <= 25 BPM
       |valence step| <= 0.25   (the track's mood position, 0-1)
       |arousal step| <= 0.25
   (DEFAULT_BOUNDS). A value a track does not have (unknown energy or tempo) is not constrained;
3. each track belongs to the stretch of the photo it was chosen for.

The search is a beam search (BEAM_WIDTH partial sequences, each extended with its BRANCH best allowed
candidates). `sequence(..., strict=True)` raises NoSmoothPath when no partial sequence can be extended
within the bounds (the caller widens the candidate pools and tries again); with strict=False such a step
takes the unused candidate with the smallest step (measured as a multiple of the bounds) and marks it
`within_bounds=False`, so a caller can say which steps broke the bounds.

`next_best` swaps one placed track for the next candidate of its photo (ranked below it) that keeps the
three rules with its neighbours.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

STEP_FIELDS = ("energy", "tempo", "valence", "arousal")
BEAM_WIDTH = 8
BRANCH = 4


@dataclass(frozen=True)
class StepBounds:
    """The largest allowed change between neighbouring tracks (see the module's docstring)."""

    energy: float = 0.25
    tempo: float = 25.0
    valence: float = 0.25
    arousal: float = 0.25

    def as_array(self) -> np.ndarray:
        return np.array([getattr(self, f) for f in STEP_FIELDS], dtype=np.float64)


DEFAULT_BOUNDS = StepBounds()


@dataclass(frozen=True)
class Candidate:
    """A track that may be placed for a photo. Unknown values are None."""

    track_id: int
    artist: str
    score: float
    energy: float | None = None
    tempo: float | None = None
    valence: float | None = None
    arousal: float | None = None

    def steps(self) -> np.ndarray:
        return np.array([_nan(getattr(self, f)) for f in STEP_FIELDS], dtype=np.float64)


@dataclass
class Slot:
    """One photo's stretch: how many tracks, and its candidates best first."""

    photo: str
    count: int
    candidates: Sequence[Candidate]


@dataclass(frozen=True)
class Placed:
    """One position of the soundtrack."""

    slot: int  # which photo (index into the slots)
    rank: int  # the candidate's position in that photo's list (0 = best)
    candidate: Candidate
    within_bounds: bool = True


class NotEnoughTracks(ValueError):
    """A photo's candidates ran out of tracks whose track and artist are not used yet."""


class NoSmoothPath(ValueError):
    """No sequence within the bounds exists in the candidates given (at `position`)."""

    def __init__(self, position: int, message: str) -> None:
        super().__init__(message)
        self.position = position


def allocate(n_tracks: int, n_photos: int) -> list[int]:
    """Tracks per photo, in order: as even as possible, the earlier photos taking the remainder."""
    if n_photos < 1:
        raise ValueError("at least one photo is needed")
    if n_tracks < n_photos:
        raise ValueError(f"{n_tracks} tracks cannot cover {n_photos} photos: each photo needs at least one")
    base, extra = divmod(n_tracks, n_photos)
    return [base + (1 if i < extra else 0) for i in range(n_photos)]


def artist_key(artist: str) -> str:
    return " ".join(artist.casefold().split())


def step_ratio(a: Candidate, b: Candidate, bounds: StepBounds = DEFAULT_BOUNDS) -> float:
    """The largest step between a and b as a multiple of its bound (<= 1 is within bounds; unknown: 0)."""
    ratio = np.abs(a.steps() - b.steps()) / bounds.as_array()
    return float(np.nanmax(ratio)) if not np.all(np.isnan(ratio)) else 0.0


@dataclass
class _SlotArrays:
    ids: np.ndarray
    artists: np.ndarray  # artist codes shared across slots
    scores: np.ndarray
    steps: np.ndarray  # (m, 4), NaN where unknown


@dataclass
class _State:
    total: float
    placed: list[Placed] = field(default_factory=list)
    tracks: frozenset[int] = frozenset()
    artists: frozenset[int] = frozenset()


def sequence(
    slots: Sequence[Slot],
    bounds: StepBounds = DEFAULT_BOUNDS,
    *,
    strict: bool = True,
    beam_width: int = BEAM_WIDTH,
    branch: int = BRANCH,
) -> list[Placed]:
    """The soundtrack: sum(slot.count) placements, the slots' stretches in order (see the module's
    docstring). Raises NoSmoothPath (strict: no allowed step) or NotEnoughTracks (a photo's candidates are
    all used up by the track and artist rule)."""
    codes: dict[str, int] = {}
    arrays = [_arrays(slot, codes) for slot in slots]
    limit = bounds.as_array()
    beam = [_State(0.0)]
    position = 0
    for s, slot in enumerate(slots):
        data = arrays[s]
        for _ in range(slot.count):
            grown: list[_State] = []
            for state in beam:
                grown += _extend(state, s, slot, data, limit, branch, strict)
            if not grown:
                if strict and _any_unused(beam, data):
                    raise NoSmoothPath(
                        position,
                        f"no candidate for {slot.photo!r} at position {position + 1} "
                        "is within the step bounds",
                    )
                raise NotEnoughTracks(
                    f"not enough different tracks and artists for {slot.photo!r} "
                    f"(position {position + 1}, {len(slot.candidates)} candidates)"
                )
            grown.sort(key=lambda st: -st.total)
            beam, seen = [], set()
            for state in grown:  # keep different endings, so the beam does not collapse onto one path
                key = (state.placed[-1].candidate.track_id, len(state.tracks))
                if key not in seen:
                    seen.add(key)
                    beam.append(state)
                if len(beam) == beam_width:
                    break
            position += 1
    return beam[0].placed


def _any_unused(beam: list[_State], data: _SlotArrays) -> bool:
    return any(bool(_unused(state, data).any()) for state in beam)


def _unused(state: _State, data: _SlotArrays) -> np.ndarray:
    return ~np.isin(data.ids, list(state.tracks)) & ~np.isin(data.artists, list(state.artists))


def _extend(
    state: _State, s: int, slot: Slot, data: _SlotArrays, limit: np.ndarray, branch: int, strict: bool
) -> list[_State]:
    unused = _unused(state, data)
    ratio = np.zeros(len(data.ids))
    if state.placed:
        previous = state.placed[-1].candidate.steps()
        steps = np.abs(data.steps - previous) / limit
        steps[np.isnan(steps)] = 0.0
        ratio = steps.max(axis=1) if len(steps) else ratio
    allowed = np.flatnonzero(unused & (ratio <= 1.0 + 1e-9))[:branch]
    within = True
    if len(allowed) == 0:
        if strict:
            return []
        pool = np.flatnonzero(unused)
        if len(pool) == 0:
            return []
        # The smallest step first, then the better fit.
        allowed = pool[np.lexsort((-data.scores[pool], ratio[pool]))][:1]
        within = False
    out = []
    for rank in allowed:
        candidate = slot.candidates[int(rank)]
        out.append(
            _State(
                total=state.total + float(data.scores[rank]),
                placed=[*state.placed, Placed(s, int(rank), candidate, within)],
                tracks=state.tracks | {int(data.ids[rank])},
                artists=state.artists | {int(data.artists[rank])},
            )
        )
    return out


def _arrays(slot: Slot, codes: dict[str, int]) -> _SlotArrays:
    m = len(slot.candidates)
    return _SlotArrays(
        ids=np.fromiter((c.track_id for c in slot.candidates), np.int64, m),
        artists=np.fromiter(
            (codes.setdefault(artist_key(c.artist), len(codes)) for c in slot.candidates), np.int64, m
        ),
        scores=np.fromiter((c.score for c in slot.candidates), np.float64, m),
        steps=np.array([c.steps() for c in slot.candidates], dtype=np.float64).reshape(m, len(STEP_FIELDS)),
    )


def next_best(
    slot: Slot,
    current_rank: int,
    neighbours: Sequence[Candidate],
    others: Sequence[Candidate],
    bounds: StepBounds = DEFAULT_BOUNDS,
) -> tuple[int, Candidate] | None:
    """The candidate of `slot` ranked after current_rank that repeats no track or artist of `others` (the
    soundtrack's other tracks) and stays within the bounds of `neighbours` (the tracks before and after
    the position, one or two). None when no such candidate is left."""
    used_tracks = {c.track_id for c in others}
    used_artists = {artist_key(c.artist) for c in others}
    for rank in range(current_rank + 1, len(slot.candidates)):
        candidate = slot.candidates[rank]
        if candidate.track_id in used_tracks or artist_key(candidate.artist) in used_artists:
            continue
        if all(step_ratio(candidate, n, bounds) <= 1.0 + 1e-9 for n in neighbours):
            return rank, candidate
    return None


def _nan(value: float | None) -> float:
    return float("nan") if value is None else float(value)
