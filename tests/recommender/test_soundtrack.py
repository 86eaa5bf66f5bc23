"""The soundtrack model (recommender/soundtrack.py): stretches, no repeats, bounded steps, swaps."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from recommender.soundtrack import (
    DEFAULT_BOUNDS,
    Candidate,
    NoSmoothPath,
    NotEnoughTracks,
    Slot,
    allocate,
    artist_key,
    next_best,
    sequence,
    step_ratio,
)


def grid_catalogue(n: int = 400, seed: int = 0) -> list[Candidate]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        valence, arousal = rng.uniform(0, 1, 2)
        out.append(
            Candidate(
                track_id=i,
                artist=f"Artist {i % (n // 2)}",  # every artist has two tracks
                score=0.0,
                energy=float(np.clip(arousal + rng.normal(0, 0.05), 0, 1)),
                tempo=float(70 + 100 * arousal + rng.normal(0, 5)),
                valence=float(valence),
                arousal=float(arousal),
            )
        )
    return out


def ranked_for(catalogue: list[Candidate], va: tuple[float, float]) -> list[Candidate]:
    scored = [
        Candidate(**{**c.__dict__, "score": 1 - float(np.hypot(c.valence - va[0], c.arousal - va[1]))})  # type: ignore[operator]
        for c in catalogue
    ]
    return sorted(scored, key=lambda c: -c.score)


def test_allocate_spreads_tracks_in_order_each_photo_at_least_one() -> None:
    assert allocate(10, 3) == [4, 3, 3]
    assert allocate(3, 3) == [1, 1, 1]
    assert sum(allocate(100, 50)) == 100
    with pytest.raises(ValueError, match="each photo needs at least one"):
        allocate(2, 3)


def test_sequence_follows_the_photos_without_repeats_and_within_the_bounds() -> None:
    catalogue = grid_catalogue()
    moods = [(0.2, 0.2), (0.9, 0.9), (0.1, 0.9), (0.8, 0.2)]  # big jumps between photos
    counts = allocate(18, len(moods))
    slots = [
        Slot(f"p{i}", c, ranked_for(catalogue, va))
        for i, (va, c) in enumerate(zip(moods, counts, strict=True))
    ]
    placed = sequence(slots)
    assert len(placed) == 18
    assert [p.slot for p in placed] == sorted(p.slot for p in placed)  # stretches in photo order
    assert [sum(1 for p in placed if p.slot == s) for s in range(4)] == counts
    assert len({p.candidate.track_id for p in placed}) == 18
    assert len({artist_key(p.candidate.artist) for p in placed}) == 18
    for a, b in itertools.pairwise(placed):
        assert step_ratio(a.candidate, b.candidate) <= 1.0 + 1e-9
        assert abs(a.candidate.energy - b.candidate.energy) <= DEFAULT_BOUNDS.energy + 1e-9  # type: ignore[operator]
        assert abs(a.candidate.tempo - b.candidate.tempo) <= DEFAULT_BOUNDS.tempo + 1e-9  # type: ignore[operator]
    assert all(p.within_bounds for p in placed)
    # Each stretch fits its photo better than the other photos' moods on average.
    for s, _va in enumerate(moods):
        mine = [p.candidate for p in placed if p.slot == s]
        assert np.mean([c.score for c in mine]) > 0.5


def test_a_jump_the_candidates_cannot_bridge_raises_when_strict_and_is_marked_when_not() -> None:
    calm = [Candidate(1, "A", 0.9, energy=0.1, tempo=70, valence=0.5, arousal=0.1)]
    wild = [Candidate(2, "B", 0.9, energy=0.95, tempo=170, valence=0.5, arousal=0.95)]
    slots = [Slot("calm", 1, calm), Slot("wild", 1, wild)]
    with pytest.raises(NoSmoothPath, match="'wild' at position 2"):
        sequence(slots)
    placed = sequence(slots, strict=False)
    assert [p.candidate.track_id for p in placed] == [1, 2]
    assert [p.within_bounds for p in placed] == [True, False]


def test_unknown_energy_or_tempo_is_not_constrained() -> None:
    a = Candidate(1, "A", 1, energy=None, tempo=None, valence=0.5, arousal=0.5)
    b = Candidate(2, "B", 1, energy=0.99, tempo=200, valence=0.6, arousal=0.6)
    assert step_ratio(a, b) == pytest.approx(0.4)


def test_running_out_of_artists_is_not_enough_tracks() -> None:
    same_artist = [Candidate(i, "Same Band", 1 - i / 10, valence=0.5, arousal=0.5) for i in range(5)]
    with pytest.raises(NotEnoughTracks, match="not enough different tracks and artists"):
        sequence([Slot("p", 2, same_artist)], strict=False)


def test_next_best_skips_used_artists_and_keeps_the_bounds() -> None:
    candidates = [
        Candidate(1, "A", 0.9, valence=0.5, arousal=0.5),
        Candidate(2, "B", 0.8, valence=0.5, arousal=0.5),  # artist already elsewhere in the soundtrack
        Candidate(3, "C", 0.7, valence=0.95, arousal=0.95),  # too far from the neighbour
        Candidate(4, "D", 0.6, valence=0.55, arousal=0.45),
    ]
    neighbour = Candidate(9, "B", 0.5, valence=0.5, arousal=0.5)
    found = next_best(Slot("p", 1, candidates), 0, [neighbour], [neighbour])
    assert found == (3, candidates[3])
    assert next_best(Slot("p", 1, candidates), 3, [neighbour], [neighbour]) is None
