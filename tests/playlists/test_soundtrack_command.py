"""`manage.py soundtrack` as outside tooling runs it (DESIGN.md section 5)."""

from __future__ import annotations

import io
import itertools
import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from lxml import etree

from catalogue.models import Track
from playlists.formats import MB_RECORDING, TRACK_EXTENSION, XSPF_NS
from recommender.soundtrack import DEFAULT_BOUNDS, allocate
from tests.playlists.test_formats import xspf_schema

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db


def run_command(*args: str) -> str:
    out = io.StringIO()
    call_command("soundtrack", *args, stdout=out)
    return out.getvalue()


def test_jspf_soundtrack_spreads_tracks_over_the_photos_without_repeats_and_with_bounded_steps(
    smooth_catalogue, photo_files
) -> None:
    document = json.loads(run_command(*photo_files, "--tracks", "10", "--format", "jspf"))
    playlist = document["playlist"]
    assert {"title", "creator", "date", "track"} <= set(playlist)
    tracks = playlist["track"]
    assert len(tracks) == 10
    ours = [t["extension"][TRACK_EXTENSION] for t in tracks]
    assert [o["photo"] for o in ours] == [
        photo for photo, count in zip(photo_files, allocate(10, 3), strict=True) for _ in range(count)
    ]
    by_external = {t.external_id: t for t in Track.objects.all()}
    chosen = [by_external[o["external_id"]] for o in ours]
    assert [t["creator"] for t in tracks] == [t.artist for t in chosen]
    assert [t["title"] for t in tracks] == [t.title for t in chosen]
    assert len({t.pk for t in chosen}) == 10 and len({t.artist for t in chosen}) == 10
    for a, b in itertools.pairwise(chosen):
        for name in ("energy", "tempo", "valence", "arousal"):
            step = abs(getattr(a, name) - getattr(b, name))
            assert step <= getattr(DEFAULT_BOUNDS, name) + 1e-9, (name, a, b)
    for track, entry in zip(chosen, tracks, strict=True):
        assert entry["duration"] == track.duration_ms
        expected = [MB_RECORDING + track.musicbrainz_recording_id] if track.musicbrainz_recording_id else []
        assert entry["identifier"] == expected


def test_xspf_and_m3u8_soundtracks(smooth_catalogue, photo_files, tmp_path) -> None:
    out = tmp_path / "soundtrack.xspf"
    assert run_command(*photo_files, "--tracks", "4", "--format", "xspf", "--out", str(out)) == ""
    root = etree.fromstring(out.read_bytes())
    assert xspf_schema().validate(root), xspf_schema().error_log
    assert len(root.findall(f"{{{XSPF_NS}}}trackList/{{{XSPF_NS}}}track")) == 4

    m3u = run_command(*photo_files, "--tracks", "5", "--format", "m3u8").splitlines()
    assert m3u[0] == "#EXTM3U"
    extinf = [line for line in m3u if line.startswith("#EXTINF:")]
    assert len(extinf) == 5
    artists = {t.artist for t in Track.objects.all()}
    for line in extinf:
        seconds, label = line[len("#EXTINF:") :].split(",", 1)
        assert int(seconds) >= 180 and label.split(" - ")[0] in artists
        following = m3u[m3u.index(line) + 1]
        assert following.startswith("https://")


def test_an_unreadable_photo_is_named_and_nothing_is_written(smooth_catalogue, photo_files, tmp_path) -> None:
    bad = tmp_path / "holiday-07.jpg"
    bad.write_bytes(b"not a photo at all")
    out = tmp_path / "out.jspf"
    with pytest.raises(CommandError, match=r"holiday-07\.jpg"):
        run_command(photo_files[0], str(bad), "--tracks", "3", "--format", "jspf", "--out", str(out))
    assert not out.exists()
    with pytest.raises(CommandError, match=r"missing\.jpg: no such file"):
        run_command(str(tmp_path / "missing.jpg"), "--tracks", "1", "--format", "m3u8")


def test_fewer_tracks_than_photos_is_refused(smooth_catalogue, photo_files) -> None:
    with pytest.raises(CommandError, match="each photo needs at least one"):
        run_command(*photo_files, "--tracks", "2", "--format", "jspf")


def test_the_command_exits_non_zero_for_an_unreadable_photo(tmp_path) -> None:
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG broken")
    out = tmp_path / "never.m3u8"
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "soundtrack",
            str(bad),
            "--tracks",
            "1",
            "--format",
            "m3u8",
            "--out",
            str(out),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "PHOTOPHONE_VAR_DIR": str(tmp_path / "var"), "LOG_LEVEL": "WARNING"},
        timeout=300,
    )
    assert result.returncode != 0
    assert "broken.png" in result.stderr
    assert result.stdout == ""
    assert not out.exists()
