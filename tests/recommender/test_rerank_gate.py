"""The reranker gate's rule on the ratings themselves (recommender/lab/rerank_training.py): ratings must
follow the offline evaluation's relevance (photo and track in the same mood quadrant) in direction, so a
candidate learned from inverted or random ratings is refused even where the offline no-fall check lets it
through, and one learned from truthful ratings passes."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.lab import rerank_training
from recommender.lab.rerank_training import RatingSet, mood_agreement, ratings_agreement, train_and_judge
from tests.factories import synthetic_offline_evaluation

STRATEGIES = ("emotion", "va_match")


def quadrant(va: np.ndarray) -> np.ndarray:
    return (va[..., 0] > 0.5) * 2 + (va[..., 1] > 0.5)


def closeness(photo: np.ndarray, tracks: np.ndarray) -> np.ndarray:
    return 1 - np.hypot(*(tracks - photo).T) / np.sqrt(2)


def ratings(mode: str, runs: int = 200, per_run: int = 10, seed: int = 0) -> RatingSet:
    """Runs of per_run rated items, one photo each: a rater likes a track in the photo's quadrant (10%
    flipped); "inverted" raters the opposite, "random" ones by a coin. The strategies see the closeness
    of the moods through noise."""
    rng = np.random.default_rng(seed)
    photo = rng.uniform(size=(runs, 2)).repeat(per_run, axis=0)
    track = rng.uniform(size=(runs * per_run, 2))
    near = closeness(photo, track)
    scores = {s: np.clip(near + rng.normal(0, 0.3, len(near)), 0, 1) for s in STRATEGIES}
    up = (quadrant(photo) == quadrant(track)) != (rng.uniform(size=len(near)) < 0.1)
    if mode == "inverted":
        up = ~up
    elif mode == "random":
        up = rng.uniform(size=len(near)) < 0.5
    return RatingSet(
        engine_scores=np.mean([scores[s] for s in STRATEGIES], axis=0),
        strategy_scores=scores,
        photo_va=photo,
        track_va=track,
        labels=up.astype(np.int64),
        groups=np.arange(runs).repeat(per_run),
        times=np.arange(runs * per_run, dtype=np.float64),
    )


def test_mood_agreement_is_positive_on_the_same_side_of_the_medians_and_skips_unpositioned_tracks() -> None:
    data = ratings("truthful", runs=5, per_run=2)  # medians 0.5 for the photos and the tracks
    data.photo_va[:] = [[0.2, 0.2], [0.2, 0.2], [0.8, 0.8], [0.8, 0.8]] * 2 + [[0.5, 0.5]] * 2
    data.track_va[:] = [[0.1, 0.1], [0.9, 0.9], [0.9, 0.9], [0.1, 0.1]] * 2 + [[0.5, 0.5], [np.nan, np.nan]]
    agreement, rows = mood_agreement(data)
    assert list(rows) == list(range(9))  # the last track has no position
    assert agreement[0] > 0 and agreement[2] > 0  # both on the same side of their medians, both axes
    assert agreement[1] < 0 and agreement[3] < 0


def test_truthful_ratings_follow_the_offline_relevance_and_inverted_or_random_ones_do_not() -> None:
    truthful_auc, truthful_bound = ratings_agreement(ratings("truthful"))
    inverted_auc, inverted_bound = ratings_agreement(ratings("inverted"))
    _, random_bound = ratings_agreement(ratings("random"))
    assert truthful_auc > 0.6 and truthful_bound > 0
    assert inverted_auc < 0.4 and inverted_bound < 0
    assert random_bound <= 0


@pytest.mark.parametrize("tolerance", [rerank_training.OFFLINE_TOLERANCE, 1.0])
def test_a_candidate_learned_from_inverted_ratings_is_refused_even_where_the_offline_check_lets_it_through(
    monkeypatch, tolerance
) -> None:
    # With a tolerance of 1.0 the offline no-fall check lets anything through: the inverted candidate
    # still beats the engine on its own (inverted) newest ratings, and only the rule on the ratings stops it.
    monkeypatch.setattr(rerank_training, "OFFLINE_TOLERANCE", tolerance)
    offline = synthetic_offline_evaluation(STRATEGIES)
    inverted = train_and_judge(ratings("inverted"), None, "inverted", offline)
    assert not inverted.passed
    assert inverted.metrics["held_out_gain_lower_bound"] > 0
    assert inverted.metrics["ratings_mood_agreement_lower_bound"] < 0
    if tolerance == 1.0:
        assert inverted.reason.startswith(
            "the ratings do not follow the fixed offline evaluation's relevance"
        )
    truthful = train_and_judge(ratings("truthful"), None, "truthful", offline)
    assert truthful.passed, truthful.reason
    assert truthful.metrics["ratings_mood_agreement_lower_bound"] > 0


def test_a_candidate_learned_from_random_ratings_is_refused_where_the_offline_check_lets_it_through(
    monkeypatch,
) -> None:
    monkeypatch.setattr(rerank_training, "OFFLINE_TOLERANCE", 1.0)
    outcome = train_and_judge(ratings("random"), None, "random", synthetic_offline_evaluation(STRATEGIES))
    assert not outcome.passed
    assert outcome.metrics["ratings_mood_agreement_lower_bound"] <= 0
