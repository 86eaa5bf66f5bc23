from __future__ import annotations

from urllib.parse import quote_plus

from django.db import models

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

    class Meta:
        ordering = ["artist", "title"]
        indexes = [models.Index(fields=["is_active", "updated_at"])]

    def __str__(self) -> str:
        return f"{self.artist} – {self.title}"

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
