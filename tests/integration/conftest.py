"""Real services for the integration tests: PostgreSQL (the test database), Redis and worker processes."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from urllib.parse import urlparse

import pytest
from django.db import connection
from rest_framework.test import APIClient

from config.celery import app as celery_app
from tests.factories import TrackFactory, UserFactory
from tests.worker import point_celery_at

REDIS_URL = os.environ.get("TEST_REDIS_URL", "")


def _require(condition: bool, why: str) -> None:
    if condition:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI needs this service: {why}")
    pytest.skip(why)


def _reachable(url: str) -> bool:
    parsed = urlparse(url)
    try:
        socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 6379), timeout=1).close()
    except OSError:
        return False
    return True


@pytest.fixture(autouse=True)
def _no_persistent_connections() -> Iterator[None]:
    """The live server's request threads would otherwise keep sessions open past the test database's end."""
    old = connection.settings_dict["CONN_MAX_AGE"]
    connection.settings_dict["CONN_MAX_AGE"] = 0
    yield
    connection.settings_dict["CONN_MAX_AGE"] = old


@pytest.fixture
def broker() -> Iterator[str]:
    _require(connection.vendor == "postgresql", "set DATABASE_URL to a PostgreSQL database")
    _require(bool(REDIS_URL) and _reachable(REDIS_URL), "set TEST_REDIS_URL to a running Redis")
    old = point_celery_at(REDIS_URL)
    celery_app.control.purge()  # nothing left over from an earlier run
    yield REDIS_URL
    point_celery_at(old)


@pytest.fixture
def catalogue() -> None:
    for n in range(40):
        TrackFactory.create(artist=f"Band {n % 15}", valence=(n % 8) / 7, arousal=((n * 3) % 8) / 7)


@pytest.fixture
def api() -> APIClient:
    client = APIClient()
    client.force_authenticate(UserFactory.create())
    return client
