"""Soundtracks for the user's photos: the worker's side (run here in the test process), progress, the
playlist it makes, the trajectory, and swapping a track for the next best one."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone
from rest_framework.test import APIClient

from photos.models import Photo
from playlists.models import Soundtrack
from playlists.services import soundtrack_runs
from recommender.soundtrack import DEFAULT_BOUNDS
from tests.factories import PhotoFactory, UserFactory, jpeg_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def album():
    owner = UserFactory.create()
    colours = [(250, 200, 90), (15, 15, 40), (220, 40, 20)]
    photos = [
        PhotoFactory.create(
            owner=owner,
            original_name=f"p{i}.jpg",
            image=ContentFile(jpeg_bytes(c, (96, 64)), name=f"p{i}.jpg"),
        )
        for i, c in enumerate(colours)
    ]
    api = APIClient()
    api.force_authenticate(owner)
    return owner, photos, api


def test_a_soundtrack_is_made_on_the_worker_with_progress_and_its_tracks_can_be_swapped(
    smooth_catalogue, album, monkeypatch
) -> None:
    _owner, photos, api = album
    made = api.post("/api/soundtracks/", {"photos": [p.pk for p in photos], "tracks": 7}, format="json")
    assert made.status_code == 202 and made["Location"] == f"/api/soundtracks/{made.json()['id']}/"
    soundtrack = Soundtrack.objects.get()
    assert soundtrack.status == "pending"
    seen: list[int] = []
    original = soundtrack_runs.report

    def watching(pk: int, percent: int, message: str) -> None:
        seen.append(percent)
        original(pk, percent, message)

    monkeypatch.setattr(soundtrack_runs, "report", watching)
    soundtrack_runs.execute(soundtrack.pk, worker="test")
    assert seen == sorted(seen) and seen[-1] >= 90  # progress only goes forward

    body = api.get(f"/api/soundtracks/{soundtrack.pk}/").json()
    assert body["status"] == "done" and body["progress"] == 100
    playlist = api.get(f"/api/playlists/{body['playlist']}/").json()
    entries = playlist["entries"]
    assert len(entries) == 7
    assert [e["photo"] for e in entries] == [photos[0].pk] * 3 + [photos[1].pk] * 2 + [photos[2].pk] * 2
    assert len({e["artist"] for e in entries}) == 7
    trajectory = body["trajectory"]
    assert [p["photo_id"] for p in trajectory["photos"]] == [p.pk for p in photos]
    assert [t["slot"] for t in trajectory["tracks"]] == [0, 0, 0, 1, 1, 2, 2]
    assert all(t["valence"] is not None and t["arousal"] is not None for t in trajectory["tracks"])

    target = entries[4]
    swapped = api.post(f"/api/soundtracks/{soundtrack.pk}/swap/", {"entry": target["id"]}, format="json")
    assert swapped.status_code == 200, swapped.json()
    new = swapped.json()
    assert new["id"] == target["id"] and new["track"] != target["track"] and new["photo"] == photos[1].pk
    after = api.get(f"/api/playlists/{body['playlist']}/").json()["entries"]
    assert len({e["artist"] for e in after}) == 7
    steps = api.get(f"/api/soundtracks/{soundtrack.pk}/").json()["trajectory"]["tracks"]
    for a, b in itertools.pairwise(steps):
        assert abs(a["valence"] - b["valence"]) <= DEFAULT_BOUNDS.valence + 1e-6
        assert abs(a["arousal"] - b["arousal"]) <= DEFAULT_BOUNDS.arousal + 1e-6
    assert api.post(f"/api/playlists/{body['playlist']}/undo/").status_code == 200  # the swap can be undone
    assert api.get(f"/api/playlists/{body['playlist']}/").json()["entries"][4]["track"] == target["track"]


def test_a_deleted_photo_fails_the_soundtrack_with_a_message(smooth_catalogue, album) -> None:
    owner, photos, _api = album
    soundtrack = soundtrack_runs.create(owner, photos, n_tracks=3)
    Photo.objects.filter(pk=photos[1].pk).delete()
    soundtrack_runs.execute(soundtrack.pk, worker="test")
    soundtrack.refresh_from_db()
    assert (
        soundtrack.status == "failed" and soundtrack.error == "Photo 2 was deleted; choose the photos again."
    )
    assert soundtrack.playlist is None


def test_bad_requests_are_refused(album) -> None:
    _owner, photos, api = album
    ids = [p.pk for p in photos]
    for data, field in [
        ({"photos": ids, "tracks": 2}, "one per photo"),
        ({"photos": ids}, "either in tracks or in minutes"),
        ({"photos": [ids[0], ids[0]], "tracks": 4}, "listed twice"),
    ]:
        response = api.post("/api/soundtracks/", data, format="json")
        assert response.status_code == 400 and field in str(response.json())
    assert not Soundtrack.objects.exists()


def test_the_beat_fails_a_soundtrack_whose_worker_died_and_resends_one_never_sent(album, monkeypatch) -> None:
    owner, photos, api = album
    lost = soundtrack_runs.create(owner, photos, n_tracks=3)
    Soundtrack.objects.filter(pk=lost.pk).update(
        status="running", started_at=timezone.now() - soundtrack_runs.STALE_AFTER - timedelta(seconds=1)
    )
    assert api.get(f"/api/soundtracks/{lost.pk}/").json()["error"] == soundtrack_runs.WORKER_LOST
    never_sent = soundtrack_runs.create(owner, photos, n_tracks=3)
    Soundtrack.objects.filter(pk=never_sent.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    sent: list[int] = []

    def record(pk: int) -> bool:  # which ones the beat sends (the sending itself is dispatch's)
        sent.append(pk)
        return True

    monkeypatch.setattr(soundtrack_runs, "dispatch", record)
    assert soundtrack_runs.reap() == {"failed": 1, "resent": 1}
    assert sent == [never_sent.pk]
    lost.refresh_from_db()
    never_sent.refresh_from_db()
    assert (lost.status, lost.error) == ("failed", soundtrack_runs.WORKER_LOST)
    assert never_sent.status == "pending"
