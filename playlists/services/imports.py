"""Import a JSPF or XSPF file as a playlist: match each track to the active catalogue, write it all or
nothing, and say which positions did not match.

Matching, in order: the catalogue id in our own extension (a file this platform exported), the MusicBrainz
recording id, the ISRC, then artist and title normalised (case, accents, punctuation, "&"/"and")."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction

from accounts.models import User
from catalogue.models import Track
from playlists.formats import ParsedTrack, normalise, parse
from playlists.models import Playlist
from playlists.services import playlists as playlist_service
from playlists.services.playlists import PlaylistError

MAX_IMPORT_BYTES = 20 * 1024 * 1024
_CHUNK = 5000


@dataclass
class ImportResult:
    playlist: Playlist
    matched: int
    unmatched: list[dict[str, object]] = field(default_factory=list)  # position, title, artist
    matched_by: dict[str, int] = field(default_factory=dict)  # how many matched by each key


def import_playlist(owner: User, data: bytes, filename: str = "", title: str = "") -> ImportResult:
    """Raises NotAPlaylist / TooManyTracks (formats.py) or PlaylistError with a message for the user; in
    every such case nothing is written."""
    if len(data) > MAX_IMPORT_BYTES:
        raise PlaylistError(f"The file is larger than the {MAX_IMPORT_BYTES // (1024 * 1024)} MB limit.")
    parsed = parse(data, filename)
    matches = match_tracks(parsed.tracks)
    tracks: list[Track] = []
    seen: set[int] = set()
    unmatched: list[dict[str, object]] = []
    matched_by: dict[str, int] = {}
    for item in parsed.tracks:
        found = matches.get(item.position)
        if found is None:
            unmatched.append({"position": item.position, "title": item.title, "artist": item.artist})
            continue
        track, key = found
        if track.pk in seen:  # the same track twice in the file: kept once
            continue
        seen.add(track.pk)
        tracks.append(track)
        matched_by[key] = matched_by.get(key, 0) + 1
    if parsed.tracks and not tracks:
        raise PlaylistError(f"None of the {len(parsed.tracks)} tracks of the file is in the catalogue.")
    with transaction.atomic():
        playlist = playlist_service.create(
            owner,
            title or parsed.title or filename or "Imported playlist",
            description=parsed.annotation[:2000],
        )
        if tracks:
            playlist_service.add_tracks(playlist, owner, tracks, note="imported")
        Playlist.objects.filter(pk=playlist.pk).update(undo_state=None, undo_label="")
    playlist.refresh_from_db()
    return ImportResult(playlist, len(tracks), unmatched, matched_by)


def match_tracks(items: list[ParsedTrack]) -> dict[int, tuple[Track, str]]:
    """position -> (active track, what matched it)."""
    found: dict[int, tuple[Track, str]] = {}
    keys: list[tuple[str, str, str]] = [
        ("catalogue id", "external_id", "external_id"),
        ("MusicBrainz recording id", "musicbrainz_recording_id", "musicbrainz_recording_id"),
        ("ISRC", "isrc", "isrc"),
    ]
    for label, attribute, column in keys:
        wanted = {getattr(i, attribute): i.position for i in items if i.position not in found}
        wanted.pop("", None)
        if not wanted:
            continue
        by_value = _by_column(column, list(wanted))
        for item in items:
            value = getattr(item, attribute)
            if item.position not in found and value and value in by_value:
                found[item.position] = (by_value[value], label)
    rest = [i for i in items if i.position not in found and i.title and i.artist]
    if rest:
        by_name = _by_artist_and_title({i.artist for i in rest})
        for item in rest:
            track = by_name.get((normalise(item.artist), normalise(item.title)))
            if track is not None:
                found[item.position] = (track, "artist and title")
    return found


def _by_column(column: str, values: list[str]) -> dict[str, Track]:
    """Active tracks whose column holds one of the values (ids as the file gives them: MusicBrainz ids
    in lower case, ISRCs in upper case), by value."""
    out: dict[str, Track] = {}
    queryset = Track.objects.filter(is_active=True)
    for start in range(0, len(values), _CHUNK):
        chunk = values[start : start + _CHUNK]
        for track in queryset.filter(**{f"{column}__in": chunk}).order_by("pk"):
            value = getattr(track, column)
            out.setdefault(value.lower() if column == "musicbrainz_recording_id" else value, track)
    return out


def _by_artist_and_title(artists: set[str]) -> dict[tuple[str, str], Track]:
    """Active tracks of these artists by (normalised artist, normalised title). Normalised names cannot be
    looked up in the database, so every active track's artist and title are read once (28k tracks: a
    fraction of a second)."""
    wanted = {normalise(a) for a in artists}
    out: dict[tuple[str, str], Track] = {}
    rows = Track.objects.filter(is_active=True).only("pk", "artist", "title", "external_id").order_by("pk")
    for track in rows.iterator(chunk_size=_CHUNK):
        artist = normalise(track.artist)
        if artist in wanted:
            out.setdefault((artist, normalise(track.title)), track)
    return out
