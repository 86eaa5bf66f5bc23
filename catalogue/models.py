from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, cast
from urllib.parse import quote_plus

from django.conf import settings
from django.db import connection, models, router, transaction
from django.db.models import F
from django.utils import timezone

# Spotify-style audio features, in the order DYLUMO uses them. Each is nullable: missing means unknown.
AUDIO_FEATURES: tuple[str, ...] = (
    "danceability",
    "energy",
    "key",
    "loudness",
    "mode",
    "speechiness",
    "acousticness",
    "instrumentalness",
    "liveness",
    "valence",
    "tempo",
    "duration_ms",
    "time_signature",
)
# What the engine reads of an active track (selectors.active_track_rows), in that order.
ENGINE_ROW_FIELDS: tuple[str, ...] = (
    "id",
    "artist",
    "title",
    "valence",
    "arousal",
    *AUDIO_FEATURES,
    "genre",
    "tags",
)
# A write that sets none of these leaves the engine's catalogue as it was: it does not move the version.
ENGINE_FIELDS = frozenset({*ENGINE_ROW_FIELDS, "is_active"})


class CatalogueVersion(models.Model):
    """The version of the active catalogue: one row, moved on by every write to the catalogue.

    The engine's track index is keyed by it (photos.services.runs.ranking_index, once per photo run), so
    reading it is a primary-key read, not an aggregate over the tracks. It is not cached in a process:
    the read costs a fraction of a millisecond, and with no cache every process (web, each worker) sees a
    change as soon as the transaction that made it commits: the staleness bound is zero. An index is built
    from rows read after its version, so it may hold a newer catalogue than its version says, never an
    older one; the next read sees the newer version and the index is built again.

    Who moves it: Track.save() and Track.delete(), and Track's QuerySet update(), delete(), bulk_create()
    and bulk_update() (the admin, the audio service, tests' factories), unless the write sets no field in
    ENGINE_FIELDS (audio status bookkeeping); the importer, whose upsert is raw SQL, moves it once per batch
    that creates or changes tracks. Anything else that writes tracks past the ORM (loaddata, SQL run by
    hand) must call CatalogueVersion.bump() itself. It may move when nothing the engine reads changed (a
    save that changes no value, an update or delete that matches no track): that costs one index build.

    The version is the number and the time of the last change: the number alone can repeat (a rolled-back
    transaction's number is used again; a database made afresh starts again at 0 while the index saved
    under ENGINE_INDEX_DIR outlives it), the time makes such a repeat a different version.
    """

    ROW = 1

    number = models.BigIntegerField(default=0)
    changed_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.as_version(self.number, self.changed_at)

    @staticmethod
    def as_version(number: int, changed_at: Any) -> str:
        return f"v{number}-{changed_at:%Y%m%dT%H%M%S%f}"

    @classmethod
    def current(cls) -> str:
        """The version string of the active catalogue, as committed now (one primary-key read)."""
        # Plain SQL: read for every photo run, and the ORM would spend longer building the query (about
        # 0.6 ms) than the database answering it.
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT number, changed_at FROM {cls._meta.db_table} WHERE id = %s", [cls.ROW])
            row = cursor.fetchone()
        return cls.from_row(row)

    @classmethod
    def from_row(cls, row: Sequence[Any] | None) -> str:
        """The version string of the row's (number, changed_at) as the database returned them (None, or
        NULLs from an outer join: no row yet)."""
        if row is None or row[0] is None:
            return "v0-none"
        changed_at = cast(models.DateTimeField, cls._meta.get_field("changed_at"))
        for convert in connection.ops.get_db_converters(changed_at.get_col(cls._meta.db_table)):
            row = (row[0], convert(row[1], changed_at, connection))
        return cls.as_version(*row)

    @classmethod
    def bump(cls, using: str | None = None) -> None:
        """Move the version on. Call it in the transaction that writes the catalogue, before the write: on
        PostgreSQL it locks the row until the commit, and taking that lock first queues concurrent writers
        in one order (never on a track first and on this row second, which could deadlock)."""
        using = using or router.db_for_write(CatalogueVersion)
        versions = CatalogueVersion.objects.using(using).filter(pk=cls.ROW)
        now = timezone.now()
        if not versions.update(number=F("number") + 1, changed_at=now):  # the row is missing: make it
            row = CatalogueVersion(pk=cls.ROW, changed_at=now)
            CatalogueVersion.objects.using(using).bulk_create([row], ignore_conflicts=True)
            versions.update(number=F("number") + 1, changed_at=now)


