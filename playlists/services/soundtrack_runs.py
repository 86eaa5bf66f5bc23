"""Soundtracks on the workers, like photo runs: create and dispatch, claim with a conditional update, report
progress, store the playlist in one transaction; then the trajectory and swapping a track."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any, cast

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import User
from catalogue.models import Track
from config.celery import publish
from inference import adapter
from photos.models import Photo
from photos.services.execution import user_feedback
from photos.services.photos import PhotoRejected, normalise_stored_upload
from playlists.models import Playlist, PlaylistTrack, Soundtrack
from playlists.services import playlists as playlist_service
from playlists.services.playlists import PlaylistError
from playlists.services.soundtracks import (
    MAX_PHOTOS,
    MAX_TRACKS,
    PhotoMood,
    Plan,
    SoundtrackError,
    plan,
    tracks_for_minutes,
)
from recommender.soundtrack import Candidate, Slot, next_best
from registry import serving as registry_serving

logger = logging.getLogger(__name__)

SOUNDTRACK_TASK = "playlists.tasks.build_soundtrack"
# A soundtrack still running after this long lost its worker (the task's hard time limit is 660 s).
STALE_AFTER = timedelta(seconds=700)
STORED_CANDIDATES = 300  # per photo, kept for swaps and the drawing
UNEXPECTED = "Something went wrong while making the soundtrack. Please try again."
WORKER_LOST = "The worker making this soundtrack stopped before it finished. Please try again."


def create(
    owner: User,
    photos: list[Photo],
    *,
    n_tracks: int | None = None,
    minutes: int | None = None,
    title: str = "",
) -> Soundtrack:
    if not photos:
        raise SoundtrackError("Choose at least one photo.")
    if len(photos) > MAX_PHOTOS:
        raise SoundtrackError(f"A soundtrack takes at most {MAX_PHOTOS} photos.")
    if any(p.owner_id != owner.pk for p in photos):
        raise SoundtrackError("Only your own photos can be used.")
    if len({p.pk for p in photos}) != len(photos):
        raise SoundtrackError("A photo is listed twice.")
    if (n_tracks is None) == (minutes is None):
        raise SoundtrackError("Give a length in tracks or in minutes.")
    if n_tracks is not None and not len(photos) <= n_tracks <= MAX_TRACKS:
        raise SoundtrackError(f"Choose between {len(photos)} (one per photo) and {MAX_TRACKS} tracks.")
    if minutes is not None and not 1 <= minutes <= 24 * 60:
        raise SoundtrackError("Choose between 1 and 1440 minutes.")
    soundtrack = Soundtrack.objects.create(
        owner=owner,
        title=(title or f"Soundtrack for {len(photos)} photos").strip()[:200],
        photo_ids=[p.pk for p in photos],
        n_tracks=n_tracks,
        minutes=minutes,
        progress_message="Waiting for a worker…",
    )
    transaction.on_commit(lambda: dispatch(soundtrack.pk))
    return soundtrack


def dispatch(soundtrack_id: int) -> bool:
    if not publish(SOUNDTRACK_TASK, soundtrack_id):
        Soundtrack.objects.filter(pk=soundtrack_id, status=Soundtrack.Status.PENDING).update(
            progress_message="The workers are not reachable right now; try again in a moment."
        )
        return False
    Soundtrack.objects.filter(pk=soundtrack_id).update(dispatched_at=timezone.now())
    return True


def claim(soundtrack_id: int, worker: str) -> bool:
    return (
        Soundtrack.objects.filter(pk=soundtrack_id, status=Soundtrack.Status.PENDING).update(
            status=Soundtrack.Status.RUNNING,
            started_at=timezone.now(),
            worker=worker[:200],
            attempts=F("attempts") + 1,
            progress=1,
            progress_message="Reading the photos…",
        )
        == 1
    )


def fail(soundtrack_id: int, message: str) -> None:
    Soundtrack.objects.filter(pk=soundtrack_id).exclude(status=Soundtrack.Status.DONE).update(
        status=Soundtrack.Status.FAILED, error=message, finished_at=timezone.now()
    )


def report(soundtrack_id: int, percent: int, message: str) -> None:
    Soundtrack.objects.filter(pk=soundtrack_id, status=Soundtrack.Status.RUNNING).update(
        progress=max(1, min(percent, 99)), progress_message=message[:200]
    )


def as_seen_now(soundtrack: Soundtrack) -> Soundtrack:
    """Failed, with the reason, when its worker is gone (in memory only, like photo runs)."""
    started = soundtrack.started_at
    if soundtrack.status == Soundtrack.Status.RUNNING and started and started < timezone.now() - STALE_AFTER:
        soundtrack.status, soundtrack.error = Soundtrack.Status.FAILED, WORKER_LOST
    return soundtrack


def reap() -> dict[str, int]:
    """Periodic (the beat): record soundtracks whose worker is gone, send again those the broker never got."""
    now = timezone.now()
    failed = Soundtrack.objects.filter(
        status=Soundtrack.Status.RUNNING, started_at__lt=now - STALE_AFTER
    ).update(status=Soundtrack.Status.FAILED, error=WORKER_LOST, finished_at=now)
    waiting = Soundtrack.objects.filter(
        status=Soundtrack.Status.PENDING,
        dispatched_at__isnull=True,
        created_at__lt=now - timedelta(seconds=settings.RUN_REDISPATCH_AFTER_SECONDS),
    ).values_list("pk", flat=True)
    resent = sum(dispatch(pk) for pk in list(waiting))
    return {"failed": failed, "resent": resent}


def execute(soundtrack_id: int, worker: str) -> None:
    """The worker's side: analyse the photos, plan the soundtrack, store its playlist."""
    if not claim(soundtrack_id, worker):
        logger.info("soundtrack %s already claimed or finished; skipping", soundtrack_id)
        return
    soundtrack = Soundtrack.objects.select_related("owner").get(pk=soundtrack_id)
    try:
        served = registry_serving.active()
        moods = _analyse(soundtrack, served)
        n_tracks = soundtrack.n_tracks or max(len(moods), tracks_for_minutes(soundtrack.minutes or 0))
        result = plan(
            served,
            moods,
            min(n_tracks, MAX_TRACKS),
            user_id=soundtrack.owner_id,
            feedback=user_feedback(soundtrack.owner_id),
            progress=lambda percent, message: report(soundtrack_id, percent, message),
        )
        _store(soundtrack, result)
    except SoundtrackError as exc:
        fail(soundtrack_id, str(exc))
    except Exception:
        logger.exception("soundtrack %s failed", soundtrack_id)
        fail(soundtrack_id, UNEXPECTED)


