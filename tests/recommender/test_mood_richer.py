"""The richer mood inputs (mood_views' map pooling and finer colour, mood_richer's component-count ridge):
the pooled statistics are what they say, the views sizes are read right, the component count is chosen
on training rows only and the head learns a signal it never saw held out."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from recommender.lab.stats import pearson
from recommender.lab.training import mood_richer
from recommender.lab.training.mood_kernel import grouped_folds
from recommender.lab.training.mood_views import colour_more, grid_means, map_statistics, view, view_size

from .test_mood_variants import synthetic_pool


def test_grid_means_are_the_cells_means() -> None:
    x = torch.arange(2 * 3 * 4 * 4, dtype=torch.float32).reshape(2, 3, 4, 4)
    g = grid_means(x, 2).reshape(2, 4, 3)  # cell-major: (n, cells, channels)
    torch.testing.assert_close(g[:, 0], x[:, :, :2, :2].mean(dim=(2, 3)))
    torch.testing.assert_close(g[:, 3], x[:, :, 2:, 2:].mean(dim=(2, 3)))
    # 3 cells on a side of 4: adaptive bounds [0, 2), [1, 3), [2, 4)
    g3 = grid_means(x, 3).reshape(2, 9, 3)
    torch.testing.assert_close(g3[:, 4], x[:, :, 1:3, 1:3].mean(dim=(2, 3)))
    torch.testing.assert_close(grid_means(x, 1), x.mean(dim=(2, 3)))


def test_map_statistics() -> None:
    x = torch.zeros(1, 2, 3, 3)
    x[0, 0, 1, 1] = 9.0
    x[0, 1] = 2.0
    grid2, grid3, gem, top, sd = map_statistics(x)
    assert grid2.shape == (1, 8) and grid3.shape == (1, 18)
    assert top.tolist() == [[9.0, 2.0]] and sd[0, 1] == 0 and sd[0, 0] > 0
    # GeM (p = 3) lies between the mean and the max; on a constant channel it is the constant
    assert 1.0 < gem[0, 0] < 9.0 and gem[0, 1] == pytest.approx(2.0)


def test_view_sizes() -> None:
    assert view_size("efficientnet-lite2", "plain") == 260 and view_size("efficientnet-lite2", "s300") == 300
    assert view_size("efficientnet-lite0", "flip") == 224
    image = Image.new("RGB", (50, 40))
    assert view(image, "s300") is image
    with pytest.raises(ValueError, match="unknown view"):
        view(image, "sx")


def test_colour_more_reads_colour() -> None:
    red, grey = Image.new("RGB", (60, 40), (255, 0, 0)), Image.new("RGB", (60, 40), (128, 128, 128))
    r, g = colour_more(red), colour_more(grey)
    assert r.shape == g.shape == (42,) and np.isfinite(r).all()
    assert r[5:10].min() == pytest.approx(1.0) and g[5:10].max() == pytest.approx(0.0)  # saturation
    assert r[22] == pytest.approx(1.0) and r[23:34].sum() == pytest.approx(0.0)  # all red: hue bin 0
    assert g[22:34].sum() == pytest.approx(0.0)  # grey has no hue
    half = Image.new("RGB", (60, 40), (0, 0, 0))
    half.paste((255, 255, 255), (0, 0, 60, 20))
    top_left_luma, bottom_left_luma = colour_more(half)[34], colour_more(half)[38]
    assert top_left_luma == pytest.approx(1.0) and bottom_left_luma == pytest.approx(0.0)


def test_component_ridge_learns_and_chooses_on_training_rows_only() -> None:
    pool = synthetic_pool()
    p = mood_richer.pc_ridge_predictions(pool)
    y = np.stack([pool.valence, pool.arousal], axis=1)[pool.is_oasis]
    for col in (0, 1):
        assert pearson(p.oof[:, col], y[:, col]) > 0.5
    oasis = np.flatnonzero(pool.is_oasis)
    fold = grouped_folds(pool.groups[oasis], 5, 0)
    before = p.oof[fold == 0]
    held = oasis[fold == 0]
    rng = np.random.default_rng(1)
    pool.valence[held] = rng.permutation(pool.valence[held]) + 0.3
    pool.arousal[held] = rng.uniform(size=len(held))
    np.testing.assert_allclose(mood_richer.pc_ridge_predictions(pool).oof[fold == 0], before, atol=1e-9)


def test_component_count_follows_the_signal() -> None:
    """Labels on the first component alone: few components chosen; on many: more."""
    rng = np.random.default_rng(0)
    n = 300
    f = rng.normal(size=(n, 64)) * np.linspace(3, 1, 64)
    groups = np.arange(n) // 3
    w = np.ones(n)
    tr, te = np.arange(240), np.arange(240, n)
    chosen = []
    for y in (f[:, 0] + 0.3 * rng.normal(size=n), f @ rng.normal(size=64) / 8 + 0.1 * rng.normal(size=n)):
        fit = mood_richer.pc_fit_predict([f], groups, 0, counts=(1, 8, 64))
        fit(y, w, tr, te)
        chosen.append(fit.chosen[0][1])  # type: ignore[attr-defined]
    assert chosen[0] < chosen[1] and chosen[1] == 64


def test_block_weights_follow_the_block_that_carries_the_signal() -> None:
    """Two blocks, the labels in the first alone: the weighting that favours it is chosen."""
    pool = synthetic_pool()
    rng = np.random.default_rng(3)
    pool.x[:, 10:] = rng.normal(size=(len(pool.x), 20))  # the second block: noise
    pool.widths = [10, 20]
    pool.valence = pool.x[:, :10] @ rng.normal(size=10) / 10 + 0.05 * rng.normal(size=len(pool.x)) + 0.5
    grid = mood_richer.kind_weights(["signal", "noise"], {"signal": (1.0,), "noise": (0.1, 1.0, 10.0)})
    assert grid == [[1.0, 0.1], [1.0, 1.0], [1.0, 10.0]]
    grams = mood_richer.block_grams(pool)
    candidates = [
        mood_richer.components_of(np.sum([m * g for m, g in zip(ws, grams, strict=True)], axis=0), 30)
        for ws in grid
    ]
    fit = mood_richer.pc_fit_predict(candidates, pool.groups, 0, counts=(30,))
    rows = np.arange(len(pool.x))
    fit(pool.valence, np.ones(len(rows)), rows[pool.groups % 5 != 0], rows[pool.groups % 5 == 0])
    assert fit.chosen[0][0] == 0  # type: ignore[attr-defined]


def test_block_weight_ridge_prefers_the_signal_block_and_reads_no_held_out_label() -> None:
    pool = synthetic_pool()
    rng = np.random.default_rng(3)
    pool.x[:, 10:] = rng.normal(size=(len(pool.x), 20))
    pool.widths = [10, 20]
    pool.valence = pool.x[:, :10] @ rng.normal(size=10) / 10 + 0.05 * rng.normal(size=len(pool.x)) + 0.5
    weights = [[1.0, 0.1], [1.0, 1.0], [1.0, 10.0]]
    p = mood_richer.block_weight_predictions(pool, weights)
    y = pool.valence[pool.is_oasis]
    assert pearson(p.oof[:, 0], y) > 0.7
    even = mood_richer.block_weight_predictions(pool, [[1.0, 1.0]])  # mood-v4's fit: equal weights
    assert pearson(p.oof[:, 0], y) >= pearson(even.oof[:, 0], y)
    oasis = np.flatnonzero(pool.is_oasis)
    fold = grouped_folds(pool.groups[oasis], 5, 0)
    held = oasis[fold == 0]
    pool.valence[held] = rng.permutation(pool.valence[held]) + 0.3
    again = mood_richer.block_weight_predictions(pool, weights)
    np.testing.assert_allclose(again.oof[fold == 0], p.oof[fold == 0], atol=1e-9)


def test_input_choice_takes_the_input_that_carries_the_signal() -> None:
    pool = synthetic_pool()
    noise = synthetic_pool()
    noise.x = np.random.default_rng(4).normal(size=noise.x.shape)  # same labels and groups, inputs of noise
    p = mood_richer.input_choice_predictions([noise, pool])
    y = pool.valence[pool.is_oasis]
    assert pearson(p.oof[:, 0], y) > 0.6
    only_signal = mood_richer.input_choice_predictions([pool])
    np.testing.assert_allclose(p.oof, only_signal.oof, atol=1e-9)  # the noise input was never chosen
