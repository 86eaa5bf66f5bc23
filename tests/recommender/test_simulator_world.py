"""The feedback simulator's hidden truth and its engine-output cache (no data sets needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from recommender.lab import datasets
from recommender.lab.simulator_data import engine_outputs
from recommender.lab.simulator_world import STRONG_USERS, USERS, World


def world(truth: str, offset_sd: float = 0.0) -> World:
    photos = np.array([[0.2, 0.3], [0.4, 0.45], [0.6, 0.48], [0.7, 0.9]])
    labels = {1: (0.3, 0.35), 2: (0.35, 0.8), 3: (0.65, 0.4), 4: (0.8, 0.75)}
    return World(photos, labels, offset_sd, seed=0, truth=truth)


def test_median_truth_splits_photos_and_tracks_at_their_own_medians_midpoint_at_one_half() -> None:
    median, midpoint = world("median"), world("midpoint")
    assert median.photo_split == pytest.approx((0.5, 0.465)) and median.track_split == pytest.approx(
        (0.5, 0.575)
    )
    assert midpoint.photo_split == midpoint.track_split == (0.5, 0.5)
    # Photo 1 (0.4, 0.45) is calm-unpleasant at the medians: track 1 fits it there; at 0.5 too.
    assert median.fits(1, 1) and midpoint.fits(1, 1)
    # Photo 2 (0.6, 0.48) is pleasant-excited at the photos' medians but calm at 0.5: track 3 (0.65, 0.4)
    # is calm under both splits, so it fits only at the midpoint.
    assert not median.fits(2, 3) and midpoint.fits(2, 3)


def test_strong_taste_users_want_their_arousal_whatever_the_photo() -> None:
    w = world("midpoint")
    calm = next(u for u in range(STRONG_USERS) if w.arousal_taste[u] < 0)
    w.valence_taste[calm] = 0.0
    energetic_photo = 3  # (0.7, 0.9)
    assert w.fits(energetic_photo, 3, calm)  # pleasant and calm: the calm user's choice
    assert not w.fits(energetic_photo, 4, calm)  # pleasant and excited: the photo's quadrant, not theirs
    assert w.fits(energetic_photo, 4) and not w.fits(energetic_photo, 3)  # without taste, the other way
    assert not w.arousal_taste[STRONG_USERS:USERS].any()


def test_track_offsets_hide_true_positions_from_the_labels() -> None:
    w = world("median", offset_sd=0.1)
    moved = [
        np.hypot(*(w.track_va[t] - np.array(label))) for t, label in {1: (0.3, 0.35), 4: (0.8, 0.75)}.items()
    ]
    assert all(d > 0 for d in moved)
    assert w.distance_to_truth({t: w.track_va[t] for t in w.track_va}) == 0
    assert w.true_quadrant_share({t: w.track_va[t] for t in w.track_va}) == 1


def test_a_cache_of_other_engine_outputs_is_refused(tmp_path: Path) -> None:
    cache = tmp_path / "sim.npz"
    np.savez(cache, moods=np.array("served"), va=np.zeros((2, 2)))
    oasis = datasets.Oasis(
        tmp_path, [tmp_path / "a.jpg", tmp_path / "b.jpg"], [], [], [], np.zeros(2), np.zeros(2)
    )
    with pytest.raises(SystemExit, match="holds other engine outputs"):
        engine_outputs(tmp_path, oasis, [], "out-of-fold", tmp_path, cache)
    np.savez(cache, moods=np.array("out-of-fold"), va=np.zeros((3, 2)))  # another photo count
    with pytest.raises(SystemExit, match="holds other engine outputs"):
        engine_outputs(tmp_path, oasis, [], "out-of-fold", tmp_path, cache)
