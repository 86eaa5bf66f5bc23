"""Plain data passed between the engine and its callers (no Django, no torch)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# Emotion6's label order (Peng et al. 2015); the mood model's emotion head uses it.
IMAGE_EMOTIONS: tuple[str, ...] = ("anger", "disgust", "fear", "joy", "sadness", "surprise", "neutral")
# The Spotify-style features the TidyTuesday file carries, in DYLUMO order (no time_signature).
SPOTIFY_FEATURES: tuple[str, ...] = (
    "danceability", "energy", "key", "loudness", "mode", "speechiness", "acousticness",
    "instrumentalness", "liveness", "valence", "tempo", "duration_ms",
)  # fmt: skip

# The mood model's input sets (features.PhotoFeatures.mood_inputs); a mood card names its set.
BASE_FEATURES = "embedding+colour"
FULL_FEATURES = "embedding+colour+stages+logits"
# FULL_FEATURES of the first network of a pair, then the second's embedding, stage statistics and logits.
PAIR_FEATURES = "embedding+colour+stages+logits+second-network"
FEATURE_SETS: tuple[str, ...] = (BASE_FEATURES, FULL_FEATURES, PAIR_FEATURES)


@dataclass(frozen=True)
class FaceReading:
    """The faces found in a photo (faces.py); the default means none were found (or faces were not read).

    boxes are (x, y, width, height) in the photo's pixels, largest first; emotions is the face-area-weighted
    mean distribution over IMAGE_EMOTIONS (empty without faces); coverage is the share of the photo's area
    inside a face box, in [0, 1].
    """

    boxes: tuple[tuple[int, int, int, int], ...] = ()
    emotions: dict[str, float] = field(default_factory=dict)
    coverage: float = 0.0

    @property
    def count(self) -> int:
        return len(self.boxes)

    def top_emotion(self) -> str | None:
        return max(self.emotions, key=lambda k: self.emotions[k]) if self.emotions else None


@dataclass
class PhotoAnalysis:
    """What the engine knows about one photo.

    valence/arousal are in [0, 1] (Emotion6's 1-9 scale mapped as (x - 1) / 8); emotions is a
    distribution over IMAGE_EMOTIONS; embedding is the encoder's L2-normalised pooled feature.
    """

    valence: float
    arousal: float
    emotions: dict[str, float]
    embedding: np.ndarray
    colour: dict[str, float]
    descriptors: list[str]
    # What the photo shows, as (label, probability), best first: ImageNet classes or CLIP zero-shot labels.
    labels: list[tuple[str, float]] = field(default_factory=list)
    # Words the user added about the photo ("our wedding", "rainy Sunday"); set per request.
    context: str = ""
    faces: FaceReading = field(default_factory=FaceReading)

    @property
    def va(self) -> tuple[float, float]:
        return (self.valence, self.arousal)

    def top_emotion(self) -> str:
        return max(self.emotions, key=lambda k: self.emotions[k])


@dataclass
class TrackRow:
    """One catalogue track as the engine sees it. Unknown values are None, never 0."""

    track_id: int
    artist: str
    title: str
    valence: float | None = None
    arousal: float | None = None
    features: dict[str, float | None] = field(default_factory=dict)
    genre: str = ""
    tags: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class TrackFilter:
    """The tracks a user's filters allow (their ids) and the filters in words, for the reasons."""

    track_ids: np.ndarray
    description: str


@dataclass(frozen=True)
class FeedbackItem:
    """One rating by the current user: +1 liked, -1 disliked, with the mood of the photo it was rated for."""

    track_id: int
    rating: int
    photo_valence: float
    photo_arousal: float


@dataclass
class RankedTrack:
    """One recommended track, best first in the list the engine returns.

    score is the fused strategy score in [0, 1] plus any personal boost (so it can exceed 1 for a
    track the user liked); strategy_scores keeps each strategy's own [0, 1] score.
    """

    track_id: int
    score: float
    strategy_scores: dict[str, float]
    reasons: list[str]
