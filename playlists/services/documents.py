"""Playlists and soundtrack plans as PlaylistDocuments (playlists/formats.py writes the files)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.utils import timezone

from catalogue.models import Track
from playlists.formats import DocumentTrack, PlaylistDocument
from playlists.models import Playlist, PlaylistTrack

GENERATOR = "Photophone"
EXPORT_FIELDS = (
    "playlist_id",
    "position",
    "note",
    "added_at",
    "track__title",
    "track__artist",
    "track__external_id",
    "track__album",
    "track__duration_ms",
    "track__musicbrainz_recording_id",
    "track__isrc",
    "track__spotify_id",
    "track__youtube_id",
    "track__is_active",
    "photo__original_name",
    "photo__sha256",
    "added_by__username",
)


def listening_link(track: Track) -> str:
    """The track's first outbound link (MusicBrainz, Spotify, YouTube, or a search when it has no ids)."""
    return next(iter(track.links().values()), "")


def document_track(track: Track, **extra: object) -> DocumentTrack:
    return DocumentTrack(
        title=track.title,
        artist=track.artist,
        external_id=track.external_id,
        album=track.album,
        duration_ms=track.duration_ms,
        musicbrainz_recording_id=track.musicbrainz_recording_id,
        isrc=track.isrc,
        link=listening_link(track),
        **extra,  # type: ignore[arg-type]
    )


def unavailable_note(count: int) -> str:
    if count == 1:
        return "1 track of this playlist is no longer in the catalogue and is left out."
    return f"{count} tracks of this playlist are no longer in the catalogue and are left out."


def playlist_document(playlist: Playlist, url: str = "") -> PlaylistDocument:
    """The playlist's available tracks in order; tracks deleted from the catalogue since are left out,
    with a note saying how many."""
    entries: Sequence[PlaylistTrack] = list(
        playlist.entries.select_related("track", "photo", "added_by")
        .only(*EXPORT_FIELDS)  # a model instance per row and column was most of an export's time
        .order_by("position")
    )
    tracks = [
        document_track(
            e.track,
            photo=e.photo.original_name if e.photo else "",
            note=e.note,
            added_at=e.added_at,
            added_by=e.added_by.username if e.added_by else "",
        )
        for e in entries
        if e.track is not None and e.track.is_active
    ]
    missing = len(entries) - len(tracks)
    return PlaylistDocument(
        title=playlist.title,
        creator=playlist.owner.username,
        date=playlist.updated_at,
        tracks=tracks,
        annotation=playlist.description,
        identifier=url if playlist.visibility != Playlist.Visibility.PRIVATE else "",
        notes=[unavailable_note(missing)] if missing else [],
    )


def plan_document(title: str, placements: Iterable[tuple[int, str, dict[str, object]]]) -> PlaylistDocument:
    """A soundtrack made by the command: (track id, photo argument, extra extension keys) in order."""
    placements = list(placements)
    tracks = Track.objects.in_bulk([track_id for track_id, _, _ in placements])
    return PlaylistDocument(
        title=title,
        creator=GENERATOR,
        date=timezone.now(),
        tracks=[document_track(tracks[t], photo=photo, extra=extra) for t, photo, extra in placements],
    )
