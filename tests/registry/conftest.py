from __future__ import annotations

from collections.abc import Iterator

import pytest

from inference import adapter
from registry import serving
from tests.factories import synthetic_offline_evaluation


@pytest.fixture(autouse=True)
def _shipped_versions(db) -> None:
    """The shipped artifacts as migration 0002 registers them: a transactional test elsewhere (the
    integration tests) empties every table at its end, rows made by migrations included."""
    from registry.services import register_shipped

    register_shipped()


@pytest.fixture(autouse=True)
def _fresh(settings, tmp_path) -> Iterator[None]:
    """Each test serves from its own registry cache, with no engine or served versions left from another."""
    settings.REGISTRY_CACHE_DIR = tmp_path / "registry-cache"
    adapter.reset()
    serving.forget()
    yield
    adapter.reset()
    serving.forget()


@pytest.fixture(autouse=True)
def _offline_evaluation(settings, tmp_path) -> None:
    """The gate judges on an offline evaluation of the tests' own world (the shipped one is of OASIS
    photos against the demo catalogue, served by the default strategies)."""
    settings.RERANKER_OFFLINE_EVALUATION = tmp_path / "offline-eval"
    synthetic_offline_evaluation().save(settings.RERANKER_OFFLINE_EVALUATION, {"test": True})
