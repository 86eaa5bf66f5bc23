"""Strategies, fusion, personalisation, diversity and lift mode over small synthetic catalogues."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pytest

from recommender.catalogue_index import TrackCatalogue
from recommender.describe import describe_mood, describe_photo
from recommender.diversity import artist_codes, diversify
from recommender.fusion import WeightedSum
from recommender.pipeline import (
    PHOTO_AROUSAL_MEAN,
    PHOTO_AROUSAL_SD,
    Engine,
    align_arousal,
    lift_target,
)
from recommender.strategies import EmotionAgreement, StrategyResult, VAMatch, imuse_similarity
from recommender.strategies.emotion_agreement import js_distance
from recommender.types import FeedbackItem, RankedTrack, TrackRow

from .helpers import make_photo, mood_only_config


def engine() -> Engine:
    # recommend() needs neither the encoder nor the mood model; they load lazily.
    return Engine(mood_only_config())


def test_imuse_formula_values() -> None:
    s = imuse_similarity((0.5, 0.5), np.array([[0.5, 0.5], [0.8, 0.9], [0.0, 0.0], [1.0, 1.0]]))
    np.testing.assert_allclose(s, [1.0, 0.5, 1 - math.sqrt(0.5), 1 - math.sqrt(0.5)])
    assert imuse_similarity((0.0, 0.0), np.array([[1.0, 1.0]]))[0] == pytest.approx(1 - math.sqrt(2))


def test_va_match_scores_are_clipped_and_ordered(catalogue: TrackCatalogue) -> None:
    idx = np.arange(len(catalogue))
    result = VAMatch().score(make_photo(0.5, 0.5), (0.9, 0.1), catalogue, idx)
    assert ((result.scores >= 0) & (result.scores <= 1)).all()
    best = int(np.argmax(result.scores))
    dists = np.linalg.norm(np.asarray(catalogue.va) - [0.9, 0.1], axis=1)
    assert best == int(np.argmin(dists))
    assert "V/A match" in result.reasons[best]


def test_js_distance_bounds() -> None:
    p = np.array([1.0, 0, 0])
    assert js_distance(p, p[None, :])[0] == pytest.approx(0.0)
    assert js_distance(p, np.array([[0, 1.0, 0]]))[0] == pytest.approx(1.0)


def test_emotion_agreement_prefers_matching_music_and_names_it() -> None:
    rows = [
        TrackRow(1, "Sunny", "up", valence=0.85, arousal=0.6),
        TrackRow(2, "Gloom", "down", valence=0.15, arousal=0.25),
    ]
    cat = TrackCatalogue.build(rows)
    idx = np.arange(2)
    joyful = EmotionAgreement().score(make_photo(0.8, 0.6, "joy"), (0.8, 0.6), cat, idx)
    sad = EmotionAgreement().score(make_photo(0.2, 0.3, "sadness"), (0.2, 0.3), cat, idx)
    assert joyful.scores[0] > joyful.scores[1]
    assert sad.scores[1] > sad.scores[0]
    assert "joy → happy" in joyful.reasons[0]
    assert "sadness → sad" in sad.reasons[1]


def test_weighted_sum() -> None:
    fused = WeightedSum({"a": 3.0, "b": 1.0}).fuse(
        {
            "a": StrategyResult(np.array([1.0, 0.0]), ["", ""]),
            "b": StrategyResult(np.array([0.0, 1.0]), ["", ""]),
        }
    )
    np.testing.assert_allclose(fused, [0.75, 0.25])
    with pytest.raises(ValueError):
        WeightedSum({"a": -1.0})


def test_diversify_takes_new_artists_first() -> None:
    artists = ["A", "A", "B", "a ", "C"]
    order = diversify(np.arange(5), artist_codes(artists))
    assert list(order) == [0, 2, 4, 1, 3]
    assert list(diversify(np.array([4, 3, 1, 0]), artist_codes(artists))) == [4, 3, 1, 0]


def test_recommend_never_repeats_an_artist_in_the_top_list() -> None:
    # 3 artists with 10 near-identical tracks each right at the photo's mood, 5 more artists further off.
    rows = [
        TrackRow(i, f"Prolific {i % 3}", f"t{i}", valence=0.7, arousal=0.3 + 0.001 * i) for i in range(30)
    ]
    rows += [TrackRow(100 + j, f"Other {j}", "x", valence=0.3 + 0.05 * j, arousal=0.6) for j in range(5)]
    cat = TrackCatalogue.build(rows)
    ranked = engine().recommend(make_photo(0.7, 0.3), cat, top_k=8)
    artists = [cat.artists[cat.row_of([r.track_id])[r.track_id]] for r in ranked]
    assert len(artists) == 8 == len(set(artists))
    # The three best-matching artists still come first.
    assert {a for a in artists[:3]} == {"Prolific 0", "Prolific 1", "Prolific 2"}


def test_recommend_falls_back_to_repeats_when_artists_run_out() -> None:
    rows = [TrackRow(i, f"Solo {i % 2}", f"t{i}", valence=0.5, arousal=0.5) for i in range(6)]
    ranked = engine().recommend(make_photo(0.5, 0.5), TrackCatalogue.build(rows), top_k=6)
    assert len(ranked) == 6
    assert len({r.track_id for r in ranked}) == 6


def test_recommend_is_sorted_and_explained(catalogue: TrackCatalogue) -> None:
    ranked = engine().recommend(make_photo(0.75, 0.3, "joy"), catalogue, top_k=5)
    assert len(ranked) == 5
    scores = [r.score for r in ranked]
    assert scores == sorted(scores, reverse=True)
    for r in ranked:
        assert set(r.strategy_scores) == {"va_match", "emotion"}
        assert r.reasons[0].startswith("calm and warm photo (valence 0.75, arousal 0.30")
        assert any("V/A match" in reason for reason in r.reasons)
        assert any(reason.startswith("emotion agreement:") for reason in r.reasons)


def test_top_k_larger_than_catalogue_lists_every_track_unpositioned_last() -> None:
    rows = [
        TrackRow(1, "A", "a", valence=0.9, arousal=0.5),
        TrackRow(2, "B", "b", features={"energy": 0.4}),  # no valence: no position
        TrackRow(3, "C", "c", features={"valence": 0.2, "energy": 0.3}),
    ]
    ranked = engine().recommend(make_photo(0.9, 0.5), TrackCatalogue.build(rows), top_k=50)
    assert [r.track_id for r in ranked] == [1, 3, 2]
    assert ranked[-1].score == 0.0
    assert "no mood data" in ranked[-1].reasons[0]


def test_disliked_tracks_are_excluded(catalogue: TrackCatalogue) -> None:
    photo = make_photo(0.6, 0.6)
    first = engine().recommend(photo, catalogue, top_k=len(catalogue))
    disliked = first[0].track_id
    feedback = [FeedbackItem(disliked, -1, 0.1, 0.1)]
    again = engine().recommend(photo, catalogue, top_k=len(catalogue), feedback=feedback)
    assert disliked not in {r.track_id for r in again}
    assert len(again) == len(catalogue) - 1


def test_latest_rating_wins(catalogue: TrackCatalogue) -> None:
    tid = int(catalogue.track_ids[0])
    feedback = [FeedbackItem(tid, -1, 0.5, 0.5), FeedbackItem(tid, 1, 0.5, 0.5)]
    ranked = engine().recommend(make_photo(0.5, 0.5), catalogue, top_k=len(catalogue), feedback=feedback)
    assert tid in {r.track_id for r in ranked}


def test_liked_track_is_boosted_more_for_a_photo_of_similar_mood(catalogue: TrackCatalogue) -> None:
    photo = make_photo(0.7, 0.3)
    plain = engine().recommend(photo, catalogue, top_k=len(catalogue))
    liked = plain[len(plain) // 2]
    similar = [FeedbackItem(liked.track_id, 1, 0.72, 0.3)]
    different = [FeedbackItem(liked.track_id, 1, 0.05, 0.95)]
    with_similar = engine().recommend(photo, catalogue, top_k=len(catalogue), feedback=similar)
    with_different = engine().recommend(photo, catalogue, top_k=len(catalogue), feedback=different)

    def find(ranked: Sequence[RankedTrack], tid: int) -> RankedTrack:
        return next(r for r in ranked if r.track_id == tid)

    boosted = find(with_similar, liked.track_id)
    weak = find(with_different, liked.track_id)
    # Liked for the opposite mood: no boost at all (personalise.mood_similarity).
    assert boosted.score > weak.score == pytest.approx(liked.score)
    assert any("you liked this for a photo of similar mood" in r for r in boosted.reasons)
    assert not any("similar mood" in r for r in weak.reasons)
    rank_plain = [r.track_id for r in plain].index(liked.track_id)
    rank_boosted = [r.track_id for r in with_similar].index(liked.track_id)
    assert rank_boosted < rank_plain


def test_lift_mode_aims_brighter_for_a_sad_photo() -> None:
    rows = [
        TrackRow(i, f"Artist {i}", "t", valence=v, arousal=a)
        for i, (v, a) in enumerate(
            [(0.1, 0.2), (0.15, 0.3), (0.2, 0.25), (0.8, 0.45), (0.85, 0.5), (0.9, 0.6)]
        )
    ]
    cat = TrackCatalogue.build(rows)
    sad = make_photo(0.15, 0.25, "sadness")
    matched = engine().recommend(sad, cat, top_k=3, mode="match")
    lifted = engine().recommend(sad, cat, top_k=3, mode="lift")
    assert {r.track_id for r in matched} == {0, 1, 2}
    assert {r.track_id for r in lifted} == {3, 4, 5}
    assert "lifting the mood" in lifted[0].reasons[0]
    assert not any("lifting" in reason for reason in matched[0].reasons)
    assert lift_target(0.15, 0.25) == pytest.approx((0.75, 0.4))
    # A photo already pleasant stays where it is in valence.
    assert lift_target(0.9, 0.55)[0] == 0.9


def test_unknown_mode_is_rejected(catalogue: TrackCatalogue) -> None:
    with pytest.raises(ValueError):
        engine().recommend(make_photo(0.5, 0.5), catalogue, top_k=3, mode="sideways")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("v", "a", "words"),
    [
        (0.8, 0.2, "calm and warm"),
        (0.2, 0.2, "sad and quiet"),
        (0.2, 0.9, "tense"),
        (0.8, 0.8, "joyful and lively"),
    ],
)
def test_describe_mood(v: float, a: float, words: str) -> None:
    assert describe_mood(v, a) == words


def test_arousal_is_aligned_to_the_catalogue_scale() -> None:
    # A pop-like catalogue: arousal 0.55-0.95. An average photo (Emotion6 mean arousal) should land in
    # the middle of it, not on the quietest track.
    rows = [TrackRow(i, f"Artist {i}", "t", valence=0.5, arousal=0.55 + 0.02 * i) for i in range(21)]
    cat = TrackCatalogue.build(rows)
    mean, sd = cat.arousal_stats or (0.0, 0.0)
    assert mean == pytest.approx(0.75)
    assert align_arousal(PHOTO_AROUSAL_MEAN, cat) == pytest.approx(0.75)
    assert align_arousal(PHOTO_AROUSAL_MEAN + PHOTO_AROUSAL_SD, cat) == pytest.approx(0.75 + sd)
    photo = make_photo(0.5, PHOTO_AROUSAL_MEAN)
    aligned = engine().recommend(photo, cat, top_k=1)
    raw = Engine(mood_only_config(align_arousal=False)).recommend(photo, cat, top_k=1)
    assert aligned[0].track_id == 10
    assert raw[0].track_id == 0
    # A catalogue with a single arousal value cannot be aligned to: the photo's value is kept.
    flat = TrackCatalogue.build([TrackRow(i, "A", "t", valence=0.5, arousal=0.9) for i in range(3)])
    assert align_arousal(0.3, flat) == 0.3


def test_catalogue_without_any_mood_data_still_lists_tracks() -> None:
    rows = [TrackRow(1, "A", "a"), TrackRow(2, "B", "b", features={"energy": 0.5})]
    ranked = engine().recommend(make_photo(0.5, 0.5), TrackCatalogue.build(rows), top_k=5)
    assert [r.track_id for r in ranked] == [1, 2]
    assert engine().recommend(make_photo(0.5, 0.5), TrackCatalogue.build([]), top_k=5) == []


def test_describe_photo_reads_arousal_relative_to_emotion6() -> None:
    # 0.40 is about one Emotion6 sd below the mean: calm for a photo, though mid-range in absolute terms.
    assert describe_photo(make_photo(0.8, 0.40)).startswith("calm and warm photo (valence 0.80, arousal 0.40")
    assert describe_photo(make_photo(0.8, 0.62)).startswith("joyful and lively photo")
    assert describe_photo(make_photo(0.8, 0.507)).startswith("cheerful photo")
