from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    """Photophone's user. Custom from the first migration so fields can be added without pain."""

    class MoodMode(models.TextChoices):
        MATCH = "match", "Match the mood"
        LIFT = "lift", "Lift the mood"

    default_mode = models.CharField(
        max_length=8,
        choices=MoodMode.choices,
        default=MoodMode.MATCH,
        help_text="Whether results should match a photo's mood or lift it.",
    )
