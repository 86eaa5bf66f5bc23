"""The relevance definitions (DESIGN.md section 7), fixed before any result was looked at.

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
(c) playlist mood: the photo's quadrant (as in (a), from its human V/A) must equal the track's WEAK
    playlist label (playlist_moods.py: words of the human playlist names it appears in, e.g. "sad",
    "chill", "workout", "metal", mapped to a quadrant). Only tracks with a weak label take part in this
    ranking: the others are removed from every photo's ranked list before the metrics are taken (a
    track without a label is neither relevant nor irrelevant). Weak quadrants are absolute (the
    quadrant of the music emotion's prototype), not median splits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from recommender.lab.datasets import QUADRANTS
from recommender.lab.datasets import quadrants as va_quadrants
from recommender.tracks import IMAGE_TO_MUSIC, MUSIC_EMOTIONS
from recommender.types import IMAGE_EMOTIONS

RELEVANCES: tuple[str, ...] = ("quadrant", "emotion", "playlist_mood")


def quadrants(va: np.ndarray, split: tuple[float, float]) -> np.ndarray:
    """(n, 2) V/A -> (n,) QUADRANTS index, splitting at split = (valence, arousal)."""
    va = np.asarray(va, dtype=np.float64)
    return va_quadrants(va[:, 0], va[:, 1], split)


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
    track_class: np.ndarray  # (n_tracks,) class index; -1: the track takes no part
    note: str

    @property
    def participating(self) -> np.ndarray:
        """(n_tracks,) bool: the tracks this relevance ranks (all but those without a label)."""
        return self.track_class >= 0

    @property
    def n_tracks(self) -> int:
        return int(self.participating.sum())

    def matrix(self) -> np.ndarray:
        """(n_photos, n_tracks) bool: relevant pairs."""
        return self.photo_class[:, None] == self.track_class[None, :]

    def relevant_counts(self) -> np.ndarray:
        counts = np.bincount(self.track_class[self.participating], minlength=len(self.class_names))
        return counts[self.photo_class]


def build_relevances(
    photo_va: np.ndarray,
    photo_emotions: np.ndarray,
    track_va: np.ndarray,
    track_music: np.ndarray,
    track_weak: np.ndarray | None = None,
) -> dict[str, Relevance]:
    """The relevance definitions for human photo labels and track positions / music emotions; with
    track_weak ((n_tracks,) weak playlist quadrant, -1 for none) also the playlist-mood relevance."""
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
    out = {"quadrant": quadrant, "emotion": emotion}
    weak = np.asarray(track_weak if track_weak is not None else [], dtype=np.int64)
    if len(weak) and (weak >= 0).any():
        labelled = np.bincount(weak[weak >= 0], minlength=len(QUADRANTS))
        out["playlist_mood"] = Relevance(
            name="playlist_mood",
            class_names=QUADRANTS,
            photo_class=quadrant.photo_class,
            track_class=weak,
            note=(
                f"photo quadrant as for 'quadrant'; only the {int(labelled.sum())} of {len(weak)} tracks "
                "with a weak playlist label are ranked ("
                + ", ".join(f"{q} {int(n)}" for q, n in zip(QUADRANTS, labelled, strict=True))
                + ")"
            ),
        )
    return out
