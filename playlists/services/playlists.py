"""Playlist reads (who may see what) and writes (add, move, remove, rename, cover, undo, save a run).

Every write locks the playlist row, keeps the positions 0..n-1, and remembers the playlist as it was
before, so "undo" puts back the last change."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from accounts.models import User
from catalogue.models import Track
from photos.models import Photo, Run
from playlists.formats import MAX_IMPORT_TRACKS
from playlists.models import Playlist, PlaylistTrack

MAX_TRACKS = MAX_IMPORT_TRACKS
SORTS = {
    "updated": "-updated_at",
    "created": "-created_at",
    "title": "title",
    "tracks": "-track_count",
}


class PlaylistError(ValueError):
    """A change that cannot be made; the message is for the user."""


# --- reads ---------------------------------------------------------------------------------------------


def visible_to(user: User) -> QuerySet[Playlist]:
    """The user's own playlists and everyone's public ones (unlisted ones only by their link)."""
    return Playlist.objects.filter(Q(owner=user) | Q(visibility=Playlist.Visibility.PUBLIC))


def shared(token: str) -> QuerySet[Playlist]:
    """The playlist behind a share link, when it is unlisted or public."""
    return Playlist.objects.filter(share_token=token).exclude(visibility=Playlist.Visibility.PRIVATE)


def listing(playlists: QuerySet[Playlist], *, q: str = "", sort: str = "updated") -> QuerySet[Playlist]:
    """Search (title, description, track titles and artists), sort, and count tracks."""
    if q:
        playlists = playlists.filter(
            Q(title__icontains=q)
            | Q(description__icontains=q)
            | Q(entries__title__icontains=q)
            | Q(entries__artist__icontains=q)
        ).distinct()
    playlists = playlists.annotate(track_count=Count("entries", distinct=True))
    return playlists.select_related("owner", "cover").order_by(SORTS.get(sort, SORTS["updated"]), "-pk")


def entries(playlist: Playlist) -> list[PlaylistTrack]:
    rows = playlist.entries.select_related("track", "photo", "added_by")
    return list(rows.defer("track__audio_embedding", "photo__embedding").order_by("position"))


# --- writes --------------------------------------------------------------------------------------------


def create(
    owner: User,
    title: str,
    *,
    description: str = "",
    visibility: str = Playlist.Visibility.PRIVATE,
    cover: Photo | None = None,
) -> Playlist:
    _check_cover(owner, cover)
    return Playlist.objects.create(
        owner=owner, title=_title(title), description=description, visibility=visibility, cover=cover
    )


@contextmanager
def changing(playlist: Playlist, label: str) -> Iterator[Playlist]:
    """A change to the playlist: locked, remembered for undo, its updated time moved on."""
    with transaction.atomic():
        locked = Playlist.objects.select_for_update().get(pk=playlist.pk)
        before = snapshot(locked)
        yield locked
        locked.undo_state, locked.undo_label = before, label
        locked.save()
    playlist.refresh_from_db()


def update(playlist: Playlist, **fields: Any) -> Playlist:
    """Rename, describe, change visibility or cover (fields: title, description, visibility, cover)."""
    if "cover" in fields:
        _check_cover(playlist.owner, fields["cover"])
    if "title" in fields:
        fields["title"] = _title(fields["title"])
    label = "rename" if set(fields) == {"title"} else "cover" if set(fields) == {"cover"} else "edit"
    with changing(playlist, label) as locked:
        for name, value in fields.items():
            setattr(locked, name, value)
    return playlist


def add_tracks(
    playlist: Playlist,
    user: User,
    tracks: Sequence[Track],
    *,
    photo: Photo | None = None,
    run: Run | None = None,
    note: str = "",
    position: int | None = None,
) -> list[PlaylistTrack]:
    """Add tracks (at the end, or from position on). A track already in the playlist is refused."""
    if photo is not None and photo.owner_id != user.pk:
        raise PlaylistError("That photo is not yours.")
    if run is not None and run.user_id != user.pk:
        raise PlaylistError("That run is not yours.")
    if len({t.pk for t in tracks}) != len(tracks):
        raise PlaylistError("The same track is listed twice.")
    with changing(playlist, "add") as locked:
        current = list(locked.entries.order_by("position"))
        present = {e.track_id for e in current}
        repeated = [t for t in tracks if t.pk in present]
        if repeated:
            raise PlaylistError(f"“{repeated[0].title}” is already in this playlist.")
        if len(current) + len(tracks) > MAX_TRACKS:
            raise PlaylistError(f"A playlist holds at most {MAX_TRACKS:,} tracks.")
        now = timezone.now()
        new = [
            PlaylistTrack(
                playlist=locked,
                position=0,
                track=t,
                title=t.title,
                artist=t.artist,
                external_id=t.external_id,
                added_by=user,
                added_at=now,
                photo=photo,
                run=run,
                note=note[:500],
            )
            for t in tracks
        ]
        at = len(current) if position is None else max(0, min(position, len(current)))
        for offset, entry in enumerate(new):
            entry.position = at + offset
        PlaylistTrack.objects.bulk_create(new)
        _renumber([*current[:at], *new, *current[at:]])  # moves only the entries after the new ones
    return new


def move(playlist: Playlist, entry_id: int, position: int) -> None:
    with changing(playlist, "move") as locked:
        current = list(locked.entries.order_by("position"))
        moving = _find(current, entry_id)
        current.remove(moving)
        current.insert(max(0, min(position, len(current))), moving)
        _renumber(current)


def remove(playlist: Playlist, entry_id: int) -> None:
    with changing(playlist, "remove") as locked:
        current = list(locked.entries.order_by("position"))
        gone = _find(current, entry_id)
        gone.delete()
        current.remove(gone)
        _renumber(current)


def replace_track(
    playlist: Playlist, entry_id: int, track: Track, user: User, note: str = ""
) -> PlaylistTrack:
    """Put another track at an entry's position (the soundtrack's swap), keeping its photo and run."""
    with changing(playlist, "swap") as locked:
        entry = _find(list(locked.entries.all()), entry_id)
        if locked.entries.filter(track=track).exclude(pk=entry.pk).exists():
            raise PlaylistError(f"“{track.title}” is already in this playlist.")
        entry.track, entry.title, entry.artist = track, track.title, track.artist
        entry.external_id = track.external_id
        entry.added_by, entry.added_at, entry.note = user, timezone.now(), note[:500]
        entry.save()
    return entry


def undo(playlist: Playlist) -> str:
    """Put the playlist back as it was before its last change; returns what was undone."""
    with transaction.atomic():
        locked = Playlist.objects.select_for_update().get(pk=playlist.pk)
        if locked.undo_state is None:
            raise PlaylistError("There is nothing to undo.")
        label = locked.undo_label
        _restore(locked, locked.undo_state)
        locked.undo_state, locked.undo_label = None, ""
        locked.save()
    playlist.refresh_from_db()
    return label


def save_run(run: Run, user: User, title: str = "") -> Playlist:
    """A done run's ranked tracks as a new playlist, each entry recording the photo and the run."""
    if run.user_id != user.pk:
        raise PlaylistError("That run is not yours.")
    if run.status != Run.Status.DONE:
        raise PlaylistError("The run has no result yet.")
    items = list(run.items.select_related("track").order_by("rank"))
    tracks = [item.track for item in items if item.track.is_active]
    if not tracks:
        raise PlaylistError("The run has no tracks to save.")
    with transaction.atomic():
        playlist = create(
            user,
            title or f"{run.mood_summary or 'Tracks'} – {run.photo}".strip(),
            cover=run.photo,
        )
        add_tracks(playlist, user, tracks, photo=run.photo, run=run)
        Playlist.objects.filter(pk=playlist.pk).update(undo_state=None, undo_label="")
    playlist.refresh_from_db()
    return playlist


