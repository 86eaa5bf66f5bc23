"""The mood-v4 experiments' machinery on small synthetic data: the one-Gram validation agrees with
mood-v3's exact protocol, test-time views predict from other inputs, and the views are what they say."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from recommender.lab.stats import pearson
from recommender.lab.training.mood_variants import gram_predictions, linear_predictions
from recommender.lab.training.mood_views import view
from recommender.lab.training.train_mood_sources import Pool


def synthetic_pool(seed: int = 0) -> Pool:
    """60 'Emotion6' photos and 60 'OASIS' photos in 20 themes of 3 near-duplicates; labels linear in the
    inputs plus noise."""
    rng = np.random.default_rng(seed)
    n6, themes = 60, 20
    theme_x = rng.normal(size=(themes, 30))
    x_oasis = np.repeat(theme_x, 3, axis=0) + 0.3 * rng.normal(size=(themes * 3, 30))
    x = np.concatenate([rng.normal(size=(n6, 30)), x_oasis])
    w = rng.normal(size=(30, 2))
    y = x @ w / 10 + 0.05 * rng.normal(size=(len(x), 2)) + 0.5
    is_oasis = np.arange(len(x)) >= n6
    groups = np.concatenate([np.arange(n6), n6 + np.repeat(np.arange(themes), 3)])
    emotions = np.full((len(x), 7), np.nan)
    return Pool(x, [10, 5, 15], y[:, 0], y[:, 1], emotions, is_oasis, groups)


def test_one_gram_validation_agrees_with_the_exact_protocol() -> None:
    pool = synthetic_pool()
    exact = linear_predictions(pool)
    (fast,) = gram_predictions(pool)
    y = np.stack([pool.valence, pool.arousal], axis=1)[pool.is_oasis]
    for col in (0, 1):
        r_exact, r_fast = pearson(exact.oof[:, col], y[:, col]), pearson(fast.oof[:, col], y[:, col])
        assert r_exact > 0.6 and abs(r_exact - r_fast) < 0.03
        assert pearson(exact.oof[:, col], fast.oof[:, col]) > 0.97
    assert fast.e6_to_oasis.shape == (60, 2) and fast.oasis_to_e6.shape == (60, 2)


def test_test_time_inputs_change_the_held_out_predictions_only() -> None:
    pool = synthetic_pool()
    shifted = pool.x.copy()
    shifted[pool.is_oasis] += 0.5
    plain, moved = gram_predictions(pool, x_tests=[pool.x, shifted])
    assert not np.allclose(plain.oof, moved.oof)
    np.testing.assert_allclose(plain.oasis_to_e6, moved.oasis_to_e6)  # Emotion6 rows were not moved


def test_views() -> None:
    image = Image.new("RGB", (200, 100))
    assert view(image, "plain") is image and view(image, "flip").size == (200, 100)
    assert view(image, "c80").size == (160, 80) and view(image, "br80").size == (160, 80)
    with pytest.raises(ValueError, match="unknown view"):
        view(image, "zoom")
