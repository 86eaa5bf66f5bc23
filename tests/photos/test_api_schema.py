from __future__ import annotations

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from tests.factories import UserFactory


def test_openapi_schema_is_valid_and_warning_free(tmp_path) -> None:
    out = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    text = out.read_text()
    for path in ("/api/photos/", "/api/runs/{id}/retry/", "/api/feedback/", "/api/tracks/", "/api/token/"):
        assert path in text
    assert "AuthToken" in text  # POST /api/token/ takes a username and password


@pytest.mark.django_db
def test_docs_page_is_served_without_a_cdn() -> None:
    api = APIClient()
    api.force_authenticate(UserFactory.create())
    page = api.get("/api/docs/").content.decode()
    assert "swagger-ui" in page
    assert "cdn.jsdelivr" not in page and "unpkg.com" not in page


def test_operations_document_their_errors(tmp_path) -> None:
    import yaml

    out = tmp_path / "schema.yml"
    call_command("spectacular", "--file", str(out))
    paths = yaml.safe_load(out.read_text())["paths"]
    for path, operations in paths.items():
        for method, operation in operations.items():
            codes = set(operation["responses"])
            assert "429" in codes, (method, path, codes)
            if {} not in operation.get("security", []):  # anonymous callers allowed: no 401
                assert "401" in codes, (method, path, codes)
            if "{" in path:
                assert "404" in codes, (method, path, codes)
            queried = any(p["in"] == "query" for p in operation.get("parameters", []))
            if operation.get("requestBody") or queried:
                assert "400" in codes, (method, path, codes)
    assert "404" in paths["/api/runs/"]["post"]["responses"]
    assert any(p["name"] == "Idempotency-Key" for p in paths["/api/photos/"]["post"]["parameters"])
