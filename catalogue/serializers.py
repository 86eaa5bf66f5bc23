from django.urls import reverse
from rest_framework import serializers

from .models import Track


class TrackSerializer(serializers.ModelSerializer[Track]):
    links = serializers.DictField(child=serializers.URLField(), read_only=True)
    audio_url = serializers.SerializerMethodField(help_text="The uploaded audio (signed-in users), if any.")

    class Meta:
        model = Track
        fields = (
            "id",
            "external_id",
            "title",
            "artist",
            "album",
            "year",
            "genre",
            "language",
            "tags",
            "links",
            "valence",
            "arousal",
            "energy",
            "danceability",
            "tempo",
            "provenance",
            "audio_url",
        )

    def get_audio_url(self, track: Track) -> str | None:
        if not track.audio:
            return None
        path = reverse("catalogue:track_audio", args=[track.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path