def _changes_engine_fields(fields: Iterable[str] | None) -> bool:
    return fields is None or not ENGINE_FIELDS.isdisjoint(fields)


@contextmanager
def _moving_the_version(using: str) -> Iterator[None]:
    """A transaction that writes the catalogue and moves its version (first: see CatalogueVersion.bump)."""
    with transaction.atomic(using=using):
        CatalogueVersion.bump(using)
        yield


class TrackQuerySet(models.QuerySet["Track"]):
    """Bulk writes move the catalogue version in the same transaction (see CatalogueVersion)."""

    def update(self, **kwargs: Any) -> int:
        if not _changes_engine_fields(kwargs):
            return super().update(**kwargs)
        with _moving_the_version(self.db):
            return super().update(**kwargs)

    def delete(self) -> tuple[int, dict[str, int]]:
        with _moving_the_version(self.db):
            return super().delete()

    def bulk_create(self, objs: Iterable[Any], *args: Any, **kwargs: Any) -> list[Any]:
        objs = list(objs)
        if not objs:
            return objs
        with _moving_the_version(self.db):
            return super().bulk_create(objs, *args, **kwargs)

    def bulk_update(self, objs: Iterable[Any], fields: Iterable[str], batch_size: int | None = None) -> int:
        objs, fields = list(objs), list(fields)
        if not objs or not _changes_engine_fields(fields):
            return super().bulk_update(objs, fields, batch_size)
        with _moving_the_version(self.db):
            return super().bulk_update(objs, fields, batch_size)


def track_audio_path(track: Track, filename: str) -> str:
    # The service names the file by its SHA-256 before saving; keep only that name under audio/.
    return f"audio/{filename.rsplit('/', 1)[-1]}"


