"""What retraining learns beside the global reranker, through the registry: per-user terms (stored for
users with enough ratings, served only for their runs, gone with the account and from the next training
run) and corrections of tracks' mood positions (in the artifact, served in the ranking index, none for
tracks taken out), picked up by a worker without a restart."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from accounts.models import User
from catalogue.models import Track
from inference import adapter
from photos.models import Feedback, Run, RunItem
from photos.services.runs import ranking_index
from recommender.lab import rating_learners, track_mood_training
from recommender.mood import PHOTO_AROUSAL_MEAN, PHOTO_AROUSAL_SD
from recommender.user_terms import MIN_RATINGS
from registry import serving, training
from registry.models import ModelVersion, UserTerms
from tests.factories import PhotoFactory, TrackFactory, UserFactory

pytestmark = pytest.mark.django_db

Taste = Callable[[tuple[float, float], tuple[float, float]], bool]


def same_quadrant(photo: tuple[float, float], track: tuple[float, float]) -> bool:
    return (photo[0] > 0.5) == (track[0] > 0.5) and (photo[1] > 0.5) == (track[1] > 0.5)


def opposite_valence(photo: tuple[float, float], track: tuple[float, float]) -> bool:
    return (photo[0] > 0.5) != (track[0] > 0.5) and (photo[1] > 0.5) == (track[1] > 0.5)


def as_the_mood_model_reads(arousal: float, stats: tuple[float, float]) -> float:
    """A photo arousal on the catalogue's scale -> on the mood model's narrow one (the engine aligns it
    back: pipeline.aligned_arousal)."""
    return PHOTO_AROUSAL_MEAN + (arousal - stats[0]) * PHOTO_AROUSAL_SD / stats[1]


def rate(
    tastes: list[tuple[User, Taste, int]], tracks: list[tuple[Track, tuple[float, float]]], seed: int = 0
):
    """Runs of 10 tracks each, users taking turns (runs_per_user each); each user rates every item by their
    taste of the track's true position (10% flipped). The engine's scores see only the labels, noisily."""
    rng = np.random.default_rng(seed)
    label_arousal = np.array([t.arousal for t, _ in tracks], dtype=np.float64)
    stats = (float(label_arousal.mean()), float(label_arousal.std()))
    turns = [(user, taste) for user, taste, runs in tastes for _ in range(runs)]
    order = rng.permutation(len(turns))
    for t in order:
        user, taste = turns[int(t)]
        photo_va = (float(rng.uniform()), float(rng.uniform()))
        read = (photo_va[0], as_the_mood_model_reads(photo_va[1], stats))
        run = Run.objects.create(
            photo=PhotoFactory.create(owner=user), user=user, status="done", valence=read[0], arousal=read[1]
        )
        items, ratings = [], []
        for rank, i in enumerate(rng.choice(len(tracks), 10, replace=False), start=1):
            track, truth = tracks[int(i)]
            label = (float(track.valence or 0), float(track.arousal or 0))
            closeness = 1 - np.hypot(label[0] - photo_va[0], label[1] - photo_va[1]) / np.sqrt(2)
            va_match = float(np.clip(closeness + rng.normal(0, 0.3), 0, 1))
            items.append(
                RunItem(
                    run=run, track=track, rank=rank, score=va_match, strategy_scores={"va_match": va_match}
                )
            )
            up = taste(photo_va, truth) != (rng.uniform() < 0.1)
            ratings.append((track, up))
        for item, (track, up) in zip(RunItem.objects.bulk_create(items), ratings, strict=True):
            Feedback.objects.create(
                user=user,
                item=item,
                track=track,
                rating=1 if up else -1,
                photo_valence=read[0],
                photo_arousal=read[1],
            )


def labelled_tracks(
    n: int = 30, seed: int = 1, mislabel: float = 0.0
) -> list[tuple[Track, tuple[float, float]]]:
    """Tracks with a true position; every other one labelled `mislabel` off it on valence."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        truth = (float(rng.uniform(0.05, 0.95)), float(rng.uniform(0.05, 0.95)))
        off = mislabel * (1 if truth[0] < 0.5 else -1) if i % 2 == 0 else 0.0
        track = TrackFactory.create(
            artist=f"A{i}", valence=float(np.clip(truth[0] + off, 0, 1)), arousal=truth[1]
        )
        out.append((track, truth))
    return out


