from __future__ import annotations

from django.conf import settings
from django.db import models

from catalogue.models import Track

# Uploads too big to re-encode in the web request are kept here as uploaded until a worker re-encodes
# them (photos/services/photos.py normalise_stored_upload); nothing serves or analyses them from here.
ORIGINALS_DIR = "photos/originals"


class Photo(models.Model):
    """An uploaded photo, EXIF-stripped and stored under its content hash."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="photos")
    image = models.ImageField(upload_to="photos/", width_field="width", height_field="height")
    sha256 = models.CharField(max_length=64, db_index=True)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    original_name = models.CharField(max_length=255, blank=True)
    # The encoder's embedding (float32 bytes), kept so tracks can find the photos that fit them.
    embedding = models.BinaryField(null=True, blank=True, editable=False)
    embedding_model = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["owner", "sha256"], name="unique_photo_per_owner")]

    def __str__(self) -> str:
        return self.original_name or self.sha256[:12]

    @property
    def awaits_normalising(self) -> bool:
        """Still the file as uploaded (big images): a worker re-encodes it before anything reads it."""
        return str(self.image.name).startswith(f"{ORIGINALS_DIR}/")


class Run(models.Model):
    """One run of the recommender for a photo. Its result lives here, not in a Celery backend."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for a worker"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    class Mode(models.TextChoices):
        MATCH = "match", "Match the mood"
        LIFT = "lift", "Lift the mood"

    photo = models.ForeignKey(Photo, on_delete=models.CASCADE, related_name="runs")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="runs")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING, db_index=True)
    mode = models.CharField(max_length=8, choices=Mode.choices, default=Mode.MATCH)
    top_k = models.PositiveSmallIntegerField(default=10)
    context = models.CharField(max_length=500, blank=True, help_text="Words the user added about the photo.")
    # A mood the user set by hand (on the photo's scale, 0-1), matched instead of the photo's own.
    chosen_valence = models.FloatField(null=True, blank=True)
    chosen_arousal = models.FloatField(null=True, blank=True)
    filters = models.JSONField(
        default=dict, blank=True, help_text="Which tracks the run may recommend (photos/services/filters.py)."
    )

    valence = models.FloatField(null=True, blank=True)
    arousal = models.FloatField(null=True, blank=True)
    emotions = models.JSONField(default=dict, blank=True)
    descriptors = models.JSONField(default=list, blank=True)
    mood_summary = models.CharField(max_length=200, blank=True)
    engine_version = models.CharField(max_length=100, blank=True)
    catalogue_version = models.CharField(max_length=100, blank=True)

    error = models.TextField(blank=True, help_text="Why the run failed, in words a user can read.")
    attempts = models.PositiveSmallIntegerField(default=0)
    worker = models.CharField(max_length=200, blank=True)
    dispatched_at = models.DateTimeField(null=True, blank=True, help_text="When the task reached the broker.")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "dispatched_at"])]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(chosen_valence__isnull=True, chosen_arousal__isnull=True)
                    # (a CHECK passes on NULL, so "both set" is said explicitly)
                    | models.Q(chosen_valence__isnull=False, chosen_arousal__isnull=False)
                    & models.Q(chosen_valence__gte=0, chosen_valence__lte=1)
                    & models.Q(chosen_arousal__gte=0, chosen_arousal__lte=1)
                ),
                name="chosen_mood_both_or_neither_in_0_1",
            )
        ]

    def __str__(self) -> str:
        return f"run {self.pk} ({self.status})"

    @property
    def chosen_mood(self) -> tuple[float, float] | None:
        """The (valence, arousal) the user chose for this run, if any."""
        if self.chosen_valence is None or self.chosen_arousal is None:
            return None
        return (self.chosen_valence, self.chosen_arousal)

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)


class RunItem(models.Model):
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="items")
    track = models.ForeignKey(Track, on_delete=models.CASCADE, related_name="+")
    rank = models.PositiveSmallIntegerField()
    score = models.FloatField()
    strategy_scores = models.JSONField(default=dict)
    reasons = models.JSONField(default=list)

    class Meta:
        ordering = ["run", "rank"]
        constraints = [models.UniqueConstraint(fields=["run", "rank"], name="unique_rank_per_run")]

    def __str__(self) -> str:
        return f"#{self.rank} of run {self.run_id}"


class Feedback(models.Model):
    """A user's up/down rating of a recommended track. Kept with the photo's mood for retraining."""

    class Rating(models.IntegerChoices):
        DOWN = -1, "Not for this photo"
        UP = 1, "Fits"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="feedback")
    item = models.ForeignKey(RunItem, on_delete=models.CASCADE, related_name="feedback")
    track = models.ForeignKey(Track, on_delete=models.CASCADE, related_name="+")
    rating = models.SmallIntegerField(choices=Rating.choices)
    photo_valence = models.FloatField(null=True, blank=True)
    photo_arousal = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]
        constraints = [models.UniqueConstraint(fields=["user", "item"], name="one_rating_per_item")]

    def __str__(self) -> str:
        return f"{self.user_id} rated item {self.item_id}: {self.rating:+d}"
