from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from photos.models import Photo
from playlists.formats import MAX_IMPORT_TRACKS
from playlists.models import Playlist, PlaylistTrack, Soundtrack
from playlists.services import soundtrack_runs
from playlists.services.documents import listening_link
from playlists.services.soundtracks import MAX_PHOTOS, MAX_TRACKS


class EntrySerializer(serializers.ModelSerializer[PlaylistTrack]):
    available = serializers.BooleanField(read_only=True, help_text="False when the track left the catalogue.")
    added_by = serializers.CharField(source="added_by.username", read_only=True, allow_null=True)
    link = serializers.SerializerMethodField()

    class Meta:
        model = PlaylistTrack
        fields = (
            "id",
            "position",
            "track",
            "external_id",
            "title",
            "artist",
            "available",
            "link",
            "added_by",
            "added_at",
            "photo",
            "run",
            "note",
        )
        read_only_fields = fields

    def get_link(self, entry: PlaylistTrack) -> str:
        return listening_link(entry.track) if entry.track is not None and entry.available else ""


class PlaylistSerializer(serializers.ModelSerializer[Playlist]):
    owner = serializers.CharField(source="owner.username", read_only=True)
    cover = serializers.PrimaryKeyRelatedField(
        queryset=Photo.objects.all(), allow_null=True, required=False, help_text="One of your photos."
    )
    track_count = serializers.SerializerMethodField()
    share_url = serializers.SerializerMethodField(help_text="The link of an unlisted or public playlist.")
    can_undo = serializers.SerializerMethodField()
    entries = serializers.SerializerMethodField()

    class Meta:
        model = Playlist
        fields = (
            "id",
            "title",
            "description",
            "visibility",
            "cover",
            "owner",
            "track_count",
            "share_url",
            "can_undo",
            "undo_label",
            "created_at",
            "updated_at",
            "entries",
        )
        read_only_fields = ("owner", "undo_label", "created_at", "updated_at")

    def get_track_count(self, playlist: Playlist) -> int:
        count = getattr(playlist, "track_count", None)
        return int(count) if count is not None else playlist.entries.count()

    def get_share_url(self, playlist: Playlist) -> str:
        if playlist.visibility == Playlist.Visibility.PRIVATE:
            return ""
        request = self.context.get("request")
        path = f"/p/{playlist.share_token}/"
        return request.build_absolute_uri(path) if request is not None else path

    def get_can_undo(self, playlist: Playlist) -> bool:
        return playlist.undo_state is not None

    @extend_schema_field(EntrySerializer(many=True))
    def get_entries(self, playlist: Playlist) -> list[Any]:
        if not self.context.get("with_entries", False):
            return []
        rows = playlist.entries.select_related("track", "added_by").order_by("position")
        return list(EntrySerializer(rows, many=True, context=self.context).data)


class AddTracksSerializer(serializers.Serializer[None]):
    tracks = serializers.ListField(
        child=serializers.IntegerField(),
        required=False,
        max_length=MAX_IMPORT_TRACKS,
        help_text="catalogue ids",
    )
    item = serializers.IntegerField(required=False, help_text="a run item (a track of one of your results)")
    photo = serializers.IntegerField(required=False, allow_null=True)
    run = serializers.IntegerField(required=False, allow_null=True)
    note = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")
    position = serializers.IntegerField(required=False, min_value=0, help_text="default: at the end")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if bool(attrs.get("tracks")) == ("item" in attrs):
            raise serializers.ValidationError("Give either tracks (catalogue ids) or item (a run item).")
        return attrs


class MoveSerializer(serializers.Serializer[None]):
    position = serializers.IntegerField(min_value=0, help_text="the new position, 0 = first")


class FromRunSerializer(serializers.Serializer[None]):
    run = serializers.IntegerField()
    title = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")


class ImportSerializer(serializers.Serializer[None]):
    file = serializers.FileField(help_text=f"a JSPF or XSPF file, at most {MAX_IMPORT_TRACKS:,} tracks")
    title = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")


class UnmatchedSerializer(serializers.Serializer[None]):
    position = serializers.IntegerField(help_text="1-based position in the file")
    title = serializers.CharField()
    artist = serializers.CharField()


class ImportResultSerializer(serializers.Serializer[None]):
    playlist = PlaylistSerializer()
    matched = serializers.IntegerField()
    matched_by = serializers.DictField(child=serializers.IntegerField())
    unmatched = UnmatchedSerializer(many=True)


class SoundtrackCreateSerializer(serializers.Serializer[None]):
    photos = serializers.ListField(
        child=serializers.IntegerField(),
        min_length=1,
        max_length=MAX_PHOTOS,
        help_text="your photos, in order",
    )
    tracks = serializers.IntegerField(required=False, min_value=1, max_value=MAX_TRACKS)
    minutes = serializers.IntegerField(required=False, min_value=1, max_value=24 * 60)
    title = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("tracks" in attrs) == ("minutes" in attrs):
            raise serializers.ValidationError("Give the length either in tracks or in minutes.")
        return attrs


class TrajectoryPhotoSerializer(serializers.Serializer[None]):
    photo_id = serializers.IntegerField(allow_null=True)
    name = serializers.CharField()
    valence = serializers.FloatField()
    arousal = serializers.FloatField()


class TrajectoryTrackSerializer(serializers.Serializer[None]):
    position = serializers.IntegerField()
    entry = serializers.IntegerField()
    title = serializers.CharField()
    artist = serializers.CharField()
    valence = serializers.FloatField(allow_null=True)
    arousal = serializers.FloatField(allow_null=True)
    slot = serializers.IntegerField(allow_null=True, help_text="index of the photo it was chosen for")
    available = serializers.BooleanField()


class TrajectorySerializer(serializers.Serializer[None]):
    photos = TrajectoryPhotoSerializer(many=True)
    tracks = TrajectoryTrackSerializer(many=True)


class SoundtrackSerializer(serializers.ModelSerializer[Soundtrack]):
    trajectory = serializers.SerializerMethodField()

    class Meta:
        model = Soundtrack
        fields = (
            "id",
            "title",
            "status",
            "progress",
            "progress_message",
            "error",
            "photo_ids",
            "n_tracks",
            "minutes",
            "playlist",
            "off_bounds",
            "created_at",
            "started_at",
            "finished_at",
            "trajectory",
        )
        read_only_fields = fields

    @extend_schema_field(TrajectorySerializer(allow_null=True))
    def get_trajectory(self, soundtrack: Soundtrack) -> dict[str, Any] | None:
        if soundtrack.status != Soundtrack.Status.DONE or not self.context.get("with_trajectory"):
            return None
        return soundtrack_runs.trajectory(soundtrack)


class SwapSerializer(serializers.Serializer[None]):
    entry = serializers.IntegerField(help_text="the playlist entry to replace")
