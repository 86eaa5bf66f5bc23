"""The playlist pages: list with search, sorting and counts; the owner's page; the shared read-only page
with Open Graph tags; saving a result; importing; the soundtrack pages."""

from __future__ import annotations

import json
import re

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from photos.models import RunItem
from playlists.models import Playlist, Soundtrack
from playlists.services import playlists as service
from playlists.services import soundtrack_runs
from tests.factories import PhotoFactory, RunFactory, TrackFactory, UserFactory, jpeg_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner():
    return UserFactory.create(username="curator")


@pytest.fixture
def web(owner) -> Client:
    client = Client()
    client.force_login(owner)
    return client


def test_the_list_searches_sorts_and_counts(web: Client, owner) -> None:
    quiet = service.create(owner, "Quiet evening")
    service.add_tracks(quiet, owner, [TrackFactory.create(title="Nocturne", artist="Chopin")])
    loud = service.create(owner, "Loud morning")
    service.add_tracks(loud, owner, [TrackFactory.create(), TrackFactory.create()])
    service.create(UserFactory.create(), "Someone else's", visibility="public")
    page = web.get("/playlists/?sort=tracks").content.decode()
    assert "2 playlists" in page
    assert page.index("Loud morning") < page.index("Quiet evening")
    assert "2 tracks" in page and "1 track " in page
    found = web.get("/playlists/?q=chopin").content.decode()
    assert "1 playlist matching" in found and "Quiet evening" in found and "Loud morning" not in found
    public = web.get("/playlists/?scope=public").content.decode()
    assert "Someone else&#x27;s" in public and "Quiet evening" not in public


def test_the_owner_page_and_what_others_get(web: Client, owner) -> None:
    playlist = service.create(owner, "Mine")
    service.add_tracks(playlist, owner, [TrackFactory.create(title="Kept")])
    page = web.get(f"/playlists/{playlist.pk}/").content.decode()
    assert 'draggable="true"' in page and "Kept" in page and "playlist.js" in page
    other = Client()
    other.force_login(UserFactory.create())
    assert other.get(f"/playlists/{playlist.pk}/").status_code == 404  # private
    assert other.get(f"/playlists/{playlist.pk}/export/jspf/").status_code == 404
    assert other.post(f"/playlists/{playlist.pk}/edit/", {"title": "Taken"}).status_code == 404
    service.update(playlist, visibility="public")
    assert other.get(f"/playlists/{playlist.pk}/")["Location"] == f"/p/{playlist.share_token}/"
    assert Playlist.objects.get(pk=playlist.pk).title == "Mine"


def test_rename_and_cover_from_the_page(web: Client, owner) -> None:
    photo = PhotoFactory.create(owner=owner)
    playlist = service.create(owner, "Before")
    web.post(
        f"/playlists/{playlist.pk}/edit/", {"title": "After", "cover": photo.pk, "visibility": "unlisted"}
    )
    playlist.refresh_from_db()
    assert (playlist.title, playlist.cover_id, playlist.visibility) == ("After", photo.pk, "unlisted")
    foreign = PhotoFactory.create()
    assert web.post(f"/playlists/{playlist.pk}/edit/", {"cover": foreign.pk}).status_code == 404
    playlist.refresh_from_db()
    assert playlist.cover_id == photo.pk


def test_the_shared_page_is_read_only_with_open_graph_tags(owner) -> None:
    cover = PhotoFactory.create(owner=owner)
    playlist = service.create(
        owner, "Beach <days>", description="Sun and salt", visibility="unlisted", cover=cover
    )
    service.add_tracks(
        playlist,
        owner,
        [TrackFactory.create(title="Waves", musicbrainz_recording_id="5b11f4ce-a62d-471e-81fc-a69a8278c7da")],
    )
    anonymous = Client()
    page = anonymous.get(f"/p/{playlist.share_token}/").content.decode()
    head = page[: page.index("</head>")]
    assert '<meta property="og:title" content="Beach &lt;days&gt;">' in head
    assert '<meta property="og:description" content="Sun and salt">' in head
    assert re.search(rf'og:image" content="http://testserver/p/{playlist.share_token}/cover/"', head)
    assert f'og:url" content="http://testserver/p/{playlist.share_token}/"' in head
    assert "Waves" in page and "https://musicbrainz.org/recording/5b11f4ce" in page
    assert "draggable" not in page and "Remove" not in page
    assert anonymous.get(f"/p/{playlist.share_token}/cover/")["Content-Type"] == "image/jpeg"
    assert anonymous.get(f"/p/{playlist.share_token}/export/m3u8/").content.startswith(b"#EXTM3U")
    service.update(playlist, visibility="private")
    assert anonymous.get(f"/p/{playlist.share_token}/").status_code == 404
    assert anonymous.get(f"/p/{playlist.share_token}/cover/").status_code == 404
    assert anonymous.get(f"/p/{playlist.share_token}/export/jspf/").status_code == 404


