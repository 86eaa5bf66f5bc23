"""Fusion when a strategy cannot see a track, the liked-track boost by mood, and the user's words."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.catalogue_index import TrackCatalogue
from recommender.context_mood import read_context
from recommender.fusion import ReciprocalRankFusion, WeightedSum
from recommender.pipeline import Engine
from recommender.strategies import StrategyResult, VAMatch
from recommender.types import FeedbackItem, TrackRow

from .helpers import grid_rows, make_photo, mood_only_config


def test_weighted_sum_leaves_an_abstaining_strategy_out_of_that_tracks_score() -> None:
    seen_by_all = StrategyResult(np.array([0.8, 0.8, 0.2]))
    partial = StrategyResult(np.array([0.1, 0.0, 0.9]), seen=np.array([True, False, True]))
    fused = WeightedSum({"a": 0.5, "b": 0.5}).fuse({"a": seen_by_all, "b": partial})
    # Track 1 is judged by "a" alone: neither its 0.0 from "b" nor an average with it counts.
    assert fused.tolist() == pytest.approx([0.45, 0.8, 0.55])
    assert partial.reasons_for(np.array([1])) == [""]
    assert np.isnan(partial.shown_scores()[1]) and partial.shown_scores()[0] == pytest.approx(0.1)


def test_rrf_ranks_a_strategy_among_the_tracks_it_saw() -> None:
    a = StrategyResult(np.array([0.9, 0.5, 0.1]))
    b = StrategyResult(np.array([0.0, 0.7, 0.3]), seen=np.array([False, True, True]))
    fused = ReciprocalRankFusion({"a": 1.0, "b": 1.0}).fuse({"a": a, "b": b})
    assert fused[0] == pytest.approx(1.0)  # "a" ranks it first; "b" does not count for it
    assert fused[1] == pytest.approx((1 / 62 + 1 / 61) / (2 / 61))
    nobody = StrategyResult(np.zeros(3), seen=np.zeros(3, dtype=bool))
    assert WeightedSum({"x": 1.0}).fuse({"x": nobody}).tolist() == [0.0, 0.0, 0.0]


def quadrant_catalogue() -> TrackCatalogue:
    """Six tracks in each V/A quadrant (catalogue scale), every track by its own artist."""
    centres = {"happy": (0.85, 0.85), "angry": (0.15, 0.9), "sad": (0.15, 0.2), "calm": (0.85, 0.2)}
    rows, tid = [], 1
    for name, (v, a) in centres.items():
        for j in range(6):
            rows.append(
                TrackRow(tid, f"{name} artist {j}", f"{name} {j}", valence=v + 0.01 * j, arousal=a - 0.01 * j)
            )
            tid += 1
    return TrackCatalogue.build(rows, version="quadrants")


def test_tracks_liked_for_a_sad_photo_do_not_top_an_angry_one() -> None:
    catalogue = quadrant_catalogue()
    engine = Engine(mood_only_config())
    sad_photo, angry_photo = make_photo(0.2, 0.45, "sadness"), make_photo(0.2, 0.68, "anger")
    calm_photo = make_photo(0.8, 0.42, "neutral")
    liked = [13, 14]  # sad tracks, liked for a sad photo
    feedback = [FeedbackItem(t, 1, sad_photo.valence, sad_photo.arousal) for t in liked]
    for_sad = engine.recommend(sad_photo, catalogue, top_k=5, feedback=feedback)
    assert [r.track_id for r in for_sad[:2]] == liked  # boosted where the mood fits
    assert any("similar mood" in reason for reason in for_sad[0].reasons)
    for photo, quadrant in ((angry_photo, "angry"), (calm_photo, "calm")):
        ranked = engine.recommend(photo, catalogue, top_k=5, feedback=feedback)
        top = [r.track_id for r in ranked]
        assert not set(top[:3]) & set(liked)
        assert all(catalogue.titles[catalogue.row_of([t])[t]].startswith(quadrant) for t in top[:3])


@pytest.mark.parametrize(
    ("words", "axis", "direction"),
    [
        ("my grandfather's funeral", 0, -1),
        ("so happy, our wedding day", 0, 1),
        ("a party, dancing all night", 1, 1),
    ],
)
def test_words_about_the_photo_move_the_ranking_toward_their_mood(
    words: str, axis: int, direction: int
) -> None:
    catalogue = TrackCatalogue.build(grid_rows(30, 1), version="grid")
    engine = Engine(mood_only_config())
    photo = make_photo(0.5, 0.507, "neutral")
    va = np.asarray(catalogue.va)

    def top_mean(context: str) -> float:
        """Mean valence (axis 0) or arousal (axis 1) of the top 5 tracks."""
        ranked = engine.recommend(photo, catalogue, top_k=5, context=context)
        return float(np.mean([va[catalogue.row_of([r.track_id])[r.track_id], axis] for r in ranked]))

    plain, moved = top_mean(""), top_mean(words)
    assert (moved - plain) * direction > 0.1
    head = engine.recommend(photo, catalogue, top_k=1, context=words)[0].reasons[0]
    assert "your words suggest" in head


def test_words_without_a_mood_leave_the_ranking_alone() -> None:
    catalogue = TrackCatalogue.build(grid_rows(30, 1), version="grid")
    engine = Engine(mood_only_config())
    photo = make_photo(0.7, 0.4, "joy")
    plain = [r.track_id for r in engine.recommend(photo, catalogue, top_k=10)]
    for words in ("IMG_2041", "taken with my phone last year"):
        mood = read_context(words)
        assert mood is not None and mood.weight < 0.05
        assert [r.track_id for r in engine.recommend(photo, catalogue, top_k=10, context=words)] == plain
    assert read_context("   ") is None


def test_default_weights_follow_what_the_catalogue_carries(monkeypatch: pytest.MonkeyPatch) -> None:
    from recommender import config as config_module
    from recommender.config import EngineConfig

    monkeypatch.setattr(
        config_module, "VA_ONLY_WEIGHTS", {"va_match": 0.8, "joint_embedding": 0.2, "content": 1.0}
    )
    shipped = EngineConfig()
    assert shipped.weights_for(0.0) == {"va_match": 0.8, "joint_embedding": 0.2}  # configured strategies only
    assert shipped.weights_for(0.5) == {n: w for n, w in shipped.weights().items() if w > 0}
    # A strategy that can score almost no track of this catalogue gets no weight.
    assert shipped.weights_for(0.0, {"joint_embedding": 0.01}) == {"va_match": 0.8}
    assert shipped.weights_for(0.0, {"joint_embedding": 0.5}) == {"va_match": 0.8, "joint_embedding": 0.2}
    # Weights chosen by hand are served as they are, whatever the catalogue holds.
    custom = EngineConfig(
        strategies=("va_match", "emotion"), fusion_weights=(("va_match", 0.5), ("emotion", 0.5))
    )
    assert custom.weights_for(0.0) == {"va_match": 0.5, "emotion": 0.5}
    by_hand = EngineConfig.from_environment({"ENGINE_WEIGHTS": "va_match=0.5,joint_embedding=0.5"})
    assert not by_hand.adapt_weights and by_hand.weights_for(0.0) == {"va_match": 0.5, "joint_embedding": 0.5}

    # The engine measures the share on the catalogue it ranks: annotated positions only, so V/A only.
    catalogue = quadrant_catalogue()
    engine = Engine(shipped, strategies=[VAMatch()])
    ranked = engine.recommend(make_photo(0.8, 0.6), catalogue, top_k=3)
    assert engine._adapted[1].weights == {"va_match": 0.8, "joint_embedding": 0.2}
    assert len(ranked) == 3 and set(ranked[0].strategy_scores) == {"va_match"}
