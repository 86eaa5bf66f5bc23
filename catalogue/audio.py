"""Tracks added as audio: check the upload, store it, and have a worker compute its features.

The web process only checks that the file is audio it can read (libsndfile reads the header) and stores
it under its SHA-256; the analysis (recommender.audio_analysis, about a second per minute of audio) runs on
an inference worker. A track keeps every feature its import gave it: audio fills only the features it
lacks, except on tracks that came from audio, whose features are all replaced by a new analysis.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import BinaryIO, cast

from django.conf import settings
from django.core.files.base import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from config.celery import publish
from inference import adapter
from inference.adapter import MIN_SECONDS, AudioError, AudioReading, embedding_to_bytes

from .models import AUDIO_FEATURES, Track

logger = logging.getLogger(__name__)

AUDIO_CONTENT_TYPES = {
    ".mp3": "audio/mpeg",
    ".wav": "audio/wav",
    ".flac": "audio/flac",
    ".ogg": "audio/ogg",
    ".oga": "audio/ogg",
}
AUDIO_EXTENSIONS = tuple(AUDIO_CONTENT_TYPES)
UNEXPECTED_MESSAGE = "The audio could not be analysed (an internal error); try 'Analyse audio again'."
NO_WORKER_MESSAGE = (
    "No worker finished analysing this audio after {resends} attempts; check that an inference worker runs, "
    "then use 'Analyse audio again'."
)
ANALYSE_TASK = "catalogue.tasks.analyse_track_audio"  # sent by name: tasks.py imports this module
MAX_RESENDS = 3  # then the analysis is failed rather than sent forever (a file that kills workers)


class AudioUploadError(ValueError):
    """The upload is not usable audio; the message is for the person who uploaded it."""


@dataclass(frozen=True)
class CheckedAudio:
    digest: str
    extension: str


def check_upload(upload: File) -> CheckedAudio:
    """Size, extension and a readable audio header; raises AudioUploadError. Reads the file once."""
    name = upload.name or ""
    extension = Path(name).suffix.lower()
    if extension not in AUDIO_EXTENSIONS:
        raise AudioUploadError(f"'{name}' is not an audio file we read ({', '.join(AUDIO_EXTENSIONS)})")
    if not upload.size:
        raise AudioUploadError("the file is empty")
    if upload.size > settings.AUDIO_UPLOAD_MAX_BYTES:
        limit = settings.AUDIO_UPLOAD_MAX_BYTES // (1024 * 1024)
        raise AudioUploadError(f"the file is {upload.size // (1024 * 1024)} MB; the limit is {limit} MB")
    import soundfile

    upload.seek(0)
    try:
        info = soundfile.info(upload)
    except (soundfile.LibsndfileError, RuntimeError, TypeError) as exc:
        # The library's message names Python objects (<InMemoryUploadedFile: ...>): log it, show words.
        logger.info("unreadable audio upload %r: %s", name, exc)
        raise AudioUploadError(
            f"'{name}' could not be read as audio: the file is damaged, or it is not the format its name "
            "says. Export it again as MP3, WAV, FLAC or OGG."
        ) from exc
    seconds = float(info.duration) if info.samplerate else 0.0
    if seconds < MIN_SECONDS:
        raise AudioUploadError(f"the audio is {seconds:.1f} s long; at least {MIN_SECONDS:.0f} s is needed")
    upload.seek(0)
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return CheckedAudio(digest.hexdigest(), extension)


def _store(upload: File, checked: CheckedAudio) -> str:
    """Save under audio/<sha256><ext>; the same audio uploaded twice is stored once."""
    name = f"audio/{checked.digest}{checked.extension}"
    if not default_storage.exists(name):
        saved = default_storage.save(name, File(upload.file, name=name))
        if saved != name:  # a concurrent upload of the same audio won the name
            default_storage.delete(saved)
    return name


def _pending() -> dict[str, object]:
    """The audio fields of a track whose analysis is (again) requested."""
    return {
        "audio_status": Track.AudioStatus.PENDING,
        "audio_message": "",
        "audio_requested_at": timezone.now(),
        "audio_resends": 0,
    }


def add_track_from_audio(
    upload: File,
    *,
    title: str,
    artist: str,
    genre: str = "",
    tags: list[str] | None = None,
    queue: bool = True,
) -> Track:
    """A new active track whose features will come from its audio. Raises AudioUploadError.
    queue=False: the caller analyses it itself (analyse()), so no worker is asked to."""
    checked = check_upload(upload)
    external_id = f"audio:{checked.digest[:24]}"
    existing = Track.objects.filter(external_id=external_id).first()
    if existing is not None:
        raise AudioUploadError(f"this audio is already in the catalogue as '{existing}' (id {existing.pk})")
    with transaction.atomic():
        track = Track.objects.create(
            external_id=external_id,
            title=title.strip() or Path(upload.name or "untitled").stem,
            artist=artist.strip() or "Unknown artist",
            genre=genre.strip(),
            tags=list(tags or []),
            provenance=Track.Provenance.AUDIO,
            source=(upload.name or "")[:300],
            audio=_store(upload, checked),
            **_pending(),
        )
        if queue:
            transaction.on_commit(lambda: dispatch(track.pk))
    return track


def attach_audio(track: Track, upload: File, *, queue: bool = True) -> Track:
    """Give an existing track audio (its imported features stay; missing ones come from the audio)."""
    checked = check_upload(upload)
    pending = _pending()
    with transaction.atomic():
        track.audio = _store(upload, checked)
        for name, value in pending.items():
            setattr(track, name, value)
        track.save(update_fields=["audio", *pending, "updated_at"])
        if queue:
            transaction.on_commit(lambda: dispatch(track.pk))
    return track


def request_analysis(track_ids: list[int]) -> int:
    """Analyse these tracks' audio again (e.g. after a model update). Returns how many were queued."""
    with transaction.atomic():
        ids = list(Track.objects.filter(pk__in=track_ids).exclude(audio="").values_list("pk", flat=True))
        Track.objects.filter(pk__in=ids).update(**_pending())
        transaction.on_commit(lambda: [dispatch(pk) for pk in ids])
    return len(ids)


