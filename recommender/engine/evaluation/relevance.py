"""The two relevance definitions (DESIGN.md section 7), fixed before any result was looked at.

(a) quadrant: a track is relevant to a photo when both fall in the same valence/arousal quadrant. The
    photo's quadrant comes from its human V/A ratings, the track's from its catalogue position
    (tracks.track_position). The split points are each side's own MEDIAN valence and median arousal (over
    the photos evaluated, and over the catalogue evaluated), not 0.5: Emotion6 arousal sits in a narrow
    band around 0.5 while track arousal from audio features sits near 0.7, so a 0.5 split would put
    almost every track in the "excited" half and the classes would degenerate.
(b) emotion: the photo's top human Emotion6 label, mapped through IMAGE_TO_MUSIC to its strongest music
    emotion (anger, disgust, fear -> tense; joy -> happy; sadness -> sad; surprise -> energetic;
    neutral -> calm), must equal the track's top music emotion (the argmax of its music-emotion
    distribution in the catalogue, from its V/A position).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..tracks import IMAGE_TO_MUSIC, MUSIC_EMOTIONS
from ..types import IMAGE_EMOTIONS

QUADRANTS: tuple[str, ...] = ("pleasant-excited", "unpleasant-excited", "unpleasant-calm", "pleasant-calm")
RELEVANCES: tuple[str, ...] = ("quadrant", "emotion")


def quadrants(va: np.ndarray, split: tuple[float, float]) -> np.ndarray:
    """(n, 2) V/A -> (n,) QUADRANTS index, splitting at split = (valence, arousal)."""
    va = np.asarray(va, dtype=np.float64)
    pleasant = va[:, 0] >= split[0]
    excited = va[:, 1] >= split[1]
    return np.where(excited, np.where(pleasant, 0, 1), np.where(pleasant, 3, 2))


def median_split(va: np.ndarray) -> tuple[float, float]:
    med = np.median(np.asarray(va, dtype=np.float64), axis=0)
    return float(med[0]), float(med[1])


def image_to_music_label(image_emotion: str) -> str:
    """The music emotion an Emotion6 label maps to most strongly (IMAGE_TO_MUSIC)."""
    row = IMAGE_TO_MUSIC[image_emotion]
    return max(row, key=lambda m: row[m])


def emotion_classes(photo_emotions: np.ndarray) -> np.ndarray:
    """(n, 7) human Emotion6 distributions -> (n,) MUSIC_EMOTIONS index of the mapped top label."""
    top = np.asarray(photo_emotions).argmax(axis=1)
    return np.array([MUSIC_EMOTIONS.index(image_to_music_label(IMAGE_EMOTIONS[t])) for t in top])


@dataclass
class Relevance:
    """One relevance definition over a photo set and a catalogue."""

    name: str
    class_names: tuple[str, ...]
    photo_class: np.ndarray  # (n_photos,) class index
    track_class: np.ndarray  # (n_tracks,) class index
    note: str

    def matrix(self) -> np.ndarray:
        """(n_photos, n_tracks) bool: relevant pairs."""
        return self.photo_class[:, None] == self.track_class[None, :]

    def relevant_counts(self) -> np.ndarray:
        counts = np.bincount(self.track_class, minlength=len(self.class_names))
        return counts[self.photo_class]


def build_relevances(
    photo_va: np.ndarray, photo_emotions: np.ndarray, track_va: np.ndarray, track_music: np.ndarray
) -> dict[str, Relevance]:
    """Both relevance definitions for human photo labels and track positions / music emotions."""
    photo_split = median_split(photo_va)
    track_split = median_split(track_va)
    quadrant = Relevance(
        name="quadrant",
        class_names=QUADRANTS,
        photo_class=quadrants(photo_va, photo_split),
        track_class=quadrants(track_va, track_split),
        note=(
            f"photo split at median valence {photo_split[0]:.3f}, arousal {photo_split[1]:.3f}; "
            f"track split at median valence {track_split[0]:.3f}, arousal {track_split[1]:.3f}"
        ),
    )
    mapping = ", ".join(f"{e} -> {image_to_music_label(e)}" for e in IMAGE_EMOTIONS)
    emotion = Relevance(
        name="emotion",
        class_names=MUSIC_EMOTIONS,
        photo_class=emotion_classes(photo_emotions),
        track_class=np.asarray(track_music).argmax(axis=1),
        note=f"photo top Emotion6 label mapped: {mapping}; track: top music emotion",
    )
    return {"quadrant": quadrant, "emotion": emotion}
