"""The track importer service: parsing, validation with line numbers, merging, re-imports."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from catalogue.importer import ImportFileError, ImportReport, import_tracks
from catalogue.models import AUDIO_FEATURES, Track
from catalogue.selectors import catalogue_version

pytestmark = pytest.mark.django_db

HEADER = "id,title,artist,genre,tags,valence,arousal,energy,tempo,key,mode,loudness,danceability"


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return path


def rejected(report: ImportReport) -> dict[int, str]:
    return {row.line: row.reason for row in report.rejected}


def test_csv_import_sets_values_provenance_and_leaves_missing_features_null(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "tracks.csv",
        "id,title,artist,album,year,genre,tags,valence,arousal,energy,licence_note\n"
        "t1,Song One,Band A,First,1999,rock,loud;guitar|live,0.8,0.7,0.9,CC-BY\n"
        "t2,Song Two,Band B,,,jazz,,0.2,,,\n",
    )
    report = import_tracks(path)
    assert (report.created, report.updated, report.unchanged, report.rejected) == (2, 0, 0, [])
    one = Track.objects.get(external_id="t1")
    assert (one.title, one.artist, one.album) == ("Song One", "Band A", "First")
    assert (one.year, one.genre) == (1999, "rock")
    assert one.tags == ["loud", "guitar", "live"]
    assert (one.valence, one.arousal, one.energy) == (0.8, 0.7, 0.9)
    assert one.provenance == Track.Provenance.IMPORT
    assert one.source == str(path)
    assert one.licence_note == "CC-BY"
    two = Track.objects.get(external_id="t2")
    assert two.valence == 0.2
    assert two.arousal is None and two.energy is None and two.year is None  # unknown, never 0
    assert all(getattr(two, name) is None for name in AUDIO_FEATURES if name != "valence")
    assert two.tags == []


def test_bad_rows_are_rejected_with_exact_line_numbers_and_good_rows_import(tmp_path: Path) -> None:
    lines = [
        HEADER,  # 1
        "ok1,Good,Artist,pop,,0.5,0.5,0.5,120,5,1,-6,0.5",  # 2
        "bad1,Bad,Artist,pop,,high,0.5,0.5,120,5,1,-6,0.5",  # 3 non-numeric valence
        "bad2,Bad,Artist,pop,,1.2,0.5,0.5,120,5,1,-6,0.5",  # 4 valence out of range
        "bad3,Bad,Artist,pop,,0.5,0.5,0.5,120,5,1,-6,-0.1",  # 5 danceability out of range
        "bad4,Bad,Artist,pop,,0.5,0.5,0.5,-4,5,1,-6,0.5",  # 6 negative tempo
        "bad5,Bad,Artist,pop,,0.5,0.5,0.5,301,5,1,-6,0.5",  # 7 tempo > 300
        "bad6,Bad,Artist,pop,,0.5,0.5,0.5,120,12,1,-6,0.5",  # 8 key out of range
        "bad7,Bad,Artist,pop,,0.5,0.5,0.5,120,5,2,-6,0.5",  # 9 mode not 0/1
        "bad8,Bad,Artist,pop,,0.5,0.5,0.5,120,5,1,6,0.5",  # 10 loudness > 5
        "bad9,Bad,Artist,pop,,0.5,0.5,0.5,120,5,1,-71,0.5",  # 11 loudness < -70
        ",No Id,Artist,pop,,0.5,0.5,0.5,120,5,1,-6,0.5",  # 12 missing id
        "bad10,,Artist,pop,,0.5,0.5,0.5,120,5,1,-6,0.5",  # 13 missing title
        "bad11,Title,,pop,,0.5,0.5,0.5,120,5,1,-6,0.5",  # 14 missing artist
        "bad12,Title,Artist,pop",  # 15 too few fields
        "bad13,Title,Artist,pop,,0.5,0.5,0.5,120,5,1,-6,0.5,extra",  # 16 too many fields
        "bad14,Bad,Artist,pop,,0.5,1.5,0.5,120,6.5,1,-6,0.5",  # 17 arousal out of range and key not whole
        "",  # 18 blank: skipped, not an error
        "ok2,Good Two,Artist,pop,,0.1,0.9,,0,-1,0,-70,1",  # 19 tempo 0 = not detected
    ]
    report = import_tracks(write(tmp_path, "bad.csv", "\n".join(lines) + "\n"))
    reasons = rejected(report)
    assert sorted(reasons) == list(range(3, 18))
    assert reasons[3] == "valence 'high' is not a number"
    assert reasons[4] == "valence 1.2 is out of range (0 to 1)"
    assert reasons[5] == "danceability -0.1 is out of range (0 to 1)"
    assert reasons[6] == "tempo -4 is out of range (above 0, at most 300)"
    assert reasons[7] == "tempo 301 is out of range (above 0, at most 300)"
    assert reasons[8] == "key 12 is out of range (-1 to 11)"
    assert reasons[9] == "mode 2 is out of range (0 to 1)"
    assert reasons[10] == "loudness 6 is out of range (-70 to 5)"
    assert reasons[11] == "loudness -71 is out of range (-70 to 5)"
    assert reasons[12] == "missing id"
    assert reasons[13] == "missing title"
    assert reasons[14] == "missing artist"
    assert reasons[15] == "expected 13 fields, found 4"
    assert reasons[16] == "expected 13 fields, found 14"
    assert reasons[17] == "key 6.5 is not a whole number; arousal 1.5 is out of range (0 to 1)"
    assert set(Track.objects.values_list("external_id", flat=True)) == {"ok1", "ok2"}
    assert report.rows == 17  # the blank line is not a row
    ok2 = Track.objects.get(external_id="ok2")
    assert ok2.tempo is None and ok2.energy is None and ok2.key == -1 and ok2.loudness == -70
    assert any("tempo 0" in w and "line 19" in w for w in report.warnings)


def test_unknown_columns_are_reported_once_and_ignored(tmp_path: Path) -> None:
    path = write(tmp_path, "x.csv", "id,title,artist,popularity,mood\na,A,X,3,happy\nb,B,Y,4,sad\n")
    report = import_tracks(path)
    assert report.created == 2
    assert [w for w in report.warnings if "ignored columns" in w] == ["ignored columns: popularity, mood"]


def test_duplicate_ids_merge_later_values_win_tags_combined_and_lines_reported(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "dup.csv",
        "track_id,track_name,track_artist,playlist_name,playlist_genre,playlist_subgenre,valence\n"
        "x1,Song,Artist,Chill Vibes,pop,dance pop,0.3\n"
        "x2,Other,Artist,Party,edm,big room,0.9\n"
        "x1,Song (fixed),Artist,Sad Songs,rock,indie,0.4\n",
    )
    report = import_tracks(path)
    assert (report.created, report.duplicates, report.rejected) == (2, 1, [])
    track = Track.objects.get(external_id="x1")
    assert track.title == "Song (fixed)" and track.valence == 0.4 and track.genre == "rock"
    assert track.tags == ["Chill Vibes", "dance pop", "pop", "Sad Songs", "indie"]
    assert any("1 rows repeat an id" in w and "line 4" in w for w in report.warnings)


def test_non_utf8_line_is_rejected_by_line_and_other_rows_keep_their_accents(tmp_path: Path) -> None:
    content = (
        b"id,title,artist\n"
        + "a,Café del Mar,Energy 52\n".encode()
        + "b,Caf\xe9 latin-1,Someone\n".encode("latin-1")
        + b"c,Plain,Other\n"
    )
    report = import_tracks(write(tmp_path, "mixed.csv", content))
    assert report.created == 2
    assert list(rejected(report)) == [3]
    assert "not valid UTF-8 (byte 0xe9 at column 6)" in report.rejected[0].reason
    assert Track.objects.get(external_id="a").title == "Café del Mar"


def test_utf8_bom_semicolon_delimiter_and_header_case_are_understood(tmp_path: Path) -> None:
    path = write(tmp_path, "bom.csv", "\ufeffID;Title;Artist;Valence\nq;Q;W;0,5\nr;R;E;0.25\n")
    report = import_tracks(path)
    # "0,5" with a comma decimal is not a number in this importer: reported, not guessed.
    assert rejected(report) == {2: "valence '0,5' is not a number"}
    assert Track.objects.get(external_id="r").valence == 0.25


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("title,artist\nA,B\n", "no external_id (one of: id, track_id, song_id) column"),
        ("id,artist\n1,B\n", "no title (one of: title, name, track_name) column"),
        ("id,name,singer\n1,A,B\n", "no artist (one of: artist, track_artist) column"),
        ("", "is empty"),
    ],
)
def test_files_without_the_required_columns_cannot_be_imported(
    tmp_path: Path, content: str, message: str
) -> None:
    with pytest.raises(ImportFileError, match=message.replace("(", r"\(").replace(")", r"\)")):
        import_tracks(write(tmp_path, "f.csv", content))


def test_missing_file_is_an_import_file_error(tmp_path: Path) -> None:
    with pytest.raises(ImportFileError, match="file not found"):
        import_tracks(tmp_path / "nope.csv")


def test_json_lines_with_a_broken_line(tmp_path: Path) -> None:
    rows = [
        json.dumps({"id": "j1", "title": "One", "artist": "A", "tags": ["calm", "warm"], "valence": 0.7}),
        '{"id": "j2", "title": "Two", "artist": "B", "valence": 0.1',  # broken JSON
        "",
        json.dumps(["not", "an", "object"]),
        json.dumps({"id": "j3", "title": "Three", "artist": "C", "energy": None, "arousal": "0.4", "x": 1}),
        json.dumps({"id": "j4", "title": "Four", "artist": "D", "valence": 2}),
    ]
    report = import_tracks(write(tmp_path, "t.jsonl", "\n".join(rows) + "\n"))
    assert report.format == "jsonl"
    assert report.created == 2
    reasons = rejected(report)
    assert sorted(reasons) == [2, 4, 6]
    assert reasons[2].startswith("invalid JSON")
    assert reasons[4] == "expected a JSON object, found list"
    assert reasons[6] == "valence 2 is out of range (0 to 1)"
    assert Track.objects.get(external_id="j1").tags == ["calm", "warm"]
    three = Track.objects.get(external_id="j3")
    assert three.arousal == 0.4 and three.energy is None
    assert "ignored columns: x" in report.warnings


def test_json_lines_detected_by_content_and_required_keys_checked(tmp_path: Path) -> None:
    good = write(tmp_path, "data", json.dumps({"song_id": "s", "name": "N", "track_artist": "A"}) + "\n")
    assert import_tracks(good).format == "jsonl"
    bad = write(tmp_path, "bad.jsonl", json.dumps({"id": "s", "name": "N"}) + "\n")
    with pytest.raises(ImportFileError, match="no artist"):
        import_tracks(bad)


def test_reimport_updates_instead_of_duplicating_and_same_file_is_unchanged(tmp_path: Path) -> None:
    first = write(tmp_path, "a.csv", "id,title,artist,valence\nr1,One,A,0.1\nr2,Two,B,0.2\n")
    assert import_tracks(first).created == 2
    before = Track.objects.get(external_id="r1")
    version = catalogue_version()

    again = import_tracks(first)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    assert catalogue_version() == version  # nothing written

    changed = write(tmp_path, "a.csv", "id,title,artist,valence\nr1,One,A,0.9\nr2,Two,B,0.2\nr3,Three,C,\n")
    report = import_tracks(changed)
    assert (report.created, report.updated, report.unchanged) == (1, 1, 1)
    assert Track.objects.count() == 3
    after = Track.objects.get(external_id="r1")
    assert after.pk == before.pk and after.valence == 0.9
    assert after.updated_at > before.updated_at and after.created_at == before.created_at
    assert catalogue_version() != version


def test_reimport_only_writes_the_columns_the_file_has(tmp_path: Path) -> None:
    import_tracks(write(tmp_path, "full.csv", "id,title,artist,genre,energy\nk,K,A,rock,0.6\n"))
    Track.objects.filter(external_id="k").update(is_active=False)
    report = import_tracks(write(tmp_path, "full.csv", "id,title,artist,valence\nk,K2,A,0.3\n"))
    assert report.updated == 1
    track = Track.objects.get(external_id="k")
    assert (track.title, track.valence, track.genre, track.energy) == ("K2", 0.3, "rock", 0.6)
    assert track.is_active is False  # an admin's deactivation survives a re-import


def test_line_numbers_count_physical_lines_with_multiline_quoted_fields(tmp_path: Path) -> None:
    content = (
        "id,title,artist,valence\n"  # 1
        'm1,"A title\nover two lines",Artist,0.5\n'  # 2-3
        "m2,Fine,Artist,bad\n"  # 4
        'm3,"Three\nline\ntitle",Artist,0.5,extra\n'  # 5-7
        "m4,Last,Artist,7\n"  # 8
    )
    report = import_tracks(write(tmp_path, "multi.csv", content))
    assert rejected(report) == {
        4: "valence 'bad' is not a number",
        5: "expected 4 fields, found 5 (record spans lines 5-7)",
        8: "valence 7 is out of range (0 to 1)",
    }
    assert Track.objects.get(external_id="m1").title == "A title\nover two lines"


def test_crlf_line_endings_keep_line_numbers(tmp_path: Path) -> None:
    content = "id,title,artist,valence\r\na,A,X,0.1\r\nb,B,Y,x\r\nc,C,Z,0.3\r\n"
    report = import_tracks(write(tmp_path, "crlf.csv", content.encode()))
    assert rejected(report) == {3: "valence 'x' is not a number"}
    assert Track.objects.get(external_id="c").valence == 0.3


def test_tidytuesday_columns_spotify_id_year_and_playlist_tags(tmp_path: Path) -> None:
    content = (
        "track_id,track_name,track_artist,track_popularity,track_album_name,track_album_release_date,"
        "playlist_name,playlist_genre,playlist_subgenre,danceability,energy,key,loudness,mode,speechiness,"
        "acousticness,instrumentalness,liveness,valence,tempo,duration_ms\n"
        "6f807x0ima9a1j3VPbc7VN,I Don't Care,Ed Sheeran,66,Album,2019-06-14,Pop Remix,pop,dance pop,"
        "0.748,0.916,6,-2.634,1,0.0583,0.102,0,0.0653,0.518,122.036,194754\n"
        "not-a-spotify-id,Other,Someone,1,NA,1970,NA,rock,NA,0.5,0.5,1,-5,0,0.1,0.1,0.1,0.1,0.1,100,1000\n"
    )
    report = import_tracks(write(tmp_path, "spotify_songs.csv", content))
    assert report.created == 2, report.rejected
    track = Track.objects.get(external_id="6f807x0ima9a1j3VPbc7VN")
    assert track.spotify_id == "6f807x0ima9a1j3VPbc7VN" and track.year == 2019
    assert track.tags == ["Pop Remix", "dance pop"] and track.genre == "pop" and track.album == "Album"
    assert track.duration_ms == 194754 and track.key == 6 and track.time_signature is None
    assert "Spotify" in track.links()
    other = Track.objects.get(external_id="not-a-spotify-id")
    assert other.spotify_id == "" and other.album == "" and other.year == 1970 and other.tags == []
    assert report.warnings[0] == "ignored columns: track_popularity"


def test_link_ids_are_validated(tmp_path: Path) -> None:
    content = (
        "id,title,artist,mbid,isrc,youtube_id\n"
        "l1,A,B,0383dadf-2a4e-4d10-a46a-e9e041da8eb3,us-rw3-09-00001,dQw4w9WgXcQ\n"
        "l2,A,B,not-an-mbid,,\n"
    )
    report = import_tracks(write(tmp_path, "links.csv", content))
    assert rejected(report) == {3: "musicbrainz_recording_id 'not-an-mbid' is not a valid id"}
    track = Track.objects.get(external_id="l1")
    assert track.isrc == "USRW30900001" and track.youtube_id == "dQw4w9WgXcQ"
    assert track.musicbrainz_recording_id == "0383dadf-2a4e-4d10-a46a-e9e041da8eb3"


def test_provenance_column_and_binary_stream_source() -> None:
    stream = io.BytesIO(b"id,title,artist,provenance\np1,A,B,editorial\np2,A,B,guesswork\n")
    report = import_tracks(stream, source_name="upload.csv")
    assert rejected(report) == {3: "provenance 'guesswork' is not one of audio, editorial, import, manual"}
    track = Track.objects.get(external_id="p1")
    assert track.provenance == "editorial" and track.source == "upload.csv"


def test_small_batches_give_the_same_result(tmp_path: Path) -> None:
    rows = "".join(f"b{i},T{i},A{i % 7},{i / 100}\n" for i in range(95))
    path = write(tmp_path, "b.csv", "id,title,artist,valence\n" + rows + "b3,T3 again,A3,0.5\n")
    report = import_tracks(path, batch_size=10)
    assert (report.created, report.duplicates) == (95, 1)
    assert Track.objects.count() == 95
    assert Track.objects.get(external_id="b3").title == "T3 again"
    assert import_tracks(path, batch_size=7).unchanged == 95
