"""The reranker gate's fixed offline evaluation as shipped (recommender/artifacts/offline-eval-v1): what
it holds, that it tells a reranker that follows the mood from one that goes against it, and its refusals."""

from __future__ import annotations

import json

import numpy as np
import pytest

from recommender.config import EngineConfig
from recommender.lab import rerank_offline
from recommender.lab.rerank_training import OFFLINE_TOLERANCE, engine_score_only
from recommender.reranker import BASE_FEATURES, POOL, Reranker


@pytest.fixture(scope="module")
def shipped() -> rerank_offline.OfflineEval:
    return rerank_offline.load(rerank_offline.DEFAULT_DIR)


def gap_reranker(sign: float, strategies: tuple[str, ...]) -> Reranker:
    """Scores by sign x (valence gap + arousal gap) between photo and track: -1 prefers close moods."""
    n = len(BASE_FEATURES) + 2 * len(strategies)
    coef = np.zeros(n)
    coef[BASE_FEATURES.index("valence_gap")] = coef[BASE_FEATURES.index("arousal_gap")] = sign
    return Reranker("gap", "logistic", strategies, np.zeros(n), np.ones(n), coef, 0.0)


def test_the_shipped_evaluation_holds_derived_numbers_for_the_default_strategies_with_its_provenance(
    shipped,
) -> None:
    card = json.loads((rerank_offline.DEFAULT_DIR / rerank_offline.CARD).read_text())
    assert card["format"] == rerank_offline.FORMAT and "rerank_offline" in card["command"]
    assert "OASIS" in card["photos"]["dataset"] and "out of fold" in card["photos"]["mood"]
    served = tuple(sorted(EngineConfig().strategies))  # what the default engine runs (and scores)
    assert shipped.strategies == served, "the default strategies changed: rebuild the offline evaluation"
    assert len(shipped) == card["photos"]["count"] >= 500
    assert shipped.engine_scores.shape == shipped.relevant.shape == (len(shipped), POOL)
    assert shipped.track_va.shape == (len(shipped), POOL, 2)
    assert shipped.photo_va.shape == shipped.photo_va_known.shape == (len(shipped), 2)
    assert set(np.unique(shipped.photo_class)) == {0, 1, 2, 3}


def test_the_engine_scores_between_chance_and_the_oracle_and_the_evaluation_reproduces_it(shipped) -> None:
    engine = shipped.engine_alone()
    card = json.loads((rerank_offline.DEFAULT_DIR / rerank_offline.CARD).read_text())
    assert card["metrics"]["chance_p_at_5"] < engine["p_at_5"] < shipped.oracle()["p_at_5"]
    assert card["metrics"]["engine_alone"] == engine
    again = shipped.evaluate(engine_score_only, shipped.strategies)
    assert {k: again[k] for k in engine} == engine


def test_a_reranker_against_the_mood_falls_beyond_the_tolerance_and_one_with_it_does_not(shipped) -> None:
    engine = shipped.evaluate(engine_score_only, shipped.strategies)
    against = shipped.evaluate(gap_reranker(1.0, shipped.strategies).score, shipped.strategies)
    following = shipped.evaluate(gap_reranker(-1.0, shipped.strategies).score, shipped.strategies)
    assert set(engine) == {"p_at_5", "ndcg_at_10", "p_at_5_mood_known", "ndcg_at_10_mood_known"}
    for metric in engine:
        assert against[metric] < engine[metric] - OFFLINE_TOLERANCE, metric
        assert following[metric] >= engine[metric] - OFFLINE_TOLERANCE, metric
    # Knowing the mood, following it helps well beyond the tolerance (the human mood is in the artifact).
    assert following["p_at_5_mood_known"] > engine["p_at_5_mood_known"] + OFFLINE_TOLERANCE


def test_a_missing_or_foreign_evaluation_is_refused_saying_why(tmp_path, shipped) -> None:
    with pytest.raises(rerank_offline.Unavailable, match="is missing"):
        rerank_offline.load(tmp_path / "absent")
    (tmp_path / rerank_offline.FILE).write_bytes(b"PK not really")
    with pytest.raises(rerank_offline.Unavailable, match="cannot be read"):
        rerank_offline.load(tmp_path)
    with pytest.raises(rerank_offline.Unavailable, match="no scores for the strategies emotion"):
        shipped.evaluate(engine_score_only, ("emotion", *shipped.strategies))
