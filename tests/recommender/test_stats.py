"""The shared rule for a gain beyond the noise (recommender/lab/stats.py)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from recommender.lab.stats import GAIN_RESAMPLES, group_resamples, paired_gain_lower_bound


def test_resamples_draw_whole_groups_and_repeat_for_the_same_rows() -> None:
    groups = np.repeat(np.arange(30), 4)
    draws = list(group_resamples(groups))
    assert len(draws) == GAIN_RESAMPLES
    for weights in draws[:50]:
        assert weights.sum() == len(groups)  # as many groups drawn as there are
        assert (weights.reshape(30, 4) == weights.reshape(30, 4)[:, :1]).all()  # a group's rows alike
    assert all((a == b).all() for a, b in zip(draws, group_resamples(groups), strict=True))


def test_the_lower_bound_tells_a_steady_gain_from_one_that_swings_between_groups() -> None:
    groups = np.repeat(np.arange(40), 5)
    steady = np.full(200, 0.02)
    swing = np.where(groups % 2 == 0, 0.3, -0.28)  # +0.01 on average, +-0.3 by group

    def mean_under(diff: np.ndarray) -> Callable[[np.ndarray], float]:
        return lambda weights: float((weights * diff).sum() / weights.sum())

    assert paired_gain_lower_bound(mean_under(steady), groups) == pytest.approx(0.02)
    assert paired_gain_lower_bound(mean_under(swing), groups) < 0 < mean_under(swing)(np.ones(200))
    assert paired_gain_lower_bound(mean_under(np.zeros(200)), groups) == 0.0
