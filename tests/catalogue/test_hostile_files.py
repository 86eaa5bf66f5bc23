"""Hostile catalogue files: each bad line is rejected by its number, the good lines import, nothing aborts."""

from __future__ import annotations

from pathlib import Path

import pytest

from catalogue.importer import ImportFileError, import_tracks
from catalogue.models import Track

pytestmark = pytest.mark.django_db

GOOD_CSV = "id,title,artist,valence\ngood-1,First,Band,0.5\n"
GOOD_JSONL = '{"id": "good-1", "title": "First", "artist": "Band", "valence": 0.5}\n'
DEEP = b"[" * 100_000
DIGITS = b"9" * 5000


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


HOSTILE_LINES = {
    "NUL in a CSV field": ("t.csv", GOOD_CSV.encode() + b"bad-2,Ti\x00tle,Band,0.5\n", "NUL"),
    "NUL in a CSV id": ("t.csv", GOOD_CSV.encode() + b"ba\x00d-2,Title,Band,0.5\n", "NUL"),
    "escaped NUL in JSON Lines": (
        "t.jsonl", GOOD_JSONL.encode() + b'{"id": "bad-2", "title": "a\\u0000b", "artist": "B"}\n', "NUL"
    ),
    "lone surrogate in JSON Lines": (
        "t.jsonl", GOOD_JSONL.encode() + b'{"id": "bad-2", "title": "a\\ud800b", "artist": "B"}\n', "surrog"
    ),
    "lone surrogate in a JSON tag": (
        "t.jsonl",
        GOOD_JSONL.encode() + b'{"id": "bad-2", "title": "t", "artist": "B", "tags": ["x\\udfff"]}\n',
        "surrogate",
    ),
    "100,000 nested brackets": ("t.jsonl", GOOD_JSONL.encode() + DEEP + b"]" * 100_000 + b"\n", "deep"),
    "nested brackets in an object": (
        "t.jsonl", GOOD_JSONL.encode() + b'{"id": "bad-2", "x": ' + DEEP + b"\n", "deep"
    ),
    "5,000-digit number in JSON Lines": (
        "t.jsonl",
        GOOD_JSONL.encode() + b'{"id": "bad-2", "title": "t", "artist": "B", "valence": ' + DIGITS + b"}\n",
        "digits",
    ),
    "5,000-digit number in CSV": ("t.csv", GOOD_CSV.encode() + b"bad-2,T,B," + DIGITS + b"\n", "valence"),
}


@pytest.mark.parametrize("case", HOSTILE_LINES, ids=list(HOSTILE_LINES))
def test_a_hostile_line_is_rejected_by_line_and_the_rest_imports(tmp_path, case) -> None:
    name, data, reason = HOSTILE_LINES[case]
    # A good line after the hostile one, too.
    tail = (
        b'{"id": "good-3", "title": "Third", "artist": "Band"}\n'
        if name.endswith(".jsonl")
        else b"good-3,Third,Band,0.4\n"
    )
    report = import_tracks(write(tmp_path, name, data + tail))
    assert [row.line for row in report.rejected] == [2 if name.endswith(".jsonl") else 3]
    assert reason in report.rejected[0].reason, report.rejected[0].reason
    assert sorted(Track.objects.values_list("external_id", flat=True)) == ["good-1", "good-3"]
    assert report.summary()  # the report itself can be shown


def test_a_nul_column_name_in_json_lines_is_reported_readably(tmp_path) -> None:
    data = b'{"id": "good-1", "title": "First", "artist": "Band", "x\\u0000y": 1, "z\\ud800": 2}\n'
    report = import_tracks(write(tmp_path, "t.jsonl", data))
    assert report.created == 1
    text = report.summary()
    assert "\x00" not in text
    text.encode("utf-8")  # no lone surrogate either


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32"])
def test_a_utf16_or_utf32_file_with_a_bom_is_decoded(tmp_path, encoding) -> None:
    text = "id,title,artist,valence\nå-1,Café,Björk,0.5\nb-2,Two,Duo,0.25\n"
    bom = {"utf-16-be": "\ufeff"}.get(encoding, "")
    report = import_tracks(write(tmp_path, "u.csv", (bom + text).encode(encoding)))
    assert report.rejected == [] and report.created == 2
    assert Track.objects.get(external_id="å-1").title == "Café"
    assert any("UTF-" in warning for warning in report.warnings)


def test_utf16_without_a_bom_is_said_to_be_not_utf8(tmp_path) -> None:
    text = "id,title,artist\na,b,c\n"
    with pytest.raises(ImportFileError, match="UTF-8"):
        import_tracks(write(tmp_path, "u.csv", text.encode("utf-16-le")))


def test_the_admin_import_page_reports_hostile_lines(staff_client) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse

    data = GOOD_JSONL.encode() + b'{"id": "bad", "title": "a\\u0000b", "artist": "B"}\n' + DEEP + b"\n"
    from catalogue.models import ImportJob
    from catalogue.services import import_jobs

    response = staff_client.post(
        reverse("admin:catalogue_importjob_add"), {"file": SimpleUploadedFile("t.jsonl", data)}
    )
    assert response.status_code == 302
    assert import_jobs.run(ImportJob.objects.get().pk) == "done"
    page = staff_client.get(response["Location"]).content.decode()
    assert "NUL" in page and "nested too deeply" in page
    assert list(Track.objects.values_list("external_id", flat=True)) == ["good-1"]
