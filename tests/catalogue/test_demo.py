"""The editorial demo catalogue and `manage.py load_demo`."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command

from catalogue.models import AUDIO_FEATURES, Track

pytestmark = pytest.mark.django_db


def load() -> str:
    out = StringIO()
    call_command("load_demo", stdout=out)
    return out.getvalue()


def test_demo_catalogue_loads_and_covers_the_valence_arousal_plane() -> None:
    output = load()
    assert " 0 rejected" in output and "Warnings" not in output
    tracks = list(Track.objects.all())
    assert 250 <= len(tracks) <= 350
    quadrants = {(True, True): 0, (True, False): 0, (False, True): 0, (False, False): 0}
    for track in tracks:
        assert track.valence is not None and 0 <= track.valence <= 1, track
        assert track.arousal is not None and 0 <= track.arousal <= 1, track
        quadrants[(track.valence >= 0.5, track.arousal >= 0.5)] += 1
        assert track.provenance == Track.Provenance.EDITORIAL
        assert track.external_id.startswith("demo-")
        assert all(getattr(track, name) is None for name in AUDIO_FEATURES if name != "valence"), track
        assert not (track.musicbrainz_recording_id or track.isrc or track.spotify_id or track.youtube_id)
        assert set(track.links()) == {"Find on MusicBrainz", "Search YouTube"}  # searches, not invented ids
        assert track.title and track.artist and track.genre and track.tags
        assert "editorial" in track.licence_note
    assert all(count >= 40 for count in quadrants.values()), quadrants


def test_load_demo_is_idempotent_and_creates_the_demo_account_once() -> None:
    first = load()
    assert "Demo account created: username 'demo', password 'photophone-demo'" in first
    count = Track.objects.count()
    second = load()
    assert f"0 created, 0 updated, {count} unchanged" in second
    assert "Demo account exists" in second
    assert Track.objects.count() == count
    assert authenticate(username="demo", password="photophone-demo") is not None
