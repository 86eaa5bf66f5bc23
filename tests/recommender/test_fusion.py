"""Weighted-sum and reciprocal-rank fusion over toy strategy scores."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.fusion import (
    RRF_K,
    ReciprocalRankFusion,
    WeightedSum,
    make_fusion,
    ranks,
)
from recommender.pipeline import Engine, EngineConfig
from recommender.strategies import StrategyResult
from tests.recommender.helpers import grid_rows, make_photo, mood_only_config


def results(**scores: list[float]) -> dict[str, StrategyResult]:
    return {name: StrategyResult(np.array(s, dtype=np.float64), [""] * len(s)) for name, s in scores.items()}


def test_ranks_are_one_based_and_ties_share_the_better_rank() -> None:
    assert ranks(np.array([0.2, 0.9, 0.5, 0.9])).tolist() == [4, 1, 3, 1]


def test_rrf_matches_the_formula_on_toy_inputs() -> None:
    # a ranks the candidates 0, 1, 2; b ranks them 2, 1, 0.
    toy = results(a=[0.9, 0.5, 0.1], b=[0.1, 0.5, 0.9])
    fused = ReciprocalRankFusion({"a": 1.0, "b": 1.0}).fuse(toy)
    k = RRF_K
    expected = np.array([1 / (k + 1) + 1 / (k + 3), 2 / (k + 2), 1 / (k + 3) + 1 / (k + 1)]) / (2 / (k + 1))
    np.testing.assert_allclose(fused, expected)
    # Equal weights and mirrored rankings: the ends tie, the middle (rank 2 twice) loses slightly.
    assert fused[0] == pytest.approx(fused[2]) and fused[1] < fused[0]


def test_rrf_ignores_score_scale_but_weighted_sum_does_not() -> None:
    # a and b order candidates 0 and 1 oppositely; a's scores spread widely, b's barely differ.
    toy = results(a=[1.0, 0.0, 0.5], b=[0.50, 0.52, 0.51])
    weighted = WeightedSum({"a": 1.0, "b": 1.0}).fuse(toy)
    rrf = ReciprocalRankFusion({"a": 1.0, "b": 1.0}).fuse(toy)
    assert weighted[0] - weighted[1] > 0.4  # the weighted sum follows a
    assert rrf[0] == pytest.approx(rrf[1])  # RRF counts both orders equally


def test_rrf_respects_weights() -> None:
    toy = results(a=[0.9, 0.1], b=[0.1, 0.9])
    assert np.argmax(ReciprocalRankFusion({"a": 3.0, "b": 1.0}).fuse(toy)) == 0
    assert np.argmax(ReciprocalRankFusion({"a": 1.0, "b": 3.0}).fuse(toy)) == 1


def test_rrf_top_everywhere_scores_one() -> None:
    fused = ReciprocalRankFusion({"a": 2.0, "b": 1.0}).fuse(results(a=[0.9, 0.1], b=[0.8, 0.2]))
    assert fused[0] == pytest.approx(1.0) and 0 < fused[1] < 1


@pytest.mark.parametrize("kind", ["weighted", "rrf"])
def test_zero_weight_strategy_changes_nothing(kind: str) -> None:
    base = results(a=[0.9, 0.2, 0.5], b=[0.3, 0.8, 0.4])
    with_zero = {**base, **results(c=[0.0, 1.0, 0.7])}
    weights = {"a": 0.6, "b": 0.4}
    np.testing.assert_allclose(
        make_fusion(kind, {**weights, "c": 0.0}).fuse(with_zero), make_fusion(kind, weights).fuse(base)
    )


@pytest.mark.parametrize("kind", ["weighted", "rrf"])
def test_all_zero_weights_give_zeros(kind: str) -> None:
    assert make_fusion(kind, {"a": 0.0}).fuse(results(a=[0.5, 0.7])).tolist() == [0.0, 0.0]


def test_make_fusion_rejects_unknown_kind_and_negative_weights() -> None:
    with pytest.raises(ValueError, match="unknown fusion"):
        make_fusion("borda", {"a": 1.0})
    with pytest.raises(ValueError):
        ReciprocalRankFusion({"a": -1.0})


def test_engine_config_selects_the_fusion() -> None:
    rows = grid_rows(8, 2)
    engine = Engine(mood_only_config(fusion="rrf"))
    assert isinstance(engine.fusion, ReciprocalRankFusion)
    catalogue = engine.build_catalogue(rows)
    ranked = engine.recommend(make_photo(0.8, 0.6), catalogue, top_k=5)
    assert len(ranked) == 5 and all(0.0 <= r.score <= 1.0 for r in ranked)
    assert isinstance(Engine(EngineConfig()).fusion, WeightedSum)
