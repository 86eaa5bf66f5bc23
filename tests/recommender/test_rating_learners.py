"""What retraining learns beside the global reranker: track mood corrections (move as specified, bounded,
need enough ratings from enough users) and per-user terms (need the minimum, apply to their user only,
shrink toward the global model, and are kept only when they help on held-out ratings with the gate's
95% confidence, resampling whole runs)."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.catalogue_index import TrackCatalogue
from recommender.lab import track_mood_training as tm
from recommender.lab import user_terms_training as ut
from recommender.lab.rating_learners import learn_beside
from recommender.lab.rerank_training import (
    RatingSet,
    fit_logistic,
    weighted_auc_per_user,
    within_user_auc_gain_lower_bound,
)
from recommender.reranker import Reranker, feature_names
from recommender.track_moods import TrackMoods
from recommender.types import TrackRow
from recommender.user_terms import FEATURES, MIN_RATINGS


def ratings_of_one_track(moods: list[tuple[float, float]], likes: list[int], users: list[int] | None = None):
    n = len(moods)
    return (
        np.full(n, 7),
        np.array(users if users is not None else [i % 4 for i in range(n)]),
        np.array(moods, dtype=np.float64),
        np.tile([0.5, 0.5], (n, 1)),
        np.array(likes),
    )


def test_a_track_liked_for_photos_of_one_mood_moves_toward_it_and_a_disliked_one_away() -> None:
    liked = tm.learn_track_moods(*ratings_of_one_track([(0.7, 0.6)] * 12, [1] * 12)).shifts[7]
    assert liked[0] > 0 and liked[1] > 0 and liked[0] > liked[1]
    disliked = tm.learn_track_moods(*ratings_of_one_track([(0.6, 0.55)] * 12, [0] * 12)).shifts[7]
    assert disliked[0] < 0 and disliked[1] < 0
    # Shrunk: the same pull from more ratings moves it further, never past the bound.
    more = tm.learn_track_moods(*ratings_of_one_track([(0.7, 0.6)] * 60, [1] * 60)).shifts[7]
    assert more[0] > liked[0]
    far = tm.learn_track_moods(*ratings_of_one_track([(1.0, 0.0)] * 500, [1] * 500)).shifts[7]
    assert far == pytest.approx((tm.MAX_SHIFT, -tm.MAX_SHIFT))


def test_a_track_moves_only_with_enough_ratings_from_enough_users() -> None:
    few = ratings_of_one_track([(0.9, 0.9)] * (tm.MIN_RATINGS - 1), [1] * (tm.MIN_RATINGS - 1))
    assert len(tm.learn_track_moods(*few)) == 0
    two_users = ratings_of_one_track([(0.9, 0.9)] * 40, [1] * 40, users=[i % 2 for i in range(40)])
    assert len(tm.learn_track_moods(*two_users)) == 0
    unpositioned = list(ratings_of_one_track([(0.9, 0.9)] * 40, [1] * 40))
    unpositioned[3] = np.full((40, 2), np.nan)
    assert len(tm.learn_track_moods(*unpositioned)) == 0


def rows() -> list[TrackRow]:
    return [
        TrackRow(track_id=1, artist="a", title="x", valence=0.9, arousal=0.2),
        TrackRow(track_id=2, artist="b", title="y", valence=0.3, arousal=0.7),
        TrackRow(track_id=3, artist="c", title="z"),  # no position
    ]


def test_corrections_move_only_their_tracks_in_a_copy_of_the_index_and_survive_a_save(tmp_path) -> None:
    catalogue = TrackCatalogue.build(rows())
    moods = TrackMoods({1: (0.2, -0.1), 3: (0.1, 0.1), 99: (0.1, 0.1)})  # 99: a track deleted since
    corrected = moods.apply(catalogue)
    assert corrected.va[0].tolist() == pytest.approx([1.0, 0.1])  # clipped to [0, 1]
    assert corrected.va[1].tolist() == pytest.approx(catalogue.va[1].tolist())
    assert np.isnan(corrected.va[2]).all()  # no position stays none
    assert not np.allclose(corrected.music_emotions[0], catalogue.music_emotions[0])
    assert catalogue.va[0].tolist() == pytest.approx([0.9, 0.2])  # the index itself is untouched
    assert corrected.candidates((1.0, 0.1), 1).tolist() == [0]
    moods.save(tmp_path)
    assert TrackMoods.load(tmp_path) == moods


def personal_ratings(
    n_per_user: dict[int, int], seed: int = 0, inverted: tuple[int, ...] = (1,)
) -> RatingSet:
    """Users rate by same-valence-half; the users in `inverted` like the opposite (a strong taste)."""
    rng = np.random.default_rng(seed)
    users = np.concatenate([np.full(n, u) for u, n in n_per_user.items()])
    rng.shuffle(users)
    n = len(users)
    photo, track = rng.uniform(0, 1, (n, 2)), rng.uniform(0, 1, (n, 2))
    same = (photo[:, 0] > 0.5) == (track[:, 0] > 0.5)
    up = np.where(np.isin(users, inverted), ~same, same) != (rng.uniform(size=n) < 0.1)
    closeness = 1 - np.abs(photo[:, 0] - track[:, 0])
    va_match = np.clip(closeness + rng.normal(0, 0.3, n), 0, 1)
    return RatingSet(
        engine_scores=va_match,
        strategy_scores={"va_match": va_match},
        photo_va=photo,
        track_va=track,
        labels=up.astype(np.int64),
        groups=np.arange(n) // 5,
        times=np.arange(n, dtype=np.float64),
        extra={"users": users, "track_ids": rng.integers(1000, 1400, n)},
    )


def test_per_user_terms_need_the_minimum_and_shrink_toward_the_global_model() -> None:
    data = personal_ratings({1: MIN_RATINGS, 2: MIN_RATINGS - 1, 3: 400})
    model = fit_logistic(data, ["va_match"], "t")
    names = feature_names(model.strategies)
    x = data.features(model.strategies)
    spec = ut.calibrate(model.raw(x), data.labels, x, names)
    terms = ut.fit_users(spec, model.raw(x), x, names, data.labels, data.extra["users"])
    assert set(terms) == {1, 3} and terms[1][1] == MIN_RATINGS
    # A stronger ridge pulls the same user's terms closer to zero (the global model).
    rows = data.extra["users"] == 1
    loose = ut.fit_user(
        spec.inputs(x, names)[rows], spec.global_logit(model.raw(x))[rows], data.labels[rows], 1.0
    )
    tight = ut.fit_user(
        spec.inputs(x, names)[rows], spec.global_logit(model.raw(x))[rows], data.labels[rows], 1e4
    )
    assert np.abs(tight).sum() < 0.01 * np.abs(loose).sum()


def test_per_user_terms_apply_only_to_their_user_and_are_kept_only_when_they_help() -> None:
    data = personal_ratings({1: 300, 2: 300, 3: 300})
    candidate = fit_logistic(data.split_by_time(0.2)[0], ["va_match"], "t")
    learned = learn_beside(candidate, data)
    assert learned.metrics["user_terms_kept"], learned.metrics
    assert learned.metrics["user_terms_within_user_auc"] > learned.metrics["without_user_terms_auc"]
    assert candidate.personal is learned.spec and set(learned.kept_user_terms) == {1, 2, 3}
    # The inverted user's terms turn their ranking around; without terms, the global order is served.
    x = data.features(candidate.strategies)[:200]
    global_order = np.argsort(-candidate.score(x))
    assert (np.argsort(-candidate.score_for_user(x, None)) == global_order).all()
    inverted = candidate.score_for_user(x, learned.kept_user_terms[1][0])
    assert np.corrcoef(inverted, candidate.raw(x))[0, 1] < 0
    assert (
        np.corrcoef(candidate.score_for_user(x, learned.kept_user_terms[2][0]), candidate.raw(x))[0, 1] > 0.5
    )


def test_terms_that_do_not_help_on_held_out_ratings_are_not_kept() -> None:
    data = personal_ratings({1: 300, 2: 300}, inverted=())  # nobody has a taste of their own
    candidate = fit_logistic(data.split_by_time(0.2)[0], ["va_match"], "t")
    learned = learn_beside(candidate, data)
    assert learned.metrics["users_with_terms"] == 2
    assert not learned.metrics["user_terms_kept"], learned.metrics
    assert candidate.personal is None and learned.kept_user_terms == {} and len(learned.user_terms) == 2


def test_a_reranker_with_terms_and_corrections_survives_a_save(tmp_path) -> None:
    data = personal_ratings({1: 300, 2: 300})
    candidate = fit_logistic(data, ["va_match"], "t")
    learn_beside(candidate, data)
    candidate.track_moods = TrackMoods({5: (0.1, -0.05)})
    assert candidate.personal is not None
    files = candidate.save(tmp_path)
    loaded = Reranker.load(tmp_path)
    assert "track_moods.json" in files and loaded.track_moods == candidate.track_moods
    assert loaded.personal is not None and loaded.personal.scale_a == candidate.personal.scale_a
    assert list(FEATURES) == loaded.personal.to_json()["features"]


def test_each_users_weighted_auc_at_once_equals_scikit_learns_per_user() -> None:
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(0)
    n = 2000
    users, labels = rng.integers(30, size=n), rng.integers(0, 2, n)
    scores = np.round(rng.normal(size=n), 1)  # with ties
    weights = rng.integers(0, 3, n).astype(np.float64)  # as a bootstrap draws them
    got, valid = weighted_auc_per_user(scores, labels, users)(weights)
    assert valid.sum() >= 25
    for k, user in enumerate(np.unique(users)):
        rows = (users == user) & (weights > 0)
        if valid[k]:
            expected = roc_auc_score(labels[rows], scores[rows], sample_weight=weights[rows])
            assert got[k] == pytest.approx(expected, abs=1e-12)


def test_the_within_user_gain_bound_is_positive_only_for_a_gain_beyond_the_noise_of_the_runs() -> None:
    rng = np.random.default_rng(0)
    n = 400
    users, groups = np.arange(n) % 4, np.arange(n) // 5  # runs of 5 ratings, one user's each
    groups = groups * 4 + users  # ... made one user's
    labels = rng.integers(0, 2, n)
    before = rng.normal(size=n)
    better = before + 1.5 * (labels - 0.5)  # truly more in line with the ratings, for every user
    noise = before + rng.normal(0, 1.0, n)  # another ordering, no better
    assert within_user_auc_gain_lower_bound(better, before, labels, users, groups) > 0.05
    assert within_user_auc_gain_lower_bound(noise, before, labels, users, groups) < 0
    assert within_user_auc_gain_lower_bound(before, before, labels, users, groups) == 0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_ratings_keep_neither_terms_nor_corrections(seed) -> None:
    data = personal_ratings({1: 300, 2: 300, 3: 300}, seed=seed)
    data.labels = np.random.default_rng(seed + 10).integers(0, 2, len(data.labels))
    data.extra["track_ids"] = np.random.default_rng(seed).integers(1000, 1030, len(data.labels))
    candidate = fit_logistic(data.split_by_time(0.2)[0], ["va_match"], "t")
    learned = learn_beside(candidate, data)
    assert learned.metrics["users_with_terms"] == 3 and learned.metrics["track_moods_learned"] > 0
    assert not learned.metrics["user_terms_kept"] and not learned.metrics["track_moods_kept"], learned.metrics
    assert candidate.personal is None and candidate.track_moods is None
