"""The catalogue version: one row that every write to the active catalogue moves on, read by primary key.

Also covered elsewhere: bulk (de)activation in the admin (test_admin), the audio analysis result
(test_audio), a re-import with and without changes (test_importer).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from django.db import connections, transaction
from django.forms.models import model_to_dict
from django.test import Client
from django.urls import reverse

from catalogue import audio
from catalogue.importer import import_tracks
from catalogue.models import CatalogueVersion, Track
from catalogue.selectors import catalogue_version
from tests.factories import TrackFactory

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.catalogue.urls")]

CSV = "id,title,artist,valence,arousal\nv1,One,A,0.1,0.2\nv2,Two,B,0.3,0.4\n"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "tracks.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_reading_the_version_is_one_primary_key_query(django_assert_num_queries: Any) -> None:
    TrackFactory.create_batch(3)
    with django_assert_num_queries(1) as captured:
        catalogue_version()
    sql = captured.captured_queries[0]["sql"].upper()
    assert "CATALOGUE_CATALOGUEVERSION" in sql and "COUNT(" not in sql and "MAX(" not in sql
    assert "CATALOGUE_TRACK" not in sql


def test_not_cached_each_read_sees_the_database(django_assert_num_queries: Any) -> None:
    first = catalogue_version()
    CatalogueVersion.bump()
    with django_assert_num_queries(1):
        assert catalogue_version() != first


def test_stable_while_nothing_is_written() -> None:
    TrackFactory.create()
    assert catalogue_version() == catalogue_version()


def test_import_of_new_rows_changes_it_and_an_unchanged_reimport_does_not(tmp_path: Path) -> None:
    empty = catalogue_version()
    import_tracks(write(tmp_path, CSV))
    imported = catalogue_version()
    assert imported != empty
    report = import_tracks(write(tmp_path, CSV))
    assert report.unchanged == 2 and catalogue_version() == imported  # nothing written, nothing moved
    report = import_tracks(write(tmp_path, CSV.replace("0.3,0.4", "0.9,0.4")))
    assert report.updated == 1 and catalogue_version() != imported


def test_an_import_that_rejects_every_row_does_not_change_it(tmp_path: Path) -> None:
    before = catalogue_version()
    report = import_tracks(write(tmp_path, "id,title,artist,valence\nx,X,A,7\n"))
    assert len(report.rejected) == 1 and catalogue_version() == before


def _form(track: Track, **changes: Any) -> dict[str, Any]:
    """The admin change form's POST data for this track."""
    data = model_to_dict(track, exclude=["id", "audio", "audio_embedding"])
    data = {key: ("" if value is None else value) for key, value in data.items()}
    data.update(tags="x", is_active="on" if track.is_active else "", **changes)
    return data


def test_admin_add_edit_and_delete_change_it(staff_client: Client) -> None:
    before = catalogue_version()
    template = Track(external_id="admin-1", title="Added", artist="Admin", valence=0.5, arousal=0.5)
    response = staff_client.post(reverse("admin:catalogue_track_add"), _form(template))
    assert response.status_code == 302, response.content.decode()[:2000]
    track = Track.objects.get(external_id="admin-1")
    added = catalogue_version()
    assert added != before

    response = staff_client.post(
        reverse("admin:catalogue_track_change", args=[track.pk]), _form(track, title="Edited")
    )
    assert response.status_code == 302 and Track.objects.get(pk=track.pk).title == "Edited"
    edited = catalogue_version()
    assert edited != added

    response = staff_client.post(reverse("admin:catalogue_track_delete", args=[track.pk]), {"post": "yes"})
    assert response.status_code == 302 and not Track.objects.filter(pk=track.pk).exists()
    assert catalogue_version() != edited


def test_admin_bulk_delete_changes_it(staff_client: Client) -> None:
    tracks = TrackFactory.create_batch(3)
    before = catalogue_version()
    response = staff_client.post(
        reverse("admin:catalogue_track_changelist"),
        {"action": "delete_selected", "_selected_action": [t.pk for t in tracks[:2]], "post": "yes"},
    )
    assert response.status_code == 302 and Track.objects.count() == 1
    assert catalogue_version() != before


def test_queryset_writes_to_what_the_engine_reads_change_it() -> None:
    tracks = TrackFactory.create_batch(3)
    seen = {catalogue_version()}

    def changed() -> bool:
        version = catalogue_version()
        new = version not in seen
        seen.add(version)
        return new

    Track.objects.filter(pk=tracks[0].pk).update(valence=0.99)
    assert changed()
    Track.objects.filter(pk=tracks[0].pk).update(is_active=False)
    assert changed()
    Track.objects.bulk_create([Track(external_id="bulk", title="B", artist="A")])
    assert changed()
    tracks[1].genre = "jazz"
    Track.objects.bulk_update([tracks[1]], ["genre"])
    assert changed()
    Track.objects.filter(pk=tracks[2].pk).delete()
    assert changed()
    tracks[1].delete()
    assert changed()


def test_writes_to_bookkeeping_fields_leave_it() -> None:
    track = TrackFactory.create()
    before = catalogue_version()
    Track.objects.filter(pk=track.pk).update(audio_status=Track.AudioStatus.PENDING, audio_resends=2)
    track.audio_message = "why"
    track.save(update_fields=["audio_message"])
    Track.objects.bulk_update([track], ["audio_model"])
    Track.objects.bulk_create([])
    assert catalogue_version() == before
    track.save(update_fields=["title", "updated_at"])
    assert catalogue_version() != before


def test_audio_bookkeeping_leaves_it_and_a_failed_analysis_too() -> None:
    track = TrackFactory.create(audio="audio/missing.wav")
    before = catalogue_version()
    assert audio.request_analysis([track.pk]) == 1  # pending again: no feature changed yet
    assert audio.analyse(track.pk) is not None  # the file is missing: the analysis fails
    track.refresh_from_db()
    assert track.audio_status == Track.AudioStatus.FAILED
    assert catalogue_version() == before


def test_a_rolled_back_write_leaves_it_and_a_later_write_is_a_new_version() -> None:
    before = catalogue_version()
    with pytest.raises(RuntimeError), transaction.atomic():
        TrackFactory.create()
        rolled_back = catalogue_version()
        raise RuntimeError
    assert catalogue_version() == before
    TrackFactory.create()
    # The same number as the rolled-back write got, and still another version.
    assert catalogue_version() not in {before, rolled_back}


def test_a_missing_row_is_made_again() -> None:
    CatalogueVersion.objects.all().delete()
    assert catalogue_version() == "v0-none"
    TrackFactory.create()
    assert catalogue_version().startswith("v1-")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_another_connection_sees_a_committed_change_at_once() -> None:
    """What a worker process sees of a change the web process made: no cache stands in between."""
    seen: list[str] = []

    def read() -> None:
        try:
            seen.append(catalogue_version())
        finally:
            connections.close_all()  # this thread's own connection

    TrackFactory.create()  # committed: no transaction around the test
    reader = threading.Thread(target=read)
    reader.start()
    reader.join()
    assert seen == [catalogue_version()]
