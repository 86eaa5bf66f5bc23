"""Schema fuzzing: schemathesis generates requests from the OpenAPI schema (valid and invalid ones) and
sends them to the development server; no request may get a server error (5xx).

Bounded: FUZZ_EXAMPLES examples per operation (environment variable, default 10: about a minute here).
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error

from tests.factories import RunFactory, TrackFactory, UserFactory

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10"))
schema = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True))


@pytest.fixture
def token(db) -> str:
    user = UserFactory.create()
    for _ in range(3):
        TrackFactory.create()
    RunFactory.create(photo__owner=user, status="done", valence=0.5, arousal=0.5)
    return Token.objects.create(user=user).key


@pytest.mark.django_db(transaction=True)
@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_no_request_gets_a_server_error(case, live_server, token) -> None:
    case.call_and_validate(
        base_url=live_server.url,
        headers={"Authorization": f"Token {token}"},
        checks=[not_a_server_error],
    )
