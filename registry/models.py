"""Trained model versions of each kind, with the data they were trained on, their metrics and status.

One version per kind is active (a partial unique constraint guarantees it); workers serve the active
versions and notice a change through RegistryState, one row moved on by every activation.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import connection, models
from django.utils import timezone


class ModelVersion(models.Model):
    class Kind(models.TextChoices):
        MOOD = "mood", "Mood model (photo -> valence, arousal, emotions)"
        HEADS = "heads", "Learned heads (feature prediction, joint embedding)"
        RERANKER = "reranker", "Reranker learned from ratings"

    class Status(models.TextChoices):
        TRAINING = "training", "Training"
        CANDIDATE = "candidate", "Candidate (not served)"
        ACTIVE = "active", "Active (served)"
        RETIRED = "retired", "Retired"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    name = models.CharField(max_length=100, help_text="e.g. mood-v2, reranker-3")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.CANDIDATE, db_index=True)
    reason = models.TextField(
        blank=True, help_text="Why it failed, or why the evaluation gate kept it a candidate, in plain words."
    )
    # A directory in the repository (the shipped artifacts, registered by migration 0002) or a prefix in
    # media storage (trained versions): see registry.serving.local_artifact_dir.
    in_repository = models.BooleanField(default=False)
    artifact = models.CharField(max_length=500, blank=True, help_text="Artifact directory or storage prefix.")
    files = models.JSONField(default=list, blank=True, help_text="The artifact's file names.")
    data_snapshot = models.JSONField(
        default=dict, blank=True, help_text="Datasets, ratings used (up to when, how many, skipped), seeds."
    )
    metrics = models.JSONField(default=dict, blank=True)
    progress = models.PositiveSmallIntegerField(default=0, help_text="Training progress, percent.")
    progress_note = models.CharField(max_length=200, blank=True)
    heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="Moved on while its training runs (registry.training.Heartbeat)."
    )
    created_at = models.DateTimeField(default=timezone.now)
    # Set when a worker claims a `training` version (registry.training.retrain): a second delivery of the
    # same task finds it set and does nothing.
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    activated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["kind", "-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "name"], name="unique_version_name_per_kind"),
            models.UniqueConstraint(
                fields=["kind"], condition=models.Q(status="active"), name="one_active_version_per_kind"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.status})"


class RegistryState(models.Model):
    """One row, moved on by every activation or rollback: a worker compares its number with the one it
    serves (one primary-key read per run, like catalogue.models.CatalogueVersion) and reloads the active
    versions only when it moved."""

    ROW = 1

    number = models.BigIntegerField(default=0)
    changed_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"registry v{self.number}"

    @classmethod
    def current(cls) -> int:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT number FROM {cls._meta.db_table} WHERE id = %s", [cls.ROW])
            row: Any = cursor.fetchone()
        return int(row[0]) if row else 0

    @classmethod
    def bump(cls) -> None:
        """Move the number on (inside the caller's transaction)."""
        updated = cls.objects.filter(pk=cls.ROW).update(
            number=models.F("number") + 1, changed_at=timezone.now()
        )
        if not updated:
            cls.objects.create(pk=cls.ROW, number=1)


class UserTerms(models.Model):
    """One user's own terms on top of a reranker version (recommender/user_terms.py), learned from that
    user's ratings alone. They are the user's: stored beside the account, never in an artifact file, and
    deleted with the account (cascade), so they are never served once it is gone."""

    version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="user_terms")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    weights = models.JSONField(help_text="The user's offset and weights over the per-user features.")
    ratings = models.PositiveIntegerField(help_text="How many of the user's ratings they were learned from.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["version", "user"], name="one_terms_per_user_and_version")
        ]

    def __str__(self) -> str:
        return f"terms of user {self.user_id} for {self.version_id}"