def retrain_now() -> ModelVersion:
    return training.retrain(training.start_retraining(queue=False).pk)


@pytest.fixture
def three_users():
    tracks = labelled_tracks()
    plain, inverted, few = UserFactory.create(), UserFactory.create(), UserFactory.create()
    others = [UserFactory.create() for _ in range(2)]
    rated = [(u, same_quadrant, 20) for u in (plain, *others)]
    # The inverted user's held-out runs must be enough for their terms' gain to show with the keep rule's
    # 95% confidence (rating_learners): a mean over four users, three of whom gain nothing.
    rate([*rated, (inverted, opposite_valence, 60), (few, same_quadrant, 2)], tracks)
    return plain, inverted, few


def test_per_user_terms_are_stored_for_users_with_enough_ratings_and_served_only_for_their_runs(
    three_users,
) -> None:
    plain, inverted, few = three_users
    version = retrain_now()
    assert version.status == "active", version.reason
    assert version.metrics["user_terms_kept"], version.metrics
    stored = {t.user_id: t for t in UserTerms.objects.filter(version=version)}
    assert plain.pk in stored and inverted.pk in stored and few.pk not in stored  # few: 20 ratings
    assert all(t.ratings >= MIN_RATINGS for t in stored.values())
    served = serving.active()
    assert served.user_weights(few.pk) is None and served.user_weights(None) is None
    # The same photo ranked for each user: only the user with terms of their own sees another order.
    analysis = adapter.PhotoAnalysis(0.85, 0.7, {}, np.full(1280, 1280**-0.5, dtype=np.float32), {}, [])
    ids = {u: [t.track_id for t in served.recommend(analysis, 10, u)] for u in (None, few.pk, inverted.pk)}
    assert ids[few.pk] == ids[None]
    assert ids[inverted.pk] != ids[None]
    # The inverted user's top tracks are the unpleasant ones the global reranker puts last.
    valence = {t.pk: t.valence for t in Track.objects.all()}
    assert np.mean([valence[t] for t in ids[inverted.pk][:5]]) < np.mean([valence[t] for t in ids[None][:5]])


def test_deleting_an_account_deletes_its_terms_and_the_next_training_run_learns_none_for_it(
    three_users,
) -> None:
    _, inverted, _ = three_users
    first = retrain_now()
    assert UserTerms.objects.filter(version=first, user=inverted).exists()
    assert serving.active().user_weights(inverted.pk) is not None
    inverted_pk = inverted.pk
    inverted_ratings = Feedback.objects.filter(user=inverted).count()
    inverted.delete()
    assert not UserTerms.objects.filter(user_id=inverted_pk).exists()
    # Never served again, even by the version it was in.
    assert serving.active().user_weights(inverted_pk) is None
    second = retrain_now()
    assert second.data_snapshot["ratings_used"] == first.data_snapshot["ratings_used"] - inverted_ratings
    assert second.metrics["users_with_terms"] == first.metrics["users_with_terms"] - 1
    assert not UserTerms.objects.filter(version=second, user_id=inverted_pk).exists()


@pytest.fixture
def corrections_kept(monkeypatch) -> None:
    """The keep rule says yes to the corrections (in these small worlds their held-out gain is within the
    noise: test_track_corrections_without_a_confident_gain_are_not_kept), so that what a kept correction
    does can be tested."""
    monkeypatch.setattr(rating_learners, "auc_gain_lower_bound", lambda *args: 1.0)


