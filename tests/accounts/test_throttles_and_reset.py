"""Rate limits (one run budget for API and web; sign-in failures only; wrong tokens), tokens by password,
password reset by email."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from accounts import throttle
from photos.models import Run
from tests.factories import PhotoFactory, UserFactory, jpeg_bytes

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def _fresh_throttle() -> None:
    cache.clear()


def test_api_and_web_uploads_and_new_runs_share_one_budget(client) -> None:
    user = UserFactory.create()
    api = APIClient()
    api.force_authenticate(user)
    client.force_login(user)
    photo = PhotoFactory.create(owner=user)
    budget = throttle.per_minute("uploads")
    for _ in range(budget - 2):
        assert api.post("/api/runs/", {"photo": photo.pk}, format="json").status_code == 202
    web = client.post("/", {"image": SimpleUploadedFile("a.jpg", jpeg_bytes()), "mode": "match"})
    assert web.status_code == 302
    assert api.post("/api/photos/", {"image": SimpleUploadedFile("b.jpg", jpeg_bytes())}).status_code == 202
    # The budget is spent, whichever way the next run would come.
    refused = api.post("/api/runs/", {"photo": photo.pk}, format="json")
    assert refused.status_code == 429 and refused["Retry-After"]
    assert api.post("/api/photos/", {"image": SimpleUploadedFile("c.jpg", jpeg_bytes())}).status_code == 429
    web = client.post("/", {"image": SimpleUploadedFile("d.jpg", jpeg_bytes()), "mode": "match"})
    assert web.status_code == 429
    # The results page's "run again" (other mode, filters, a chosen mood) draws on it too.
    last = Run.objects.filter(user=user).first()
    assert last is not None
    page = client.post(f"/runs/{last.pk}/again/", {"mode": "lift"}, follow=True)
    assert "too fast" in page.content.decode()
    assert Run.objects.count() == budget


def test_sign_in_throttle_counts_failures_per_username_and_address(client) -> None:
    UserFactory.create(username="alice")
    UserFactory.create(username="bob")
    limit = throttle.per_minute("login")
    for _ in range(limit):
        assert client.post("/accounts/login/", {"username": "alice", "password": "wrong"}).status_code == 200
    refused = client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    assert refused.status_code == 429
    assert "Too many failed sign-in attempts" in refused.content.decode()
    # Bob, from the same address, is not refused for Alice's mistakes.
    assert client.post("/accounts/login/", {"username": "bob", "password": PASSWORD}).status_code == 302


def test_successful_sign_ins_are_not_counted(client) -> None:
    UserFactory.create(username="carol")
    for _ in range(throttle.per_minute("login") + 5):
        assert client.post("/accounts/login/", {"username": "carol", "password": PASSWORD}).status_code == 302
        client.logout()


def test_wrong_tokens_are_throttled() -> None:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
    answers = [api.get("/api/runs/").status_code for _ in range(throttle.per_minute("login") + 2)]
    assert answers[: throttle.per_minute("login")] == [401] * throttle.per_minute("login")
    assert answers[-1] == 429
    assert api.get("/api/runs/")["Retry-After"]


def test_a_token_for_a_username_and_password() -> None:
    user = UserFactory.create(username="dave")
    api = APIClient()
    answer = api.post("/api/token/", {"username": "dave", "password": PASSWORD}, format="json")
    assert answer.status_code == 200
    token = answer.json()["token"]
    again = api.post("/api/token/", {"username": "dave", "password": PASSWORD}, format="json")
    assert again.json()["token"] == token  # the same token, not a new one
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.get("/api/runs/").status_code == 200
    assert user.auth_token.key == token


def test_a_wrong_password_gets_no_token_and_is_throttled() -> None:
    UserFactory.create(username="erin")
    api = APIClient()
    limit = throttle.per_minute("login")
    answers = [
        api.post("/api/token/", {"username": "erin", "password": "nope"}, format="json").status_code
        for _ in range(limit + 1)
    ]
    assert answers == [400] * limit + [429]


def test_the_first_token_does_not_say_an_old_one_stopped_working(client) -> None:
    client.force_login(UserFactory.create())
    first = client.post("/accounts/token/", follow=True).content.decode()
    assert "Your API token was created." in first
    assert "no longer works" not in first
    second = client.post("/accounts/token/", follow=True).content.decode()
    assert "the old one no longer works" in second


def test_password_reset_by_email(client) -> None:
    user = UserFactory.create(username="frank", email="frank@example.org")
    assert "Forgot your password?" in client.get("/accounts/login/").content.decode()
    sent = client.post("/accounts/password/reset/", {"email": "frank@example.org"})
    assert sent.status_code == 302
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["frank@example.org"]
    link = re.search(r"https?://[^/\s]+(/accounts/password/reset/\S+/)", str(mail.outbox[0].body))
    assert link, mail.outbox[0].body
    form = client.get(link.group(1), follow=True)
    assert "Choose a new password" in form.content.decode()
    done = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": "a brand new phrase 7", "new_password2": "a brand new phrase 7"},
    )
    assert done.status_code == 302
    user.refresh_from_db()
    assert user.check_password("a brand new phrase 7")
    # The link works once.
    assert "no longer works" in client.get(link.group(1), follow=True).content.decode()


def test_password_reset_for_an_unknown_address_sends_nothing_and_says_the_same(client) -> None:
    answer = client.post("/accounts/password/reset/", {"email": "nobody@example.org"}, follow=True)
    assert "Check your email" in answer.content.decode()
    assert mail.outbox == []
