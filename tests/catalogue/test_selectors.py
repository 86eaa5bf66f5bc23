from __future__ import annotations

import pytest

from catalogue.models import AUDIO_FEATURES, Track
from catalogue.selectors import active_track_rows, catalogue_version
from tests.factories import TrackFactory

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
