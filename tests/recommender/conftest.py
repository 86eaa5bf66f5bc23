from __future__ import annotations

import pytest

from recommender.catalogue_index import TrackCatalogue

from .helpers import grid_rows


@pytest.fixture
def catalogue() -> TrackCatalogue:
    return TrackCatalogue.build(grid_rows(), version="test-1")
