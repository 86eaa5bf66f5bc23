"""Playlists (ordered tracks with who added them, from which photo and run) and soundtracks (one playlist
built by a worker for an album of photos)."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models

from catalogue.models import Track
from photos.models import Photo, Run


def new_share_token() -> str:
    return secrets.token_urlsafe(16)


class Playlist(models.Model):
    class Visibility(models.TextChoices):
        PRIVATE = "private", "Private"
        UNLISTED = "unlisted", "Anyone with the link"
        PUBLIC = "public", "Public"

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="playlists")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, max_length=2000)
    cover = models.ForeignKey(
        Photo,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="One of the owner's photos.",
    )
    visibility = models.CharField(max_length=8, choices=Visibility.choices, default=Visibility.PRIVATE)
    # The link of an unlisted (or public) playlist: /p/<share_token>/.
    share_token = models.CharField(max_length=32, unique=True, default=new_share_token, editable=False)
    # The playlist as it was before its last change (title, cover, tracks), for "undo"; null when none.
    undo_state = models.JSONField(null=True, blank=True, editable=False)
    undo_label = models.CharField(max_length=200, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]
        indexes = [models.Index(fields=["owner", "-updated_at"]), models.Index(fields=["visibility"])]

    def __str__(self) -> str:
        return self.title


class PlaylistTrack(models.Model):
    """One position of a playlist. The track's title and artist are kept, so a track deleted from the
    catalogue since (track is null) is still shown, as unavailable."""

    playlist = models.ForeignKey(Playlist, on_delete=models.CASCADE, related_name="entries")
    position = models.PositiveIntegerField()
    track = models.ForeignKey(Track, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    title = models.CharField(max_length=500)
    artist = models.CharField(max_length=500)
    external_id = models.CharField(max_length=128, blank=True)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    added_at = models.DateTimeField()
    photo = models.ForeignKey(Photo, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    run = models.ForeignKey(Run, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["playlist", "position"]
        indexes = [models.Index(fields=["playlist", "position"])]

    def __str__(self) -> str:
        return f"{self.position + 1}. {self.artist} – {self.title}"

    @property
    def available(self) -> bool:
        return self.track is not None and self.track.is_active


class Soundtrack(models.Model):
    """One playlist for an album of photos in order, built on the workers (playlists.services.soundtracks)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for a worker"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="soundtracks")
    title = models.CharField(max_length=200)
    photo_ids = models.JSONField(default=list, help_text="The album's photos, in order.")
    n_tracks = models.PositiveIntegerField(null=True, blank=True)
    minutes = models.PositiveIntegerField(null=True, blank=True)
    playlist = models.OneToOneField(
        Playlist, null=True, blank=True, on_delete=models.SET_NULL, related_name="soundtrack"
    )
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING, db_index=True)
    progress = models.PositiveSmallIntegerField(default=0, help_text="0-100")
    progress_message = models.CharField(max_length=200, blank=True)
    # Per photo: its mood and its candidates ([track id, score, valence, arousal], best first), kept for the
    # trajectory drawing and for swapping a track for the next best one.
    slots = models.JSONField(default=list, blank=True, editable=False)
    off_bounds = models.JSONField(
        default=list, blank=True, help_text="Positions whose step broke the bounds."
    )
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    worker = models.CharField(max_length=200, blank=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"soundtrack {self.pk} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)