def dispatch(track_id: int) -> bool:
    """Send the analysis to a worker. False when the broker is unreachable: the track stays pending and
    the periodic reaper sends it again."""
    return publish(ANALYSE_TASK, track_id)


def analyse(track_id: int) -> Track | None:
    """Worker side: analyse a pending track's audio and store the result. Idempotent: a track that is
    not pending (already analysed, or its audio removed) is left alone."""
    track = Track.objects.filter(pk=track_id, audio_status=Track.AudioStatus.PENDING).first()
    if track is None or not track.audio:
        return None
    try:
        with track.audio.open("rb") as stored:
            reading = adapter.audio_analyser().analyse(cast(BinaryIO, stored))
    except AudioError as exc:
        return _fail(track, str(exc))
    except FileNotFoundError:
        return _fail(track, "the stored audio file is missing; upload it again")
    except Exception:
        logger.exception("audio analysis of track %s failed", track_id)
        return _fail(track, UNEXPECTED_MESSAGE)
    apply_reading(track, reading)
    track.save()
    return track


def apply_reading(track: Track, reading: AudioReading) -> None:
    replace_all = track.provenance == Track.Provenance.AUDIO
    for name in AUDIO_FEATURES:
        value = reading.features.get(name)
        if value is not None and (replace_all or getattr(track, name) is None):
            setattr(track, name, value)
    track.audio_embedding = embedding_to_bytes(reading.embedding)
    track.audio_model = reading.model_version[:100]
    track.audio_analysed_at = timezone.now()
    track.audio_status = Track.AudioStatus.DONE
    track.audio_message = ""


def _fail(track: Track, message: str) -> Track:
    track.audio_status = Track.AudioStatus.FAILED
    track.audio_message = message[:500]
    track.save(update_fields=["audio_status", "audio_message"])
    return track


def resend_pending(older_than_seconds: float | None = None) -> dict[str, int]:
    """Periodic: send again analyses that are still pending (the broker was down, or a worker died);
    fail those already sent MAX_RESENDS times."""
    age = settings.AUDIO_REDISPATCH_AFTER_SECONDS if older_than_seconds is None else older_than_seconds
    stale = Track.objects.filter(
        audio_status=Track.AudioStatus.PENDING,
        audio_requested_at__lt=timezone.now() - timedelta(seconds=age),
    )
    failed = stale.filter(audio_resends__gte=MAX_RESENDS).update(
        audio_status=Track.AudioStatus.FAILED, audio_message=NO_WORKER_MESSAGE.format(resends=MAX_RESENDS + 1)
    )
    ids = list(stale.filter(audio_resends__lt=MAX_RESENDS).values_list("pk", flat=True)[:1000])
    sent = [pk for pk in ids if dispatch(pk)]
    Track.objects.filter(pk__in=sent).update(
        audio_requested_at=timezone.now(), audio_resends=F("audio_resends") + 1
    )
    return {"resent": len(sent), "failed": failed}