def test_save_a_result_and_add_one_track_from_the_results_page(web: Client, owner) -> None:
    run = RunFactory.create(user=owner, photo__owner=owner, status="done", valence=0.5, arousal=0.5)
    items = [RunItem.objects.create(run=run, track=TrackFactory.create(), rank=r, score=0.5) for r in (1, 2)]
    page = web.get(f"/runs/{run.pk}/").content.decode()
    assert 'data-testid="save-as-playlist"' in page and 'data-testid="add-to-playlist"' in page
    saved = web.post(f"/playlists/from-run/{run.pk}/", {"title": "From the beach"})
    playlist = Playlist.objects.get(title="From the beach")
    assert saved["Location"] == f"/playlists/{playlist.pk}/"
    assert [e.track_id for e in playlist.entries.order_by("position")] == [i.track_id for i in items]
    web.post("/playlists/add-item/", {"item": items[1].pk, "playlist": ""})
    new = Playlist.objects.exclude(pk=playlist.pk).get()
    assert [(e.track_id, e.run_id) for e in new.entries.all()] == [(items[1].track_id, run.pk)]
    again = web.post("/playlists/add-item/", {"item": items[1].pk, "playlist": new.pk}, follow=True)
    assert "already in this playlist" in again.content.decode()
    assert new.entries.count() == 1


def test_import_page_reports_what_did_not_match_and_refuses_non_playlists(web: Client, owner) -> None:
    TrackFactory.create(artist="Enya", title="Watermark")
    tracks = [{"title": "Watermark", "creator": "enya"}, {"title": "Lost", "creator": "Nobody"}]
    jspf = json.dumps({"playlist": {"title": "Calm", "track": tracks}}).encode()
    page = web.post(
        "/playlists/import/", {"file": SimpleUploadedFile("calm.jspf", jspf)}, follow=True
    ).content.decode()
    assert "Imported 1 tracks." in page and "Not in the catalogue: #2 Nobody – Lost" in page
    bad = web.post("/playlists/import/", {"file": SimpleUploadedFile("photo.jspf", jpeg_bytes())})
    assert bad.status_code == 400 and "is not a playlist" in bad.content.decode()
    assert Playlist.objects.count() == 1


def test_soundtrack_pages(smooth_catalogue, web: Client, owner) -> None:
    photos = [
        PhotoFactory.create(owner=owner, image=ContentFile(jpeg_bytes(c, (96, 64)), name=f"{n}.jpg"))
        for n, c in enumerate([(250, 200, 90), (15, 15, 40), (220, 40, 20)])
    ]
    form = {f"order-{p.pk}": str(3 - n) for n, p in enumerate(photos)} | {"amount": "6", "length": "tracks"}
    response = web.post("/soundtracks/", form)
    soundtrack = Soundtrack.objects.get()
    assert response["Location"] == f"/soundtracks/{soundtrack.pk}/"
    assert soundtrack.photo_ids == [p.pk for p in reversed(photos)]  # the numbers give the order
    waiting = web.get(f"/soundtracks/{soundtrack.pk}/").content.decode()
    assert 'data-testid="soundtrack-progress"' in waiting
    assert web.get(f"/soundtracks/{soundtrack.pk}/status/").json()["finished"] is False
    soundtrack_runs.execute(soundtrack.pk, worker="test")
    page = web.get(f"/soundtracks/{soundtrack.pk}/").content.decode()
    assert page.count('class="track-dot"') == 12  # six tracks in each of the two charts
    assert page.count('class="photo-segment"') == 6
    soundtrack.refresh_from_db()
    assert soundtrack.playlist is not None
    first = soundtrack.playlist.entries.order_by("position")[0]
    before = first.track_id
    swapped = web.post(f"/soundtracks/{soundtrack.pk}/swap/{first.pk}/", follow=True).content.decode()
    assert "Swapped in" in swapped
    first.refresh_from_db()
    assert first.track_id != before and first.photo_id == photos[2].pk
    other = Client()
    other.force_login(UserFactory.create())
    assert other.get(f"/soundtracks/{soundtrack.pk}/").status_code == 404
    assert other.post(f"/soundtracks/{soundtrack.pk}/swap/{first.pk}/").status_code == 404


def test_the_admin_lists_and_shows_playlists_and_soundtracks(owner) -> None:
    playlist = service.create(owner, "Admin view")
    service.add_tracks(playlist, owner, [TrackFactory.create(title="Listed")])
    soundtrack = Soundtrack.objects.create(owner=owner, title="Album", photo_ids=[], playlist=playlist)
    admin = Client()
    admin.force_login(UserFactory.create(is_staff=True, is_superuser=True))
    assert "Admin view" in admin.get("/admin/playlists/playlist/").content.decode()
    assert "Listed" in admin.get(f"/admin/playlists/playlist/{playlist.pk}/change/").content.decode()
    assert "Album" in admin.get(f"/admin/playlists/soundtrack/{soundtrack.pk}/change/").content.decode()
