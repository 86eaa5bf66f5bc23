"""A run from pending to done with the real engine, feedback that changes the next run, and faults."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import BinaryIO, cast

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from rest_framework.test import APIClient

from config.celery import app as celery_app
from inference import adapter
from photos.models import Feedback, Run
from photos.services import execution, runs
from photos.services import feedback as feedback_service
from tests.factories import RunFactory, TrackFactory, UserFactory, jpeg_bytes
from tests.worker import point_celery_at

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_index() -> None:
    adapter.reset()


@pytest.fixture
def catalogue() -> list:
    # 60 tracks by 20 artists spread over the mood plane.
    tracks = []
    for n in range(60):
        tracks.append(
            TrackFactory.create(artist=f"Artist {n % 20}", valence=(n % 10) / 9, arousal=((n * 7) % 10) / 9)
        )
    return tracks


def make_run(colour: tuple[int, int, int] = (240, 180, 60), **kwargs) -> Run:
    from photos.services.photos import store_photo

    user = kwargs.pop("user", None) or UserFactory.create()
    photo = store_photo(user, SimpleUploadedFile("p.jpg", jpeg_bytes(colour, (120, 90))), "p.jpg")
    return runs.create_run(photo, user, **kwargs)


def test_run_ends_done_with_ranked_items_and_reasons(catalogue) -> None:
    run = make_run(top_k=10)
    execution.execute(run.pk, worker="test")
    run.refresh_from_db()
    assert run.status == "done", run.error
    assert run.valence is not None and run.arousal is not None
    assert 0 <= run.valence <= 1 and 0 <= run.arousal <= 1
    assert abs(sum(run.emotions.values()) - 1) < 0.01
    assert run.mood_summary
    items = list(run.items.select_related("track"))
    assert [i.rank for i in items] == list(range(1, 11))
    scores = [i.score for i in items]
    assert scores == sorted(scores, reverse=True)
    artists = [i.track.artist for i in items]
    assert len(set(artists)) == len(artists)  # no artist twice in the top list
    assert all(i.reasons for i in items)
    assert run.attempts == 1


def test_a_claimed_run_is_not_run_twice(catalogue) -> None:
    run = make_run()
    assert runs.claim(run.pk, "worker-a")
    assert not runs.claim(run.pk, "worker-b")


def test_a_claim_returns_the_run_with_its_photo_and_records_when_and_who(catalogue) -> None:
    run = make_run(top_k=7, context="by the sea")
    before = timezone.now()
    claimed = runs.claim(run.pk, "worker-a")
    assert claimed is not None
    assert (claimed.pk, claimed.top_k, claimed.context) == (run.pk, 7, "by the sea")
    assert getattr(claimed, "photo_image") == run.photo.image.name  # noqa: B009 - set by the claim's SQL
    run.refresh_from_db()  # what the claim wrote reads back through the ORM as the right types
    assert run.status == "running" and run.worker == "worker-a" and run.attempts == 1
    assert run.started_at is not None
    assert before - timedelta(seconds=1) <= run.started_at <= timezone.now()


@pytest.mark.django_db(transaction=True)  # the foreign keys are checked when the worker's write commits
def test_a_track_deleted_after_the_index_was_read_is_left_out_of_the_result(catalogue) -> None:
    run = make_run(top_k=10)
    claimed = runs.claim(run.pk, "test")
    assert claimed is not None
    engine = adapter.engine()
    with claimed.photo.image.open("rb") as handle:
        analysis = engine.analyse(adapter.decode_photo(cast(BinaryIO, handle)))
    version, index = runs.ranking_index()
    ranking = list(engine.recommend(analysis, index, top_k=10))
    from catalogue.models import Track

    Track.objects.filter(pk=ranking[0].track_id).delete()
    execution._store_result(claimed, analysis, ranking, "engine", version)
    run.refresh_from_db()
    assert run.status == "done"
    kept = list(run.items.values_list("track_id", flat=True))
    assert kept == [r.track_id for r in ranking[1:]]
    assert list(run.items.values_list("rank", flat=True)) == list(range(1, 10))


def test_disliked_track_disappears_and_liked_track_is_boosted_with_a_reason(catalogue) -> None:
    user = UserFactory.create()
    first = make_run(user=user, top_k=10)
    execution.execute(first.pk, worker="test")
    first.refresh_from_db()  # the ratings record the photo's mood from the run, as a request reads it
    items = list(first.items.select_related("track"))
    disliked, liked = items[0], items[-1]
    feedback_service.rate(user, disliked, -1)
    feedback_service.rate(user, liked, 1)

    second = make_run(user=user, top_k=10)
    execution.execute(second.pk, worker="test")
    again = list(second.items.select_related("track"))
    track_ids = [i.track_id for i in again]
    assert disliked.track_id not in track_ids
    assert liked.track_id in track_ids
    boosted = next(i for i in again if i.track_id == liked.track_id)
    assert boosted.rank < liked.rank
    assert any("liked" in reason for reason in boosted.reasons)

    # Another user's ratings change nothing for this one.
    stranger = make_run(top_k=10)
    execution.execute(stranger.pk, worker="test")
    assert disliked.track_id in [i.track_id for i in stranger.items.all()]


def test_rating_through_the_api_and_changing_it(catalogue) -> None:
    run = make_run(top_k=5)
    execution.execute(run.pk, worker="test")
    run.refresh_from_db()
    item = run.items.get(rank=1)
    api = APIClient()
    api.force_authenticate(run.user)
    assert api.post("/api/feedback/", {"item": item.pk, "rating": 1}, format="json").status_code == 201
    assert api.post("/api/feedback/", {"item": item.pk, "rating": -1}, format="json").status_code == 201
    feedback = Feedback.objects.get()
    assert feedback.rating == -1
    assert feedback.photo_valence == pytest.approx(run.valence)
    assert api.post("/api/feedback/", {"item": item.pk, "rating": 5}, format="json").status_code == 400


def test_rating_on_the_web_page(client, catalogue) -> None:
    run = make_run(top_k=5)
    execution.execute(run.pk, worker="test")
    item = run.items.get(rank=1)
    client.force_login(run.user)
    page = client.get(f"/runs/{run.pk}/").content.decode()
    assert item.track.title in page and "valence" in page
    response = client.post(f"/items/{item.pk}/rate/", {"rating": "1"}, HTTP_ACCEPT="application/json")
    assert response.json() == {"item": item.pk, "rating": 1}
    assert Feedback.objects.get().rating == 1


def test_engine_error_fails_the_run_readably_and_it_can_be_retried(
    catalogue, monkeypatch, django_capture_on_commit_callbacks
) -> None:
    run = make_run()

    def broken_engine():
        raise RuntimeError("CUDA out of memory (simulated)")

    monkeypatch.setattr(adapter, "engine", broken_engine)
    execution.execute(run.pk, worker="test")
    run.refresh_from_db()
    assert run.status == "failed"
    assert run.error == runs.UNEXPECTED_MESSAGE
    assert "CUDA" not in run.error  # internals stay in the log
    monkeypatch.undo()

    sent: list[int] = []

    def record_dispatch(pk: int) -> bool:
        sent.append(pk)
        return True

    monkeypatch.setattr(runs, "dispatch", record_dispatch)
    with django_capture_on_commit_callbacks(execute=True):
        assert runs.retry(run)
    assert sent == [run.pk]
    run.refresh_from_db()
    assert run.status == "pending"
    execution.execute(run.pk, worker="test")
    run.refresh_from_db()
    assert run.status == "done"
    assert run.attempts == 2
    assert not runs.retry(run)  # a done run is not retried


def test_missing_photo_file_is_reported(catalogue) -> None:
    run = make_run()
    Path(run.photo.image.path).unlink()
    execution.execute(run.pk, worker="test")
    run.refresh_from_db()
    assert run.status == "failed"
    assert "missing" in run.error


def test_empty_catalogue_is_reported() -> None:
    run = make_run()
    execution.execute(run.pk, worker="test")
    run.refresh_from_db()
    assert run.status == "failed"
    assert run.error == runs.EMPTY_CATALOGUE_MESSAGE


def test_a_run_whose_worker_died_is_failed_not_left_running(settings) -> None:
    settings.RUN_STALE_AFTER_SECONDS = 60
    run = RunFactory.create(status="running", started_at=timezone.now() - timedelta(seconds=61))
    fresh = RunFactory.create(status="running", started_at=timezone.now())
    assert runs.reap_stale_runs()["failed"] == 1
    run.refresh_from_db()
    fresh.refresh_from_db()
    assert run.status == "failed" and run.error == runs.WORKER_LOST_MESSAGE
    assert fresh.status == "running"


def test_the_status_poll_shows_a_dead_run_as_failed_and_writes_nothing(client, settings) -> None:
    settings.RUN_STALE_AFTER_SECONDS = 60
    run = RunFactory.create(status="running", started_at=timezone.now() - timedelta(seconds=61))
    client.force_login(run.user)
    body = client.get(f"/runs/{run.pk}/status/").json()
    assert body["status"] == "failed" and body["finished"]
    assert body["message"] == runs.WORKER_LOST_MESSAGE
    page = client.get(f"/runs/{run.pk}/").content.decode()
    assert "Try again" in page
    run.refresh_from_db()
    assert run.status == "running" and run.error == ""  # the beat records it, not the read
    assert runs.reap_stale_runs()["failed"] == 1
    run.refresh_from_db()
    assert run.status == "failed" and run.error == runs.WORKER_LOST_MESSAGE and run.finished_at


def test_a_run_whose_worker_is_gone_can_be_retried_before_the_beat_records_it(
    client, settings, django_capture_on_commit_callbacks, monkeypatch
) -> None:
    settings.RUN_STALE_AFTER_SECONDS = 60
    run = RunFactory.create(status="running", started_at=timezone.now() - timedelta(seconds=61))
    monkeypatch.setattr(runs, "dispatch", lambda pk: True)
    assert runs.retry(run)
    run.refresh_from_db()
    assert run.status == "pending" and run.error == ""


def test_a_run_no_worker_takes_is_failed_after_the_timeout(settings) -> None:
    settings.RUN_PENDING_TIMEOUT_SECONDS = 60
    run = RunFactory.create(status="pending", dispatched_at=timezone.now() - timedelta(seconds=61))
    runs.reap_stale_runs()
    run.refresh_from_db()
    assert run.status == "failed" and run.error == runs.NO_WORKER_MESSAGE


@pytest.fixture
def dead_broker():
    """Point the Celery app at a port where nothing listens (a real connection attempt that fails)."""
    old = point_celery_at("redis://127.0.0.1:9/0")
    yield
    point_celery_at(old)


def test_broker_down_at_upload_keeps_the_photo_and_says_so(
    dead_broker, django_capture_on_commit_callbacks
) -> None:
    api = APIClient()
    api.force_authenticate(UserFactory.create())
    started = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/api/photos/", {"image": SimpleUploadedFile("a.jpg", jpeg_bytes())})
    assert (timezone.now() - started).total_seconds() < 10  # no endless connection retries
    assert response.status_code == 202
    run = Run.objects.get()
    assert run.status == "pending" and run.dispatched_at is None
    assert Path(run.photo.image.path).exists()
    assert api.get(f"/api/runs/{run.pk}/").json()["message"] == runs.BROKER_DOWN_MESSAGE


def test_an_undispatched_run_is_sent_when_the_broker_is_back(settings, monkeypatch) -> None:
    settings.RUN_REDISPATCH_AFTER_SECONDS = 5
    run = RunFactory.create(status="pending", dispatched_at=None)
    Run.objects.filter(pk=run.pk).update(created_at=timezone.now() - timedelta(seconds=6))
    sent: list[int] = []
    monkeypatch.setattr(celery_app, "send_task", lambda name, args: sent.append(args[0]))
    assert runs.reap_stale_runs()["resent"] == 1
    assert sent == [run.pk]
    run.refresh_from_db()
    assert run.dispatched_at is not None


def test_deleting_a_photo_removes_its_file_runs_and_ratings(
    catalogue, django_capture_on_commit_callbacks
) -> None:
    run = make_run(top_k=3)
    execution.execute(run.pk, worker="test")
    feedback_service.rate(run.user, run.items.get(rank=1), 1)
    path = Path(run.photo.image.path)
    api = APIClient()
    api.force_authenticate(run.user)
    with django_capture_on_commit_callbacks(execute=True):
        assert api.delete(f"/api/photos/{run.photo_id}/").status_code == 204
    assert not path.exists()
    assert not Run.objects.exists()
    assert not Feedback.objects.exists()


def test_a_shared_file_survives_when_another_user_still_has_it(django_capture_on_commit_callbacks) -> None:
    first = make_run(colour=(1, 2, 3))
    second = make_run(colour=(1, 2, 3))
    assert first.photo.image.name == second.photo.image.name
    from photos.services.photos import delete_photo

    with django_capture_on_commit_callbacks(execute=True):
        delete_photo(first.photo)
    assert Path(second.photo.image.path).exists()


def test_a_track_finds_the_photos_that_fit_it(client, catalogue) -> None:
    user = UserFactory.create()
    bright = make_run(colour=(250, 220, 120), user=user, top_k=5)
    dark = make_run(colour=(10, 10, 30), user=user, top_k=5)
    for run in (bright, dark):
        execution.execute(run.pk, worker="test")
    unanalysed = make_run(colour=(90, 140, 90), user=user)  # never run: no embedding yet
    happy = TrackFactory.create(valence=0.95, arousal=0.8, genre="pop", tags=["party", "summer"])
    api = APIClient()
    api.force_authenticate(user)
    body = api.get(f"/api/photos/for-track/{happy.pk}/").json()
    ids = [entry["photo"]["id"] for entry in body]
    assert sorted(ids) == sorted([bright.photo_id, dark.photo_id])  # only analysed photos, each once
    assert unanalysed.photo_id not in ids
    assert all(0 <= entry["score"] <= 1 for entry in body)
    assert body[0]["score"] >= body[1]["score"]
    # Another user sees none of them.
    stranger = APIClient()
    stranger.force_authenticate(UserFactory.create())
    assert stranger.get(f"/api/photos/for-track/{happy.pk}/").json() == []
    client.force_login(user)
    page = client.get(f"/tracks/{happy.pk}/photos/").content.decode()
    assert f"/photos/{bright.photo_id}/image/" in page


def test_results_page_plays_tracks_that_have_audio(catalogue, client, settings) -> None:
    from django.core.files.base import ContentFile

    from catalogue.models import Track
    from tests.factories import wav_bytes

    run = make_run(top_k=10)
    execution.execute(run.pk, worker="test")
    first, second = [item.track for item in run.items.select_related("track")[:2]]
    first.audio.save("clip.wav", ContentFile(wav_bytes()))
    client.force_login(run.user)
    page = client.get(f"/runs/{run.pk}/").content.decode()
    assert page.count('data-testid="player"') == 1
    assert f'src="/tracks/{first.pk}/audio/"' in page
    assert Track.objects.get(pk=second.pk).audio.name == ""


def test_polling_a_pending_run_reads_only_the_token_and_the_run(catalogue, django_assert_num_queries) -> None:
    run = make_run()
    api = APIClient()
    from rest_framework.authtoken.models import Token

    token = Token.objects.create(user=run.user)
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    with django_assert_num_queries(2):
        body = api.get(f"/api/runs/{run.pk}/").json()
    assert body["status"] == "pending" and body["items"] == [] and body["message"]
    execution.execute(run.pk, worker="test")
    body = api.get(f"/api/runs/{run.pk}/").json()
    assert body["status"] == "done" and len(body["items"]) == run.top_k
    assert all(item["my_rating"] is None for item in body["items"])
