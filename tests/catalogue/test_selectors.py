from __future__ import annotations

import numpy as np
import pytest

from catalogue.models import AUDIO_FEATURES, Track
from catalogue.selectors import active_track_blocks, active_track_rows, catalogue_version
from recommender.pipeline import Engine
from recommender.track_columns import TrackBlocks, TrackColumns
from recommender.types import TrackRow
from tests.factories import TrackFactory
from tests.recommender.helpers import mood_only_config

pytestmark = pytest.mark.django_db


def test_active_track_rows_shape_and_inactive_tracks_left_out() -> None:
    track = TrackFactory.create(
        genre="rock", tags=["loud"], valence=0.3, arousal=0.8, energy=0.9, tempo=128.0
    )
    TrackFactory.create(is_active=False)
    [row] = active_track_rows()
    known = {"valence": 0.3, "energy": 0.9, "tempo": 128.0}
    assert row == {
        "track_id": track.pk,
        "artist": track.artist,
        "title": track.title,
        "valence": 0.3,
        "arousal": 0.8,
        "features": {name: known.get(name) for name in AUDIO_FEATURES},
        "genre": "rock",
        "tags": ["loud"],
    }


def test_version_changes_with_the_active_catalogue() -> None:
    empty = catalogue_version()
    track = TrackFactory.create()
    with_one = catalogue_version()
    assert with_one != empty
    assert catalogue_version() == with_one  # stable when nothing changes
    track.title = "Edited"
    track.save()
    edited = catalogue_version()
    assert edited != with_one
    other = TrackFactory.create()
    added = catalogue_version()
    Track.objects.filter(pk=other.pk).delete()
    assert catalogue_version() != added


def test_active_track_blocks_hold_the_same_tracks_as_the_rows() -> None:
    TrackFactory.create(genre="rock", tags=["loud", "fast"], valence=0.3, arousal=0.8, tempo=128.0)
    TrackFactory.create(is_active=False)
    TrackFactory.create(valence=None, arousal=None, energy=0.4, key=5, mode=1)
    TrackFactory.create(valence=None, arousal=None, tags=[])
    TrackFactory.create(title="Ünïcode", artist="Zoë", valence=0.1, arousal=0.2)
    blocks = [TrackColumns(**block) for block in active_track_blocks(block_size=2)]
    assert [len(b) for b in blocks] == [2, 2]
    rows = [TrackRow(**row) for row in active_track_rows()]
    assert [row for block in blocks for row in block] == rows

    engine = Engine(mood_only_config())
    from_blocks = engine.build_catalogue(TrackBlocks(blocks))
    from_rows = engine.build_catalogue(rows)
    assert np.array_equal(from_blocks.track_ids, from_rows.track_ids)
    assert np.array_equal(from_blocks.va, from_rows.va, equal_nan=True)
    assert np.array_equal(from_blocks.provenance, from_rows.provenance)
    assert list(from_blocks.titles) == list(from_rows.titles)
    assert list(from_blocks.tags) == list(from_rows.tags)
