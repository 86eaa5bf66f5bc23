"""The README's curl lines against Django's development server (the WSGI server `./run demo` starts).

The development server checks header values strictly (each must be a str, not a subclass), which Django's
test client does not: these requests go over a real socket to a real server thread.
"""

from __future__ import annotations

import uuid

import pytest
import requests
from rest_framework.authtoken.models import Token

from photos.models import Photo, Run
from photos.services import runs
from tests.factories import UserFactory, jpeg_bytes

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def token_headers() -> dict[str, str]:
    user = UserFactory.create()
    return {"Authorization": f"Token {Token.objects.create(user=user).key}"}


def test_upload_and_new_run_answer_202_with_a_location(live_server, token_headers) -> None:
    upload = requests.post(
        f"{live_server.url}/api/photos/",
        headers=token_headers,
        files={"image": ("beach.jpg", jpeg_bytes(), "image/jpeg")},
        data={"mode": "match"},
        timeout=30,
    )
    assert upload.status_code == 202, upload.text
    run = upload.json()
    assert upload.headers["Location"] == run["url"]
    assert run["message"] != runs.BROKER_DOWN_MESSAGE  # the embedded broker took the task
    again = requests.post(
        f"{live_server.url}/api/runs/",
        headers=token_headers,
        json={"photo": run["photo"], "mode": "lift"},
        timeout=30,
    )
    assert again.status_code == 202, again.text
    assert again.headers["Location"].endswith(f"/api/runs/{again.json()['id']}/")
    assert Run.objects.count() == 2


def test_a_retried_upload_with_the_same_key_starts_one_run(live_server, token_headers) -> None:
    headers = {**token_headers, "Idempotency-Key": str(uuid.uuid4())}
    answers = [
        requests.post(
            f"{live_server.url}/api/photos/",
            headers=headers,
            files={"image": ("beach.jpg", jpeg_bytes(), "image/jpeg")},
            timeout=30,
        )
        for _ in range(3)
    ]
    assert [a.status_code for a in answers] == [202, 202, 202]
    assert len({a.json()["id"] for a in answers}) == 1
    assert len({a.headers["Location"] for a in answers}) == 1
    assert Run.objects.count() == 1 and Photo.objects.count() == 1
