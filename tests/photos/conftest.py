"""Fixtures shared by the photos tests."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.factories import UserFactory


@pytest.fixture
def api() -> APIClient:
    """An API client signed in as a new user (test files with their own `api` override it)."""
    client = APIClient()
    client.force_authenticate(UserFactory.create())
    return client
