from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _shipped_versions(db) -> None:
    """The shipped artifacts as migration 0002 registers them: a transactional test elsewhere (the
    integration tests) empties every table at its end, rows made by migrations included."""
    from registry.services import register_shipped

    register_shipped()
