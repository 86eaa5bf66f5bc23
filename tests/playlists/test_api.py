"""Playlists through the API: arrange, undo, save a result, export, import, deleted tracks."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from lxml import etree
from rest_framework.test import APIClient

from catalogue.models import Track
from photos.models import RunItem
from playlists.formats import MAX_IMPORT_TRACKS, TRACK_EXTENSION, XSPF_NS
from playlists.models import Playlist, PlaylistTrack
from tests.factories import RunFactory, TrackFactory, UserFactory
from tests.playlists.test_formats import xspf_schema

pytestmark = pytest.mark.django_db


@pytest.fixture
def user():
    return UserFactory.create(username="curator")


@pytest.fixture
def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def titles(api: APIClient, pk: int) -> list[str]:
    return [e["title"] for e in api.get(f"/api/playlists/{pk}/").json()["entries"]]


def test_add_move_remove_rename_and_undo_the_last_change(api: APIClient) -> None:
    tracks = [TrackFactory.create(title=t) for t in ("A", "B", "C", "D")]
    pk = api.post("/api/playlists/", {"title": "Road trip"}, format="json").json()["id"]
    added = api.post(f"/api/playlists/{pk}/tracks/", {"tracks": [t.pk for t in tracks[:3]]}, format="json")
    assert added.status_code == 201
    api.post(f"/api/playlists/{pk}/tracks/", {"tracks": [tracks[3].pk], "position": 0}, format="json")
    assert titles(api, pk) == ["D", "A", "B", "C"]
    entry = {e["title"]: e["id"] for e in api.get(f"/api/playlists/{pk}/").json()["entries"]}
    api.post(f"/api/playlists/{pk}/tracks/{entry['C']}/move/", {"position": 1}, format="json")
    assert titles(api, pk) == ["D", "C", "A", "B"]
    assert api.post(f"/api/playlists/{pk}/undo/").json()["title"] == "Road trip"
    assert titles(api, pk) == ["D", "A", "B", "C"]
    assert api.post(f"/api/playlists/{pk}/undo/").status_code == 400  # one level: nothing more to undo
    api.delete(f"/api/playlists/{pk}/tracks/{entry['A']}/")
    assert titles(api, pk) == ["D", "B", "C"]
    api.post(f"/api/playlists/{pk}/undo/")
    assert titles(api, pk) == ["D", "A", "B", "C"]
    assert [e.position for e in PlaylistTrack.objects.filter(playlist_id=pk)] == [0, 1, 2, 3]
    api.patch(f"/api/playlists/{pk}/", {"title": "Coast road"}, format="json")
    assert api.post(f"/api/playlists/{pk}/undo/").json()["title"] == "Road trip"


def test_bad_changes_are_refused_and_change_nothing(api: APIClient) -> None:
    track = TrackFactory.create()
    pk = api.post("/api/playlists/", {"title": "Mix"}, format="json").json()["id"]
    api.post(f"/api/playlists/{pk}/tracks/", {"tracks": [track.pk]}, format="json")
    again = api.post(f"/api/playlists/{pk}/tracks/", {"tracks": [track.pk]}, format="json")
    assert again.status_code == 400 and "already in this playlist" in again.json()["detail"]
    assert api.post(f"/api/playlists/{pk}/tracks/", {"tracks": [999999]}, format="json").status_code == 400
    assert api.patch(f"/api/playlists/{pk}/", {"title": "   "}, format="json").status_code == 400
    assert (
        api.post(f"/api/playlists/{pk}/tracks/424242/move/", {"position": 0}, format="json").status_code
        == 400
    )
    assert titles(api, pk) == [track.title]
    assert Playlist.objects.get(pk=pk).title == "Mix"


def test_save_a_result_as_a_playlist_and_add_one_of_its_tracks_to_another(api: APIClient, user) -> None:
    run = RunFactory.create(user=user, photo__owner=user, status="done", mood_summary="calm and warm")
    items = [
        RunItem.objects.create(run=run, track=TrackFactory.create(), rank=r, score=1 - r / 10)
        for r in (1, 2, 3)
    ]
    made = api.post("/api/playlists/from-run/", {"run": run.pk}, format="json")
    assert made.status_code == 201
    body = made.json()
    assert [e["track"] for e in body["entries"]] == [i.track_id for i in items]
    assert {(e["photo"], e["run"], e["added_by"]) for e in body["entries"]} == {
        (run.photo_id, run.pk, "curator")
    }
    assert body["cover"] == run.photo_id
    other = api.post("/api/playlists/", {"title": "Favourites"}, format="json").json()["id"]
    added = api.post(
        f"/api/playlists/{other}/tracks/", {"item": items[1].pk, "note": "so good"}, format="json"
    )
    assert added.status_code == 201
    entry = added.json()[0]
    assert (entry["track"], entry["run"], entry["photo"], entry["note"]) == (
        items[1].track_id,
        run.pk,
        run.photo_id,
        "so good",
    )


def test_a_track_deleted_from_the_catalogue_is_shown_unavailable_and_left_out_of_exports(
    api: APIClient,
) -> None:
    kept, gone = TrackFactory.create(title="Kept"), TrackFactory.create(title="Gone")
    pk = api.post("/api/playlists/", {"title": "Old"}, format="json").json()["id"]
    api.post(f"/api/playlists/{pk}/tracks/", {"tracks": [kept.pk, gone.pk]}, format="json")
    Track.objects.filter(pk=gone.pk).delete()
    entries = api.get(f"/api/playlists/{pk}/").json()["entries"]
    assert [(e["title"], e["available"]) for e in entries] == [("Kept", True), ("Gone", False)]
    jspf = json.loads(api.get(f"/api/playlists/{pk}/export/jspf/").content)["playlist"]
    assert [t["title"] for t in jspf["track"]] == ["Kept"]
    assert "1 track of this playlist is no longer in the catalogue" in jspf["annotation"]
    xspf = api.get(f"/api/playlists/{pk}/export/xspf/").content
    assert xspf_schema().validate(etree.fromstring(xspf))
    assert b"no longer in the catalogue" in xspf
    m3u = api.get(f"/api/playlists/{pk}/export/m3u8/").content.decode()
    assert "Gone" not in m3u and "no longer in the catalogue" in m3u


def test_an_empty_playlist_exports_valid_empty_files(api: APIClient) -> None:
    pk = api.post("/api/playlists/", {"title": "Empty"}, format="json").json()["id"]
    jspf = api.get(f"/api/playlists/{pk}/export/jspf/")
    assert jspf["Content-Type"].startswith("application/jspf+json")
    assert jspf["Content-Disposition"] == 'attachment; filename="Empty.jspf"'
    assert json.loads(jspf.content)["playlist"]["track"] == []
    root = etree.fromstring(api.get(f"/api/playlists/{pk}/export/xspf/").content)
    assert xspf_schema().validate(root) and root.find(f"{{{XSPF_NS}}}trackList") is not None
    assert api.get(f"/api/playlists/{pk}/export/m3u8/").content.decode().splitlines() == [
        "#EXTM3U",
        "#PLAYLIST:Empty",
    ]


def jspf_file(tracks: list[dict], title: str = "Imported") -> SimpleUploadedFile:
    return SimpleUploadedFile(
        "list.jspf", json.dumps({"playlist": {"title": title, "track": tracks}}).encode()
    )


def test_import_matches_by_musicbrainz_id_then_isrc_then_artist_and_title(api: APIClient) -> None:
    mb = TrackFactory.create(musicbrainz_recording_id="5b11f4ce-a62d-471e-81fc-a69a8278c7da")
    isrc = TrackFactory.create(isrc="USGF19942501", title="Other title")
    named = TrackFactory.create(artist="Beyoncé", title="Halo")
    TrackFactory.create(artist="Beyoncé", title="Halo (live)")
    upload = jspf_file(
        [
            {
                "title": "x",
                "creator": "y",
                "identifier": ["https://musicbrainz.org/recording/" + mb.musicbrainz_recording_id],
            },
            {"title": "Nope", "creator": "Nobody"},
            {"title": "z", "creator": "w", "extension": {TRACK_EXTENSION: {"isrc": "US-GF1-99-42501"}}},
            {"title": "HALO!", "creator": "beyonce"},
        ]
    )
    response = api.post("/api/playlists/import/", {"file": upload}, format="multipart")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["matched"] == 3
    assert body["matched_by"] == {"MusicBrainz recording id": 1, "ISRC": 1, "artist and title": 1}
    assert body["unmatched"] == [{"position": 2, "title": "Nope", "artist": "Nobody"}]
    playlist = Playlist.objects.get(pk=body["playlist"]["id"])
    assert [e.track_id for e in playlist.entries.order_by("position")] == [mb.pk, isrc.pk, named.pk]


def test_an_export_imports_back_to_the_same_tracks(api: APIClient) -> None:
    tracks = [TrackFactory.create() for _ in range(5)]
    pk = api.post("/api/playlists/", {"title": "Round trip"}, format="json").json()["id"]
    api.post(f"/api/playlists/{pk}/tracks/", {"tracks": [t.pk for t in tracks]}, format="json")
    for fmt in ("jspf", "xspf"):
        data = api.get(f"/api/playlists/{pk}/export/{fmt}/").content
        body = api.post(
            "/api/playlists/import/", {"file": SimpleUploadedFile(f"x.{fmt}", data)}, format="multipart"
        ).json()
        imported = Playlist.objects.get(pk=body["playlist"]["id"])
        assert [e.track_id for e in imported.entries.order_by("position")] == [t.pk for t in tracks]
        assert body["unmatched"] == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x89PNG\r\n\x1a\nnot a playlist", "is not a playlist"),
        (b'{"tracks": []}', "not JSPF"),
        (b"<rss><channel/></rss>", "not XSPF"),
    ],
)
def test_a_file_that_is_not_a_playlist_is_refused_and_nothing_is_written(
    api: APIClient, content, message
) -> None:
    response = api.post(
        "/api/playlists/import/", {"file": SimpleUploadedFile("x.jspf", content)}, format="multipart"
    )
    assert response.status_code == 400 and message in response.json()["file"]
    assert not Playlist.objects.exists()


def test_a_10001_track_import_is_refused_with_the_limit_and_nothing_is_written(api: APIClient) -> None:
    TrackFactory.create(artist="a", title="t0")
    big = jspf_file([{"title": f"t{i}", "creator": "a"} for i in range(MAX_IMPORT_TRACKS + 1)])
    response = api.post("/api/playlists/import/", {"file": big}, format="multipart")
    assert response.status_code == 400
    assert "10,001 tracks; at most 10,000" in response.json()["file"]
    assert not Playlist.objects.exists() and not PlaylistTrack.objects.exists()


def test_an_import_that_matches_nothing_writes_nothing(api: APIClient) -> None:
    response = api.post(
        "/api/playlists/import/", {"file": jspf_file([{"title": "a", "creator": "b"}])}, format="multipart"
    )
    assert response.status_code == 400 and "None of the 1 tracks" in response.json()["file"]
    assert not Playlist.objects.exists()


def test_the_schema_lists_the_playlist_endpoints(tmp_path) -> None:
    out = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    text = out.read_text()
    for path in (
        "/api/playlists/",
        "/api/playlists/{id}/tracks/",
        "/api/playlists/{id}/tracks/{entry}/move/",
        "/api/playlists/{id}/export/{fmt}/",
        "/api/playlists/import/",
        "/api/playlists/from-run/",
        "/api/playlists/shared/{token}/",
        "/api/soundtracks/{id}/swap/",
    ):
        assert path in text