# --- helpers -------------------------------------------------------------------------------------------


def _title(title: str) -> str:
    title = " ".join((title or "").split())[:200]
    if not title:
        raise PlaylistError("A playlist needs a title.")
    return title


def _check_cover(owner: User, cover: Photo | None) -> None:
    if cover is not None and cover.owner_id != owner.pk:
        raise PlaylistError("The cover must be one of your photos.")


def _find(current: list[PlaylistTrack], entry_id: int) -> PlaylistTrack:
    for entry in current:
        if entry.pk == entry_id:
            return entry
    raise PlaylistError("That track is not in this playlist (it may have been removed).")


def _renumber(ordered: list[PlaylistTrack]) -> None:
    changed = []
    for position, entry in enumerate(ordered):
        if entry.position != position:
            entry.position = position
            changed.append(entry)
    PlaylistTrack.objects.bulk_update(changed, ["position"], batch_size=1000)


ENTRY_FIELDS = (
    "id",
    "track_id",
    "title",
    "artist",
    "external_id",
    "added_by_id",
    "photo_id",
    "run_id",
    "note",
)


def snapshot(playlist: Playlist) -> dict[str, Any]:
    rows = playlist.entries.order_by("position").values(*ENTRY_FIELDS, "added_at")
    return {
        "title": playlist.title,
        "description": playlist.description,
        "visibility": playlist.visibility,
        "cover_id": playlist.cover_id,
        "entries": [{**row, "added_at": row["added_at"].isoformat()} for row in rows],
    }


def _restore(playlist: Playlist, state: dict[str, Any]) -> None:
    rows = state["entries"]

    def existing(model: Any, field: str) -> set[int]:
        ids = {row[field] for row in rows if row[field] is not None}
        return set(model.objects.filter(pk__in=ids).values_list("pk", flat=True))

    tracks, photos, runs = existing(Track, "track_id"), existing(Photo, "photo_id"), existing(Run, "run_id")
    users = existing(User, "added_by_id")
    playlist.title, playlist.description = state["title"], state["description"]
    playlist.visibility = state["visibility"]
    playlist.cover_id = state["cover_id"] if Photo.objects.filter(pk=state["cover_id"]).exists() else None
    playlist.entries.all().delete()
    PlaylistTrack.objects.bulk_create(
        PlaylistTrack(
            pk=row["id"],  # entries keep their ids, so links to them stay valid after an undo
            playlist=playlist,
            position=position,
            track_id=row["track_id"] if row["track_id"] in tracks else None,
            title=row["title"],
            artist=row["artist"],
            external_id=row["external_id"],
            added_by_id=row["added_by_id"] if row["added_by_id"] in users else None,
            added_at=datetime.fromisoformat(row["added_at"]),
            photo_id=row["photo_id"] if row["photo_id"] in photos else None,
            run_id=row["run_id"] if row["run_id"] in runs else None,
            note=row["note"],
        )
        for position, row in enumerate(rows)
    )
