from __future__ import annotations

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts.models import User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def _fresh_throttle() -> None:
    cache.clear()


def test_sign_up_logs_the_new_user_in(client) -> None:
    response = client.post(
        "/accounts/signup/",
        {
            "username": "newbie",
            "email": "n@example.org",
            "password1": "a-long pass phrase 9",
            "password2": "a-long pass phrase 9",
        },
    )
    assert response.status_code == 302
    user = User.objects.get(username="newbie")
    assert not user.is_staff
    assert client.get("/").context["user"] == user


def test_sign_up_rejects_a_weak_password(client) -> None:
    response = client.post("/accounts/signup/", {"username": "x", "password1": "123", "password2": "123"})
    assert response.status_code == 200
    assert not User.objects.filter(username="x").exists()
    assert "too short" in response.content.decode()


def test_log_in_and_out(client) -> None:
    UserFactory.create(username="bob")
    response = client.post("/accounts/login/", {"username": "bob", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/history/").status_code == 302  # "/" is the landing page for visitors


def test_change_password(client) -> None:
    user = UserFactory.create(username="carol")
    client.force_login(user)
    response = client.post(
        "/accounts/password/",
        {
            "old_password": PASSWORD,
            "new_password1": "another fine phrase 42",
            "new_password2": "another fine phrase 42",
        },
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("another fine phrase 42")


def test_personal_api_token(client) -> None:
    user = UserFactory.create()
    session = APIClient()
    session.force_authenticate(user)
    token = session.get("/api/token/").json()["token"]
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.get("/api/runs/").status_code == 200
    client.force_login(user)
    client.post("/accounts/token/")
    assert api.get("/api/runs/").status_code == 401  # the old token is gone


def test_preferences_set_the_default_mode(client) -> None:
    user = UserFactory.create()
    client.force_login(user)
    client.post("/accounts/profile/", {"email": user.email, "default_mode": "lift"})
    user.refresh_from_db()
    assert user.default_mode == "lift"


def test_staff_reach_the_admin_and_users_do_not(client) -> None:
    client.force_login(UserFactory.create())
    assert client.get("/admin/").status_code == 302
    client.force_login(UserFactory.create(is_staff=True, is_superuser=True))
    assert client.get("/admin/").status_code == 200