class Track(models.Model):
    """A track of the catalogue. Keyed by our own id; outside ids are kept as links."""

    class AudioStatus(models.TextChoices):
        NONE = "", "No audio"
        PENDING = "pending", "Waiting for analysis"
        DONE = "done", "Analysed"
        FAILED = "failed", "Analysis failed"

    class Provenance(models.TextChoices):
        IMPORT = "import", "Imported file"
        AUDIO = "audio", "Computed from audio"
        EDITORIAL = "editorial", "Editorial estimate"
        MANUAL = "manual", "Entered by an admin"

    external_id = models.CharField(max_length=128, unique=True, help_text="The id from the import file.")
    title = models.CharField(max_length=500)
    artist = models.CharField(max_length=500, db_index=True)
    album = models.CharField(max_length=500, blank=True)
    year = models.PositiveSmallIntegerField(null=True, blank=True)
    genre = models.CharField(max_length=100, blank=True, db_index=True)
    language = models.CharField(
        max_length=35, blank=True, db_index=True, help_text="Language of the lyrics, e.g. en, es, pt-BR."
    )
    tags = models.JSONField(
        default=list, blank=True, help_text="Free-form tags, e.g. playlist names or moods."
    )

    musicbrainz_recording_id = models.CharField("MusicBrainz recording id", max_length=36, blank=True)
    isrc = models.CharField("ISRC", max_length=12, blank=True)
    spotify_id = models.CharField(max_length=32, blank=True)
    youtube_id = models.CharField(max_length=16, blank=True)

    danceability = models.FloatField(null=True, blank=True)
    energy = models.FloatField(null=True, blank=True)
    key = models.SmallIntegerField(null=True, blank=True)
    loudness = models.FloatField(null=True, blank=True)
    mode = models.SmallIntegerField(null=True, blank=True)
    speechiness = models.FloatField(null=True, blank=True)
    acousticness = models.FloatField(null=True, blank=True)
    instrumentalness = models.FloatField(null=True, blank=True)
    liveness = models.FloatField(null=True, blank=True)
    valence = models.FloatField(null=True, blank=True, help_text="0-1; Spotify valence or an annotation.")
    tempo = models.FloatField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    time_signature = models.SmallIntegerField(null=True, blank=True)
    arousal = models.FloatField(null=True, blank=True, help_text="0-1 annotation, when the source has one.")

    audio = models.FileField(
        upload_to=track_audio_path, blank=True, help_text="Audio the features were computed from (optional)."
    )
    audio_status = models.CharField(max_length=8, choices=AudioStatus.choices, default="", blank=True)
    audio_message = models.CharField(max_length=500, blank=True, help_text="Why the last analysis failed.")
    audio_requested_at = models.DateTimeField(null=True, blank=True)
    audio_resends = models.PositiveSmallIntegerField(
        default=0, help_text="Times a pending analysis was sent again (broker down or worker lost)."
    )
    audio_analysed_at = models.DateTimeField(null=True, blank=True)
    audio_model = models.CharField(max_length=100, blank=True, help_text="Model that analysed the audio.")
    # vibenet's 256-d trunk activation (float32, little-endian): kept for models trained with audio.
    audio_embedding = models.BinaryField(null=True, blank=True, editable=False)

    provenance = models.CharField(max_length=16, choices=Provenance.choices, default=Provenance.IMPORT)
    source = models.CharField(max_length=300, blank=True, help_text="File or URL the track came from.")
    licence_note = models.CharField(max_length=300, blank=True)
    is_active = models.BooleanField(default=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    objects = TrackQuerySet.as_manager()

    class Meta:
        ordering = ["artist", "title"]
        indexes = [models.Index(fields=["is_active", "updated_at"])]

    def __str__(self) -> str:
        return f"{self.artist} – {self.title}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Saves that set a field the engine reads move the catalogue version (see CatalogueVersion)."""
        if not _changes_engine_fields(kwargs.get("update_fields")):
            return super().save(*args, **kwargs)
        with _moving_the_version(kwargs.get("using") or router.db_for_write(type(self), instance=self)):
            super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        with _moving_the_version(kwargs.get("using") or router.db_for_write(type(self), instance=self)):
            return super().delete(*args, **kwargs)

    def features(self) -> dict[str, float | None]:
        return {name: getattr(self, name) for name in AUDIO_FEATURES}

    def links(self) -> dict[str, str]:
        """Outbound listening links for the ids this track has."""
        links: dict[str, str] = {}
        if self.musicbrainz_recording_id:
            links["MusicBrainz"] = f"https://musicbrainz.org/recording/{self.musicbrainz_recording_id}"
        if self.spotify_id:
            links["Spotify"] = f"https://open.spotify.com/track/{self.spotify_id}"
        if self.youtube_id:
            links["YouTube"] = f"https://www.youtube.com/watch?v={self.youtube_id}"
        if self.isrc:
            links["ISRC"] = f"https://musicbrainz.org/search?query=isrc%3A{self.isrc}&type=recording"
        if not links:  # no ids: a search is still a real way to find it
            query = quote_plus(f'"{self.title}" AND artist:"{self.artist}"')
            links["Find on MusicBrainz"] = f"https://musicbrainz.org/search?query={query}&type=recording"
            links["Search YouTube"] = (
                f"https://www.youtube.com/results?search_query={quote_plus(self.artist + ' ' + self.title)}"
            )
        return links


def import_upload_path(job: ImportJob, filename: str) -> str:
    return f"imports/{timezone.now():%Y/%m}/{filename.rsplit('/', 1)[-1]}"


class ImportJob(models.Model):
    """An import (or dry run) of an uploaded file, run by a worker: its progress, its report, its history.
    The logic lives in catalogue.services.import_jobs."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    file = models.FileField(upload_to=import_upload_path, max_length=300)
    source_name = models.CharField(max_length=300, help_text="The uploaded file's name.")
    dry_run = models.BooleanField(default=False, help_text="Read and compare only; write nothing.")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED, db_index=True)
    phase = models.CharField(max_length=16, blank=True, help_text="reading or writing, while it runs.")
    done = models.BigIntegerField(default=0, help_text="Bytes read, then tracks written, of total.")
    total = models.BigIntegerField(default=0)
    report = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    sent_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the broker last took it (empty: never; the beat sends it again).",
    )
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When its worker last reported progress (the beat fails a running job gone quiet).",
    )
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return (
            f"{'Dry run' if self.dry_run else 'Import'} of {self.source_name} ({self.get_status_display()})"
        )

    @property
    def percent(self) -> int | None:
        return round(100 * self.done / self.total) if self.total else None
