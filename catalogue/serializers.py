from rest_framework import serializers

from .models import Track


class TrackSerializer(serializers.ModelSerializer[Track]):
    links = serializers.DictField(child=serializers.URLField(), read_only=True)

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
            "tags",
            "links",
            "valence",
            "arousal",
            "energy",
            "danceability",
            "tempo",
        )
