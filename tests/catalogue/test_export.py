"""CSV export: the importer's columns, formulas neutralised, and a round trip that changes nothing."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from catalogue.csv_safety import neutralise, restore
from catalogue.export import HEADER, write_csv
from catalogue.importer import import_tracks
from catalogue.models import Track
from tests.factories import TrackFactory

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.catalogue.urls")]

HOSTILE = ['=HYPERLINK("http://x")', "+1+1", "-2+cmd|' /C calc'!A0", "@SUM(A1)", "'=already", "plain"]


def _export() -> str:
    out = io.StringIO(newline="")
    write_csv(out)
    return out.getvalue()


def _catalogue() -> None:
    TrackFactory.create(
        external_id="-x1",
        title=HOSTILE[0],
        artist=HOSTILE[1],
        album=HOSTILE[2],
        genre=HOSTILE[3],
        language="pt-BR",
        tags=["@rain", "night, drive", "b"],
        year=1999,
        licence_note=HOSTILE[4],
        valence=0.1 + 0.2,
        arousal=1.0,
        loudness=-5.123456789012345,
        key=0,
        mode=1,
        tempo=None,
        duration_ms=215_000,
        time_signature=4,
        isrc="USRC17607839",
        spotify_id="6rqhFgbbKwnb9MLmUQDhG6",
        musicbrainz_recording_id="b1a9c0e9-d987-4042-ae91-78d6a3267d69",
        youtube_id="dQw4w9WgXcQ",
        provenance=Track.Provenance.EDITORIAL,
    )
    TrackFactory.create(external_id="t2", title='Plain, with "quotes"\nand a line', artist="B", tags=[])
    TrackFactory.create(external_id="t3", title="Off", artist="C", is_active=False)


def test_neutralise_and_restore_are_inverse() -> None:
    for text in [*HOSTILE, "''+x", "\tx", "", "a=b"]:
        assert restore(neutralise(text)) == text
    assert neutralise("=1") == "'=1" and neutralise("'=1") == "''=1" and neutralise("a=1") == "a=1"


def test_export_uses_the_import_columns_and_neutralises_formulas() -> None:
    _catalogue()
    records = list(csv.DictReader(io.StringIO(_export())))
    assert list(records[0]) == HEADER
    first = next(r for r in records if r["id"] == "'-x1")
    assert first["title"] == '\'=HYPERLINK("http://x")'
    assert first["artist"] == "'+1+1" and first["album"].startswith("'-2+") and first["genre"] == "'@SUM(A1)"
    assert first["licence_note"] == "''=already"
    assert first["tags"] == "'@rain; night, drive; b"
    assert first["loudness"] == "-5.123456789012345"  # numbers are not touched
    assert first["tempo"] == ""  # unknown stays unknown, never 0
    formula_cells = [c for r in records for c in r.values() if c and c[0] in "=+@\t\r"]
    assert formula_cells == []
    assert {r["id"] for r in records} == {"'-x1", "t2", "t3"}  # inactive tracks too


def test_export_reimports_unchanged(tmp_path: Path) -> None:
    _catalogue()
    before = {t.external_id: t for t in Track.objects.all()}
    first = _export()
    path = tmp_path / "export.csv"
    path.write_text(first, encoding="utf-8", newline="")
    Track.objects.all().delete()

    report = import_tracks(path)
    assert (report.created, report.rejected) == (3, [])
    assert _export() == first
    for track in Track.objects.all():
        old = before[track.external_id]
        for field in ("title", "artist", "album", "genre", "language", "tags", "valence", "loudness", "year"):
            assert getattr(track, field) == getattr(old, field), field
    # and importing it over itself changes nothing
    again = import_tracks(path)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)


def test_command_writes_a_file_and_stdout(tmp_path: Path) -> None:
    _catalogue()
    out = tmp_path / "tracks.csv"
    call_command("export_tracks", "--out", str(out), stderr=io.StringIO())
    assert out.read_bytes().decode() == _export()
    stdout = io.StringIO()
    call_command("export_tracks", stdout=stdout)
    assert stdout.getvalue() == _export()


def test_admin_exports_selected_and_all(staff_client: Client) -> None:
    _catalogue()
    chosen = Track.objects.get(external_id="t2")
    response = staff_client.post(
        reverse("admin:catalogue_track_changelist"),
        {"action": "export_selected", "_selected_action": [chosen.pk]},
    )
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content).decode()  # type: ignore[attr-defined]
    assert [r["id"] for r in csv.DictReader(io.StringIO(body))] == ["t2"]

    page = staff_client.get(reverse("admin:catalogue_track_changelist")).content.decode()
    assert reverse("admin:catalogue_track_export") in page
    response = staff_client.get(reverse("admin:catalogue_track_export"))
    assert "attachment" in response["Content-Disposition"]
    assert b"".join(response.streaming_content).decode() == _export()  # type: ignore[attr-defined]


def test_export_needs_staff(client: Client) -> None:
    response = client.get(reverse("admin:catalogue_track_export"))
    assert response.status_code == 302 and "login" in response["Location"]
