"""What the API answers: Idempotency-Key replays, the 202's message, bad query parameters."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from photos.models import Run
from photos.serializers import RunCreateSerializer
from photos.services import idempotency, runs
from tests.factories import PhotoFactory, UserFactory, jpeg_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    cache.clear()


@pytest.fixture
def user():
    return UserFactory.create()


@pytest.fixture
def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def new_run(api: APIClient, photo_id: int, key: str | None, **options):
    headers = {"Idempotency-Key": key} if key is not None else {}
    return api.post("/api/runs/", {"photo": photo_id, **options}, format="json", headers=headers)


def test_location_header_is_a_plain_string(api, user) -> None:
    photo = PhotoFactory.create(owner=user)
    response = new_run(api, photo.pk, None)
    assert response.status_code == 202
    assert type(response.headers["Location"]) is str
    assert response.headers["Location"].endswith(f"/api/runs/{response.json()['id']}/")


def test_same_key_same_request_is_one_run_and_other_keys_are_new_runs(api, user) -> None:
    photo = PhotoFactory.create(owner=user)
    first = new_run(api, photo.pk, "key-1", mode="lift")
    again = new_run(api, photo.pk, "key-1", mode="lift")
    other = new_run(api, photo.pk, "key-2", mode="lift")
    assert first.status_code == again.status_code == other.status_code == 202
    assert first.json()["id"] == again.json()["id"] != other.json()["id"]
    assert Run.objects.count() == 2


def test_a_key_is_per_user(api, user) -> None:
    photo = PhotoFactory.create(owner=user)
    new_run(api, photo.pk, "shared")
    someone = UserFactory.create()
    their_api = APIClient()
    their_api.force_authenticate(someone)
    theirs = new_run(their_api, PhotoFactory.create(owner=someone).pk, "shared")
    assert theirs.status_code == 202
    assert Run.objects.filter(user=someone).count() == 1


def test_same_key_for_a_different_request_is_a_422(api, user) -> None:
    photo = PhotoFactory.create(owner=user)
    assert new_run(api, photo.pk, "k", mode="match").status_code == 202
    response = new_run(api, photo.pk, "k", mode="lift")
    assert response.status_code == 422
    assert "different request" in response.json()["detail"]
    assert Run.objects.count() == 1


def test_a_key_still_in_progress_is_a_409(api, user) -> None:
    photo = PhotoFactory.create(owner=user)
    form = RunCreateSerializer(data={"photo": photo.pk})  # the options as the view reads them
    assert form.is_valid(), form.errors
    fp = idempotency.fingerprint(sorted(form.validated_data.items()))
    with idempotency.reserve(user.pk, "runs", "busy", fp):
        response = new_run(api, photo.pk, "busy")
        assert response.status_code == 409
    assert Run.objects.count() == 0


def test_a_rejected_upload_frees_its_key(api) -> None:
    def send():
        image = SimpleUploadedFile("a.jpg", b"not a photo, but the same bytes each time")
        return api.post("/api/photos/", {"image": image}, HTTP_IDEMPOTENCY_KEY="u1")

    first, again = send(), send()
    assert first.status_code == 400
    assert again.status_code == 400  # handled again, not "still in progress" (409)
    assert "not an image" in " ".join(again.json()["image"])
    assert Run.objects.count() == 0


def test_an_unusable_key_is_a_400(api, user) -> None:
    response = new_run(api, PhotoFactory.create(owner=user).pk, "x" * 300)
    assert response.status_code == 400
    assert Run.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_accepted_upload_does_not_say_the_service_is_unreachable(api) -> None:
    response = api.post("/api/photos/", {"image": SimpleUploadedFile("p.jpg", jpeg_bytes())})
    assert response.status_code == 202
    assert response.json()["message"] == "Waiting for a worker…"
    assert response.json()["message"] != runs.BROKER_DOWN_MESSAGE


NUL_URLS = [
    "/api/tracks/?q=%00",
    "/api/tracks/?genre=%00",
    "/api/tracks/?q=a%00b&genre=pop",
    "/api/runs/?page=1%00",
    "/admin/catalogue/track/?genre__exact=%00",
    "/admin/catalogue/track/?q=%00",
]


@pytest.mark.parametrize("url", NUL_URLS)
def test_a_nul_in_the_query_is_a_400_not_a_500(client, url) -> None:
    client.force_login(UserFactory.create(is_staff=True, is_superuser=True))
    response = client.get(url)
    assert response.status_code == 400
    assert "NUL" in response.content.decode()


@pytest.mark.parametrize(
    "query, name",
    [("page=", "page"), ("page=0", "page"), ("page=x", "page"), ("energy_max=", "energy_max"),
     ("valence_min=nan", "valence_min"), ("energy_min=inf", "energy_min")],
)
def test_an_empty_or_malformed_parameter_is_a_400(api, query, name) -> None:
    response = api.get(f"/api/tracks/?{query}")
    assert response.status_code == 400
    assert name in response.json()


def test_a_page_past_the_end_is_a_404_and_last_works(api) -> None:
    assert api.get("/api/tracks/?page=99").status_code == 404
    assert api.get("/api/tracks/?page=last").status_code == 200
    assert api.get("/api/tracks/?page=1&energy_max=0.5").status_code == 200


def test_a_body_over_the_limit_is_refused_before_it_is_read(api, settings) -> None:
    settings.REQUEST_MAX_BYTES = 10_000
    response = api.post(
        "/api/photos/", {"image": SimpleUploadedFile("big.jpg", jpeg_bytes(size=(800, 800)) + b"\0" * 20_000)}
    )
    assert response.status_code == 413
    assert "limit" in response.json()["detail"]
    assert Run.objects.count() == 0
