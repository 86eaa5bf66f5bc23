from __future__ import annotations

import math
from typing import Any

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from catalogue.serializers import TrackSerializer
from photos.models import Feedback, Photo, Run, RunItem
from photos.services import filters as run_filters
from photos.services import runs


class PhotoSerializer(serializers.ModelSerializer[Photo]):
    url = serializers.HyperlinkedIdentityField(view_name="photo-detail")
    image = serializers.SerializerMethodField(
        help_text="URL of the stored (metadata-free) photo; owner only."
    )

    class Meta:
        model = Photo
        fields = ("id", "url", "image", "sha256", "width", "height", "original_name", "created_at")

    def get_image(self, photo: Photo) -> str:
        request = self.context.get("request")
        path = reverse("photos:photo_image", args=[photo.pk])
        return request.build_absolute_uri(path) if request else path


class PhotoMatchSerializer(serializers.Serializer[None]):
    photo = PhotoSerializer()
    score = serializers.FloatField(help_text="0-1: how well the photo fits the track")


class RunOptionFields(serializers.Serializer[None]):
    """A run's options besides mode and top_k: a mood set by hand (valence and arousal, both or neither, on
    the scale of a run's `mood`) and filters on the tracks it may recommend."""

    valence = serializers.FloatField(
        min_value=0.0, max_value=1.0, required=False, help_text="Match this valence instead of the photo's."
    )
    arousal = serializers.FloatField(
        min_value=0.0, max_value=1.0, required=False, help_text="Match this arousal instead of the photo's."
    )

    genres = serializers.ListField(
        child=serializers.CharField(max_length=100),
        required=False,
        max_length=run_filters.MAX_GENRES,
        help_text="Only tracks of these genres.",
    )
    energy_min = serializers.FloatField(min_value=0.0, max_value=1.0, required=False)
    energy_max = serializers.FloatField(min_value=0.0, max_value=1.0, required=False)
    tempo_min = serializers.FloatField(min_value=0.0, max_value=300.0, required=False, help_text="BPM")
    tempo_max = serializers.FloatField(min_value=0.0, max_value=300.0, required=False, help_text="BPM")
    decade = serializers.IntegerField(
        min_value=1900, max_value=2100, required=False, help_text="Only tracks of this decade, e.g. 1990."
    )
    language = serializers.CharField(
        max_length=35, required=False, allow_blank=True, help_text="Only tracks in this language, e.g. en."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("valence" in attrs) != ("arousal" in attrs):
            raise serializers.ValidationError("Give both valence and arousal to choose a mood, or neither.")
        if not all(math.isfinite(attrs[key]) for key in ("valence", "arousal") if key in attrs):
            raise serializers.ValidationError("valence and arousal must be numbers between 0 and 1")
        try:
            attrs["filters"] = run_filters.clean(attrs)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from exc
        return attrs


def chosen_mood(data: dict[str, Any]) -> tuple[float, float] | None:
    return (data["valence"], data["arousal"]) if "valence" in data else None


class PhotoUploadSerializer(RunOptionFields):
    image = serializers.FileField(help_text="The photo: JPEG, PNG, WebP, GIF, BMP or TIFF.")
    mode = serializers.ChoiceField(choices=Run.Mode.choices, required=False)
    top_k = serializers.IntegerField(min_value=1, max_value=runs.MAX_TOP_K, required=False)
    # DRF pops declared fields off the class, so this does not shadow Serializer.context at run time.
    context = serializers.CharField(max_length=500, required=False, allow_blank=True)  # type: ignore[assignment]


class RunCreateSerializer(RunOptionFields):
    photo = serializers.IntegerField(help_text="Id of one of your photos.")
    mode = serializers.ChoiceField(choices=Run.Mode.choices, required=False)
    top_k = serializers.IntegerField(min_value=1, max_value=runs.MAX_TOP_K, required=False)
    # DRF pops declared fields off the class, so this does not shadow Serializer.context at run time.
    context = serializers.CharField(max_length=500, required=False, allow_blank=True)  # type: ignore[assignment]


class ItemSerializer(serializers.ModelSerializer[RunItem]):
    track = TrackSerializer(read_only=True)
    my_rating = serializers.SerializerMethodField()

    class Meta:
        model = RunItem
        fields = ("id", "rank", "score", "strategy_scores", "reasons", "track", "my_rating")

    def get_my_rating(self, item: RunItem) -> int | None:
        ratings: dict[int, int] = self.context.get("ratings", {})
        return ratings.get(item.pk)


class MoodSerializer(serializers.Serializer[None]):
    valence = serializers.FloatField(help_text="0 (unpleasant) to 1 (pleasant)")
    arousal = serializers.FloatField(help_text="0 (calm) to 1 (excited)")
    emotions = serializers.DictField(
        child=serializers.FloatField(), help_text="Emotion6 label -> probability"
    )
    summary = serializers.CharField()
    descriptors = serializers.ListField(child=serializers.CharField(), help_text="colour words")


class ChosenMoodSerializer(serializers.Serializer[None]):
    valence = serializers.FloatField()
    arousal = serializers.FloatField()


class RunSerializer(serializers.ModelSerializer[Run]):
    url = serializers.HyperlinkedIdentityField(view_name="run-detail")
    message = serializers.SerializerMethodField()
    chosen_mood = serializers.SerializerMethodField(help_text="The mood set by hand for this run, if any.")
    mood = serializers.SerializerMethodField()
    items = serializers.SerializerMethodField()

    class Meta:
        model = Run
        fields = (
            "id",
            "url",
            "photo",
            "status",
            "message",
            "mode",
            "top_k",
            "context",
            "chosen_mood",
            "filters",
            "mood",
            "engine_version",
            "catalogue_version",
            "attempts",
            "created_at",
            "started_at",
            "finished_at",
            "items",
        )

    @extend_schema_field(ChosenMoodSerializer(allow_null=True))
    def get_chosen_mood(self, run: Run) -> dict[str, float] | None:
        mood = run.chosen_mood
        return {"valence": mood[0], "arousal": mood[1]} if mood else None

    def get_message(self, run: Run) -> str:
        return runs.user_message(run) or run_filters.empty_message(run)

    @extend_schema_field(MoodSerializer(allow_null=True))
    def get_mood(self, run: Run) -> dict[str, object] | None:
        if run.valence is None:
            return None
        return {
            "valence": run.valence,
            "arousal": run.arousal,
            "emotions": run.emotions,
            "summary": run.mood_summary,
            "descriptors": run.descriptors,
        }

    @extend_schema_field(ItemSerializer(many=True))
    def get_items(self, run: Run) -> list[Any]:
        if not self.context.get("with_items", False):
            return []
        return list(ItemSerializer(run.items.select_related("track"), many=True, context=self.context).data)


class FeedbackSerializer(serializers.ModelSerializer[Feedback]):
    class Meta:
        model = Feedback
        fields = (
            "id",
            "item",
            "track",
            "rating",
            "photo_valence",
            "photo_arousal",
            "created_at",
            "updated_at",
        )
        read_only_fields = ("track", "photo_valence", "photo_arousal", "created_at", "updated_at")
        validators: list[object] = []  # one rating per item is an upsert, not an error
