"""Each user sees only their own photos, runs and ratings; anonymous users are sent to log in."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from rest_framework.test import APIClient

from photos.models import Feedback, RunItem
from tests.factories import RunFactory, TrackFactory, UserFactory, jpeg_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def someone_elses():
    run = RunFactory.create(status="done", valence=0.5, arousal=0.5)
    item = RunItem.objects.create(run=run, track=TrackFactory.create(), rank=1, score=0.9)
    feedback = Feedback.objects.create(user=run.user, item=item, track=item.track, rating=1)
    return run, item, feedback


def test_api_hides_other_users_things(someone_elses) -> None:
    run, item, feedback = someone_elses
    api = APIClient()
    api.force_authenticate(UserFactory.create())
    assert api.get(f"/api/photos/{run.photo_id}/").status_code == 404
    assert api.delete(f"/api/photos/{run.photo_id}/").status_code == 404
    assert api.get(f"/api/runs/{run.pk}/").status_code == 404
    assert api.post(f"/api/runs/{run.pk}/retry/").status_code == 404
    assert api.get(f"/api/feedback/{feedback.pk}/").status_code == 404
    assert api.get("/api/photos/").json()["results"] == []
    assert api.get("/api/runs/").json()["results"] == []
    assert api.get("/api/feedback/").json()["results"] == []
    rated = api.post("/api/feedback/", {"item": item.pk, "rating": -1}, format="json")
    assert rated.status_code == 400
    assert Feedback.objects.get().rating == 1  # untouched


def test_web_hides_other_users_things(client, someone_elses) -> None:
    run, item, _ = someone_elses
    client.force_login(UserFactory.create())
    assert client.get(f"/runs/{run.pk}/").status_code == 404
    assert client.get(f"/runs/{run.pk}/status/").status_code == 404
    assert client.get(f"/photos/{run.photo_id}/image/").status_code == 404
    assert client.post(f"/items/{item.pk}/rate/", {"rating": "-1"}).status_code == 404
    assert client.post(f"/photos/{run.photo_id}/delete/").status_code == 404
    assert Feedback.objects.get().rating == 1


def test_owner_sees_own_run_with_items(someone_elses) -> None:
    run, item, _ = someone_elses
    api = APIClient()
    api.force_authenticate(run.user)
    client = Client()
    client.force_login(run.user)
    image = client.get(f"/photos/{run.photo_id}/image/")
    assert image.status_code == 200 and image["Content-Type"] == "image/jpeg"
    body = api.get(f"/api/runs/{run.pk}/").json()
    assert body["items"][0]["track"]["title"] == item.track.title
    assert body["items"][0]["my_rating"] == 1


def test_anonymous_is_sent_to_login(client) -> None:
    for url in ("/history/", "/runs/1/", "/accounts/profile/"):  # "/" is the landing page (test_results_page)
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
    assert APIClient().get("/api/runs/").status_code in (401, 403)


def test_forms_need_a_csrf_token() -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(UserFactory.create())
    response = client.post("/", {"image": SimpleUploadedFile("a.jpg", jpeg_bytes()), "mode": "match"})
    assert response.status_code == 403


def test_uploads_are_throttled(settings) -> None:
    cache.clear()
    api = APIClient()
    api.force_authenticate(UserFactory.create())
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "uploads": "2/minute"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    codes = [
        api.post("/api/photos/", {"image": SimpleUploadedFile(f"{i}.jpg", jpeg_bytes())}).status_code
        for i in range(3)
    ]
    assert codes == [202, 202, 429]


def test_logins_are_throttled(client) -> None:
    cache.clear()
    UserFactory.create(username="alice")
    codes = [
        client.post("/accounts/login/", {"username": "alice", "password": "wrong"}).status_code
        for _ in range(12)
    ]
    assert codes[:10] == [200] * 10  # wrong password: the form again
    assert codes[10:] == [429, 429]
    response = client.post(
        "/accounts/login/", {"username": "alice", "password": "correct horse battery staple"}
    )
    assert response.status_code == 429
    assert "Too many failed sign-in attempts" in response.content.decode()
    cache.clear()