def _analyse(soundtrack: Soundtrack, served: registry_serving.Served) -> list[PhotoMood]:
    photos = Photo.objects.in_bulk(soundtrack.photo_ids)
    images = []
    for n, pk in enumerate(soundtrack.photo_ids, start=1):
        photo = photos.get(pk)
        if photo is None:
            raise SoundtrackError(f"Photo {n} was deleted; choose the photos again.")
        try:
            # A big upload kept as it came is re-encoded first, as for a photo run.
            name = normalise_stored_upload(photo.pk) if photo.awaits_normalising else str(photo.image.name)
            with photo.image.storage.open(name, "rb") as handle:
                images.append(adapter.decode_photo(cast(Any, handle)))
        except PhotoRejected as exc:
            raise SoundtrackError(f"Photo {n} ({photo}) cannot be used: {exc}") from exc
        except Exception as exc:
            raise SoundtrackError(f"Photo {n} ({photo}) could not be read; upload it again.") from exc
        report(soundtrack.pk, 5 + 20 * n // len(soundtrack.photo_ids), f"Read photo {n} of {len(photos)}")
    analyses = served.engine.analyse_each(images)
    moods = []
    for pk, analysis in zip(soundtrack.photo_ids, analyses, strict=True):
        if isinstance(analysis, Exception):
            raise SoundtrackError(f"{photos[pk]} could not be analysed.")
        moods.append(PhotoMood(str(photos[pk]), analysis, pk))
    report(soundtrack.pk, 50, "Photos analysed; choosing tracks…")
    return moods


def _store(soundtrack: Soundtrack, result: Plan) -> None:
    slots: list[dict[str, Any]] = []
    for mood, slot in zip(result.photos, result.slots, strict=True):
        chosen = {p.rank for p in result.placed if p.slot == len(slots)}
        keep = [i for i in range(len(slot.candidates)) if i < STORED_CANDIDATES or i in chosen]
        slots.append(
            {
                "photo_id": mood.photo_id,
                "label": mood.label,
                "valence": round(mood.analysis.valence, 4),
                "arousal": round(mood.analysis.arousal, 4),
                "count": slot.count,
                "candidates": [
                    [c.track_id, round(c.score, 5), _round(c.valence), _round(c.arousal)]
                    for c in (slot.candidates[i] for i in keep)
                ],
            }
        )
    owner = soundtrack.owner
    photos = Photo.objects.in_bulk(soundtrack.photo_ids)
    tracks = Track.objects.in_bulk([p.candidate.track_id for p in result.placed])
    with transaction.atomic():
        playlist = playlist_service.create(owner, soundtrack.title, cover=photos.get(soundtrack.photo_ids[0]))
        now = timezone.now()
        PlaylistTrack.objects.bulk_create(
            PlaylistTrack(
                playlist=playlist,
                position=i,
                track=tracks[p.candidate.track_id],
                title=tracks[p.candidate.track_id].title,
                artist=tracks[p.candidate.track_id].artist,
                external_id=tracks[p.candidate.track_id].external_id,
                added_by=owner,
                added_at=now,
                photo=photos.get(soundtrack.photo_ids[p.slot]),
                note="" if p.within_bounds else "a bigger step than the bounds: no closer track was left",
            )
            for i, p in enumerate(result.placed)
        )
        updated = Soundtrack.objects.filter(pk=soundtrack.pk, status=Soundtrack.Status.RUNNING).update(
            status=Soundtrack.Status.DONE,
            playlist=playlist,
            slots=slots,
            off_bounds=result.off_bounds,
            progress=100,
            progress_message="Done",
            finished_at=timezone.now(),
        )
        if not updated:  # failed meanwhile (reaped): keep it failed, write nothing
            transaction.set_rollback(True)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


# --- after it is made ----------------------------------------------------------------------------------


def _slot_for(soundtrack: Soundtrack, photo_id: int | None) -> int | None:
    for i, slot in enumerate(soundtrack.slots):
        if slot["photo_id"] == photo_id:
            return i
    return None


def _candidates(slot: dict[str, Any], extra_ids: set[int]) -> tuple[list[Candidate], dict[int, Candidate]]:
    """The slot's stored candidates (best first) with today's artist, energy and tempo, and the same for
    extra tracks (the neighbours), by id. Tracks gone from the active catalogue are left out."""
    ids = {row[0] for row in slot["candidates"]} | extra_ids
    rows = Track.objects.filter(pk__in=ids, is_active=True).values_list(
        "pk", "artist", "energy", "tempo", "valence", "arousal"
    )
    details = {
        pk: (artist, energy, tempo, valence, arousal) for pk, artist, energy, tempo, valence, arousal in rows
    }
    stored = {row[0]: row for row in slot["candidates"]}
    by_id: dict[int, Candidate] = {}
    for pk, (artist, energy, tempo, valence, arousal) in details.items():
        row = stored.get(pk)
        va = (row[2], row[3]) if row else (valence, arousal)
        by_id[pk] = Candidate(pk, artist, row[1] if row else 0.0, energy, tempo, va[0], va[1])
    ranked = [by_id[row[0]] for row in slot["candidates"] if row[0] in by_id]
    return ranked, by_id


def swap(soundtrack: Soundtrack, entry_id: int, user: User) -> PlaylistTrack:
    """Replace the entry's track by the next best one for its photo that repeats no track or artist of the
    playlist and keeps the step bounds with its neighbours."""
    playlist = soundtrack.playlist
    if playlist is None or soundtrack.status != Soundtrack.Status.DONE:
        raise PlaylistError("The soundtrack is not ready.")
    entries = list(playlist.entries.order_by("position"))
    index = next((i for i, e in enumerate(entries) if e.pk == entry_id), None)
    if index is None:
        raise PlaylistError("That track is not in this soundtrack (it may have been removed).")
    entry = entries[index]
    s = _slot_for(soundtrack, entry.photo_id)
    if s is None:
        raise PlaylistError("That track was not chosen for one of the soundtrack's photos.")
    others = [e for e in entries if e.pk != entry.pk and e.track_id is not None]
    ranked, by_id = _candidates(soundtrack.slots[s], {cast(int, e.track_id) for e in others})
    neighbours = [
        by_id[cast(int, e.track_id)]
        for e in (
            entries[index - 1] if index else None,
            entries[index + 1] if index + 1 < len(entries) else None,
        )
        if e is not None and e.track_id in by_id
    ]
    current = next((i for i, c in enumerate(ranked) if c.track_id == entry.track_id), -1)
    found = next_best(
        Slot(str(s), 1, ranked),
        current,
        neighbours,
        [by_id[cast(int, e.track_id)] for e in others if e.track_id in by_id],
    )
    if found is None:
        raise PlaylistError("No other track fits this photo and its neighbours without repeating an artist.")
    return playlist_service.replace_track(playlist, entry.pk, Track.objects.get(pk=found[1].track_id), user)


def trajectory(soundtrack: Soundtrack) -> dict[str, Any]:
    """What the page draws: the photos' and the tracks' valence/arousal along the sequence."""
    playlist: Playlist | None = soundtrack.playlist
    entries = list(playlist.entries.select_related("track").order_by("position")) if playlist else []
    stored = {row[0]: (row[2], row[3]) for slot in soundtrack.slots for row in slot["candidates"]}
    tracks = []
    for e in entries:
        va = stored.get(e.track_id) if e.track_id else None
        if va is None and e.track is not None:
            va = (e.track.valence, e.track.arousal)
        tracks.append(
            {
                "position": e.position,
                "entry": e.pk,
                "title": e.title,
                "artist": e.artist,
                "valence": va[0] if va else None,
                "arousal": va[1] if va else None,
                "slot": _slot_for(soundtrack, e.photo_id),
                "available": e.available,
            }
        )
    photos = [
        {"photo_id": s["photo_id"], "name": s["label"], "valence": s["valence"], "arousal": s["arousal"]}
        for s in soundtrack.slots
    ]
    return {"photos": photos, "tracks": tracks}
