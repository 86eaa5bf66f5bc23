"""Who may see and change which playlist, endpoint by endpoint: your own and public playlists are
visible, unlisted ones only by their link, other people's private (and unlisted, by id) ones are 404."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from accounts.models import User
from catalogue.models import Track
from photos.models import RunItem
from playlists.models import Playlist, PlaylistTrack, Soundtrack
from playlists.services import playlists as service
from tests.factories import PhotoFactory, RunFactory, TrackFactory, UserFactory

pytestmark = pytest.mark.django_db


@dataclass
class World:
    api: APIClient
    alice: User
    mine: Playlist
    theirs: dict[str, Playlist]
    track: Track


@pytest.fixture
def world() -> World:
    alice, bob = UserFactory.create(username="alice"), UserFactory.create(username="bob")
    track, spare = TrackFactory.create(), TrackFactory.create()
    mine = service.create(alice, "Mine")
    service.add_tracks(mine, alice, [track, spare])
    theirs = {}
    for visibility in ("private", "unlisted", "public"):
        playlist = service.create(bob, f"Bob {visibility}", visibility=visibility)
        service.add_tracks(playlist, bob, [track, spare])
        theirs[visibility] = playlist
    api = APIClient()
    api.force_authenticate(alice)
    return World(api, alice, mine, theirs, spare)


def first_entry(playlist: Playlist) -> int:
    return playlist.entries.order_by("position").first().pk  # type: ignore[union-attr]


def test_the_list_holds_your_own_and_public_playlists(world: World) -> None:
    titles = {p["title"] for p in world.api.get("/api/playlists/").json()["results"]}
    assert titles == {"Mine", "Bob public"}
    mine_only = {p["title"] for p in world.api.get("/api/playlists/?mine=1").json()["results"]}
    assert mine_only == {"Mine"}


@pytest.mark.parametrize(("visibility", "expected"), [("private", 404), ("unlisted", 404), ("public", 200)])
def test_reading_by_id(world: World, visibility: str, expected: int) -> None:
    playlist = world.theirs[visibility]
    assert world.api.get(f"/api/playlists/{playlist.pk}/").status_code == expected
    assert world.api.get(f"/api/playlists/{playlist.pk}/export/jspf/").status_code == expected
    assert world.api.get(f"/api/playlists/{world.mine.pk}/").status_code == 200
    assert world.api.get(f"/api/playlists/{world.mine.pk}/export/m3u8/").status_code == 200


@pytest.mark.parametrize(("visibility", "expected"), [("private", 404), ("unlisted", 200), ("public", 200)])
def test_reading_by_link(world: World, visibility: str, expected: int) -> None:
    playlist = world.theirs[visibility]
    response = world.api.get(f"/api/playlists/shared/{playlist.share_token}/")
    assert response.status_code == expected
    if expected == 200:
        assert [e["title"] for e in response.json()["entries"]] == [e.title for e in playlist.entries.all()]


@pytest.mark.parametrize(("visibility", "expected"), [("private", 404), ("unlisted", 404), ("public", 403)])
def test_only_the_owner_changes_a_playlist(world: World, visibility: str, expected: int) -> None:
    playlist = world.theirs[visibility]
    base = f"/api/playlists/{playlist.pk}"
    entry = first_entry(playlist)
    api = world.api
    assert api.patch(f"{base}/", {"title": "Hijacked"}, format="json").status_code == expected
    assert api.post(f"{base}/tracks/", {"tracks": [world.track.pk]}, format="json").status_code == expected
    assert api.post(f"{base}/tracks/{entry}/move/", {"position": 1}, format="json").status_code == expected
    assert api.delete(f"{base}/tracks/{entry}/").status_code == expected
    assert api.post(f"{base}/undo/").status_code == expected
    assert api.delete(f"{base}/").status_code == expected
    playlist.refresh_from_db()
    assert playlist.title == f"Bob {visibility}" and playlist.entries.count() == 2
    assert playlist.entries.order_by("position").first().pk == entry  # type: ignore[union-attr]


def test_the_owner_changes_their_own(world: World) -> None:
    base = f"/api/playlists/{world.mine.pk}"
    entry = first_entry(world.mine)
    api = world.api
    assert api.patch(f"{base}/", {"title": "Renamed"}, format="json").status_code == 200
    assert api.post(f"{base}/tracks/{entry}/move/", {"position": 1}, format="json").status_code == 200
    assert api.post(f"{base}/undo/").status_code == 200
    assert api.delete(f"{base}/tracks/{entry}/").status_code == 204
    assert api.delete(f"{base}/").status_code == 204
    assert not Playlist.objects.filter(pk=world.mine.pk).exists()


def test_runs_and_photos_of_others_cannot_be_used(world: World) -> None:
    foreign_run = RunFactory.create(status="done")
    item = RunItem.objects.create(run=foreign_run, track=TrackFactory.create(), rank=1, score=0.5)
    api = world.api
    assert api.post("/api/playlists/from-run/", {"run": foreign_run.pk}, format="json").status_code == 404
    base = f"/api/playlists/{world.mine.pk}"
    assert api.post(f"{base}/tracks/", {"item": item.pk}, format="json").status_code == 404
    foreign_photo = PhotoFactory.create()
    assert api.patch(f"{base}/", {"cover": foreign_photo.pk}, format="json").status_code == 400
    made = api.post("/api/soundtracks/", {"photos": [foreign_photo.pk], "tracks": 3}, format="json")
    assert made.status_code == 400 and not Soundtrack.objects.exists()


def test_soundtracks_are_their_owners_only(world: World) -> None:
    bobs = Soundtrack.objects.create(owner=world.theirs["public"].owner, title="Bob's album", photo_ids=[])
    assert world.api.get("/api/soundtracks/").json()["results"] == []
    assert world.api.get(f"/api/soundtracks/{bobs.pk}/").status_code == 404
    assert world.api.post(f"/api/soundtracks/{bobs.pk}/swap/", {"entry": 1}, format="json").status_code == 404


def test_anonymous_requests_are_refused(world: World) -> None:
    anonymous = APIClient()
    pk = world.theirs["public"].pk
    upload = SimpleUploadedFile("p.jspf", b'{"playlist": {"title": "x", "track": []}}')
    for method, url in [
        ("get", "/api/playlists/"),
        ("get", f"/api/playlists/{pk}/"),
        ("get", f"/api/playlists/{pk}/export/xspf/"),
        ("get", f"/api/playlists/shared/{world.theirs['unlisted'].share_token}/"),
        ("post", "/api/playlists/import/"),
        ("get", "/api/soundtracks/"),
    ]:
        kwargs = {"data": {"file": upload}} if method == "post" else {}
        assert getattr(anonymous, method)(url, **kwargs).status_code == 401
    assert PlaylistTrack.objects.count() == 8
