"""Playlist files: JSPF, XSPF (validated against the XSPF schema) and M3U8 out; JSPF and XSPF in."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import pytest
from lxml import etree

from playlists.formats import (
    MAX_IMPORT_TRACKS,
    MB_RECORDING,
    TRACK_EXTENSION,
    DocumentTrack,
    NotAPlaylist,
    PlaylistDocument,
    TooManyTracks,
    normalise,
    parse,
    to_jspf,
    to_m3u8,
    to_xspf,
)

FIXTURES = Path(__file__).parent / "fixtures"
MBID = "5b11f4ce-a62d-471e-81fc-a69a8278c7da"


@cache
def xspf_schema() -> etree.RelaxNG:
    return etree.RelaxNG(etree.parse(str(FIXTURES / "xspf-1.rng")))


def document(n: int = 2) -> PlaylistDocument:
    tracks = [
        DocumentTrack(
            title="Smells <Like> Teen & Spirit\x07",
            artist="Nirvana",
            external_id="sp-1",
            album="Nevermind",
            duration_ms=301_000,
            musicbrainz_recording_id=MBID,
            isrc="USGF19942501",
            link="https://musicbrainz.org/recording/" + MBID,
            photo="beach.jpg",
            note="for the bonfire",
        ),
        DocumentTrack(title="Avril 14th", artist="Aphex Twin", external_id="sp-2"),
    ]
    return PlaylistDocument(
        title="Summer",
        creator="dana",
        date=datetime(2026, 7, 1, 12, tzinfo=UTC),
        tracks=tracks[:n],
        notes=["1 track of this playlist is no longer in the catalogue and is left out."],
    )


def test_xspf_is_valid_against_the_schema_with_and_without_tracks() -> None:
    for n in (2, 0):
        root = etree.fromstring(to_xspf(document(n)).encode())
        assert xspf_schema().validate(root), xspf_schema().error_log
    assert "no longer in the catalogue" in to_xspf(document(0))


def test_the_schema_rejects_what_is_not_xspf() -> None:
    wrong = b'<playlist version="1" xmlns="http://xspf.org/ns/0/"><track/></playlist>'  # no trackList
    assert not xspf_schema().validate(etree.fromstring(wrong))
    bad_duration = to_xspf(document(1)).replace("<duration>301000", "<duration>-3")
    assert not xspf_schema().validate(etree.fromstring(bad_duration.encode()))


def test_jspf_in_the_listenbrainz_style() -> None:
    playlist = json.loads(to_jspf(document()))["playlist"]
    first, second = playlist["track"]
    assert first["identifier"] == [MB_RECORDING + MBID]
    assert first["creator"] == "Nirvana" and first["duration"] == 301_000
    assert first["extension"][TRACK_EXTENSION]["external_id"] == "sp-1"
    assert first["extension"][TRACK_EXTENSION]["photo"] == "beach.jpg"
    assert second["identifier"] == [] and "duration" not in second
    assert "left out" in playlist["annotation"]
    assert json.loads(to_jspf(document(0)))["playlist"]["track"] == []


def test_m3u8_is_extended_m3u() -> None:
    lines = to_m3u8(document()).splitlines()
    assert lines[0] == "#EXTM3U"
    assert "#EXTINF:301,Nirvana - Smells <Like> Teen & Spirit\x07" in lines
    assert lines[lines.index("#EXTINF:-1,Aphex Twin - Avril 14th") + 1] == "#sp-2"
    assert to_m3u8(document(0)).splitlines()[0] == "#EXTM3U"


@pytest.mark.parametrize("writer", [to_jspf, to_xspf])
def test_what_we_write_reads_back(writer) -> None:
    parsed = parse(writer(document()).encode())
    assert parsed.title == "Summer"
    first, second = parsed.tracks
    assert (first.position, first.musicbrainz_recording_id, first.isrc, first.external_id) == (
        1,
        MBID,
        "USGF19942501",
        "sp-1",
    )
    assert (second.position, second.artist, second.title) == (2, "Aphex Twin", "Avril 14th")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "not a playlist"),
        (b"#EXTM3U\n#EXTINF:1,a - b\nx.mp3\n", "not a playlist"),
        (b"{not json", "not valid JSON"),
        (b'{"title": "x"}', "not JSPF"),
        (b"<html><body>hi</body></html>", "not XSPF"),
        (b"<playlist", "not valid XML"),
        (b"\x89PNG\r\n\x1a\n", "not a playlist"),
    ],
)
def test_files_that_are_not_playlists_are_refused_with_a_message(data: bytes, message: str) -> None:
    with pytest.raises(NotAPlaylist, match=message):
        parse(data, "upload.bin")


def test_xml_entities_are_not_expanded() -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE p [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
        b'<playlist version="1" xmlns="http://xspf.org/ns/0/"><trackList><track><title>&b;</title>'
        b"</track></trackList></playlist>"
    )
    parsed = parse(bomb)
    assert "aaaaaaaaaa" not in parsed.tracks[0].title


def test_more_than_the_limit_is_refused_with_a_message() -> None:
    items = [{"title": f"t{i}", "creator": "a"} for i in range(MAX_IMPORT_TRACKS + 1)]
    with pytest.raises(TooManyTracks, match="10,001 tracks; at most 10,000"):
        parse(json.dumps({"playlist": {"title": "big", "track": items}}).encode())
    items.pop()
    assert len(parse(json.dumps({"playlist": {"title": "ok", "track": items}}).encode()).tracks) == 10_000


def test_normalise_for_artist_and_title_matching() -> None:
    assert normalise("Beyoncé  – HALO!") == normalise("beyonce halo")
    assert normalise("Simon & Garfunkel") == normalise("simon and garfunkel")