def test_track_corrections_without_a_confident_gain_are_not_kept() -> None:
    tracks = labelled_tracks(n=20, mislabel=0.25)
    users = [UserFactory.create() for _ in range(4)]
    rate([(u, same_quadrant, 12) for u in users], tracks, seed=3)
    version = retrain_now()
    assert version.status == "active", version.reason
    assert version.metrics["track_moods_learned"] >= 10
    assert version.metrics["track_moods_gain_lower_bound"] <= 0, version.metrics
    assert not version.metrics["track_moods_kept"] and "track_moods.json" not in version.files
    served = serving.active()
    assert served.reranker is not None and served.reranker.track_moods is None
    assert served.catalogue is ranking_index()[1]  # the catalogue's own positions


def test_track_corrections_move_mislabelled_tracks_toward_their_truth_in_the_served_index(
    corrections_kept,
) -> None:
    tracks = labelled_tracks(n=20, mislabel=0.25)
    users = [UserFactory.create() for _ in range(4)]
    rate([(u, same_quadrant, 12) for u in users], tracks, seed=3)
    version = retrain_now()
    assert version.status == "active", version.reason
    assert version.metrics["track_moods_kept"], version.metrics
    assert "track_moods.json" in version.files
    served = serving.active().catalogue
    _, index = ranking_index()
    assert served is not index and serving.active().catalogue is served  # one copy per index
    rows = index.row_of([t.pk for t, _ in tracks])
    closer = farther = 0
    for track, truth in tracks[::2]:  # the mislabelled ones
        before = abs(float(index.va[rows[track.pk], 0]) - truth[0])
        after = abs(float(served.va[rows[track.pk], 0]) - truth[0])
        closer += after < before - 1e-6
        farther += after > before + 1e-6
        assert (
            abs(float(served.va[rows[track.pk], 0]) - float(index.va[rows[track.pk], 0]))
            <= track_mood_training.MAX_SHIFT + 1e-6
        )
    assert closer > 2 * farther, (closer, farther)


def test_ratings_of_tracks_taken_out_are_skipped_counted_and_move_no_track(corrections_kept) -> None:
    tracks = labelled_tracks(n=20, mislabel=0.25)
    users = [UserFactory.create() for _ in range(4)]
    rate([(u, same_quadrant, 12) for u in users], tracks, seed=3)
    gone = tracks[0][0]
    Track.objects.filter(pk=gone.pk).update(is_active=False)
    version = retrain_now()
    skipped = Feedback.objects.filter(track=gone).count()
    assert skipped and version.data_snapshot["skipped_inactive_tracks"] == skipped
    assert version.status == "active" and version.metrics["track_moods_kept"], version.metrics
    serving.use_active_versions()
    reranker = adapter.served_reranker()
    assert reranker is not None and reranker.track_moods is not None
    assert gone.pk not in reranker.track_moods.shifts and len(reranker.track_moods) >= 10


def test_a_worker_picks_up_a_new_version_with_its_terms_and_a_users_run_uses_them(three_users) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from photos.services import execution, runs
    from photos.services.photos import store_photo
    from registry.services import activate
    from tests.factories import jpeg_bytes

    _, inverted, few = three_users
    served = serving.active()
    assert served.reranker is None and served.user_weights(inverted.pk) is None
    first = retrain_now()
    second = retrain_now()  # the same ratings: it does not beat the first, an admin activates it
    assert first.status == "active" and UserTerms.objects.filter(version=second).exists()
    activate(second.pk)
    served = serving.active()  # the next run's check: the registry moved on
    assert served.reranker is not None and served.reranker.version == second.name
    expected = UserTerms.objects.get(version=second, user=inverted).weights
    weights = served.user_weights(inverted.pk)
    assert weights is not None and weights.tolist() == expected

    def run_for(user) -> list[int]:
        upload = SimpleUploadedFile("p.jpg", jpeg_bytes((240, 180, 60), (120, 90)), "image/jpeg")
        run = runs.create_run(store_photo(user, upload, "p.jpg"), user, top_k=8)
        execution.execute(run.pk, worker="test")
        run.refresh_from_db()
        assert run.status == "done", run.error
        return [i.track_id for i in run.items.all()]

    assert run_for(inverted) != run_for(few)
