"""The words a user adds about a photo ("Anything to add?") as a mood, blended into the photo's own.

The context is embedded with MiniLM and compared with short descriptions of each music emotion
(ANCHORS, fixed before any measurement). The similarities, softmaxed at CONTEXT_TEMPERATURE, weigh the
emotions' prototype V/A points (tracks.MUSIC_PROTOTYPES) into the mood the words suggest. How far it
moves the photo's mood depends on how clearly the words speak of a mood at all (the best similarity
above SPEAKS_OF_MOOD) and lean one way (the best above the average of the others), scaled to at most
CONTEXT_WEIGHT_MAX. So "my grandfather's funeral" pulls a bright photo toward sad music; "taken with
my phone last year" or "IMG_2041" leaves it alone.

Everything that reads the photo's mood then sees the blend: V/A matching, the emotion path (its emotion
distribution is blended the same way, through CONTEXT_TO_IMAGE) and the reason shown first. The content
strategy, where configured, also reads the words themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

from .describe import WORDS_AROUSAL_SD, describe_mood
from .mood import PHOTO_AROUSAL_MEAN, PHOTO_AROUSAL_SD
from .text import text_encoder
from .tracks import MUSIC_EMOTIONS, MUSIC_PROTOTYPES
from .types import IMAGE_EMOTIONS, PhotoAnalysis

ANCHORS: dict[str, tuple[str, ...]] = {
    "happy": ("a happy, joyful, cheerful moment", "a celebration with friends, laughter and fun"),
    "energetic": ("an exciting, energetic, thrilling moment", "sport, a race, dancing at a party"),
    "calm": ("a calm, peaceful, relaxing moment", "a quiet lazy afternoon, resting in serene nature"),
    "sad": ("a sad, lonely moment of grief", "a funeral, a goodbye, missing someone, heartbreak"),
    "tense": (
        "an angry, tense, frightening moment",
        "a fight, danger, fear",
        "anxious, worried and stressed",
    ),
}
# Music emotion -> the photo emotions (Emotion6 vocabulary) it stands for, for the emotion path.
CONTEXT_TO_IMAGE: dict[str, dict[str, float]] = {
    "happy": {"joy": 1.0},
    "energetic": {"surprise": 0.6, "joy": 0.4},
    "calm": {"neutral": 0.7, "joy": 0.3},
    "sad": {"sadness": 1.0},
    "tense": {"fear": 0.5, "anger": 0.4, "disgust": 0.1},
}
CONTEXT_TEMPERATURE = 0.03
CONTEXT_WEIGHT_MAX = 0.7
# Lean (best similarity minus the mean of the others) at which the words weigh CONTEXT_WEIGHT_MAX.
FULL_LEAN = 0.15
# Best similarity below which the words say nothing about mood, and the span above it to full weight.
SPEAKS_OF_MOOD = 0.2
FULL_SPEECH = 0.2


@dataclass(frozen=True)
class ContextMood:
    valence: float
    arousal: float  # on the photo arousal scale (mood.PHOTO_AROUSAL_MEAN/SD), like PhotoAnalysis
    emotions: dict[str, float]  # over IMAGE_EMOTIONS
    weight: float  # how much of the blended mood comes from the words, in [0, CONTEXT_WEIGHT_MAX]
    leading: str  # the music emotion the words lean to

    def describe(self) -> str:
        words_arousal = 0.5 + (self.arousal - PHOTO_AROUSAL_MEAN) / PHOTO_AROUSAL_SD * WORDS_AROUSAL_SD
        return f"your words suggest {describe_mood(self.valence, words_arousal)} ({self.leading})"


@lru_cache(maxsize=1)
def _anchor_vectors() -> tuple[np.ndarray, np.ndarray]:
    """(unit vectors of every anchor, the MUSIC_EMOTIONS index of each)."""
    texts = [t for e in MUSIC_EMOTIONS for t in ANCHORS[e]]
    owner = np.array([i for i, e in enumerate(MUSIC_EMOTIONS) for _ in ANCHORS[e]])
    vectors = np.asarray(text_encoder().encode(texts), dtype=np.float64)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True), owner


def read_context(context: str) -> ContextMood | None:
    """The mood the words suggest, or None for empty words."""
    text = context.strip()
    if not text:
        return None
    query = np.asarray(text_encoder().encode([text])[0], dtype=np.float64)
    query /= max(float(np.linalg.norm(query)), 1e-12)
    anchors, owner = _anchor_vectors()
    each = anchors @ query
    sims = np.array([each[owner == i].max() for i in range(len(MUSIC_EMOTIONS))])  # best anchor per emotion
    p = np.exp((sims - sims.max()) / CONTEXT_TEMPERATURE)
    p /= p.sum()
    protos = np.array([MUSIC_PROTOTYPES[e] for e in MUSIC_EMOTIONS])
    valence, arousal_words = (p @ protos).tolist()
    best = int(np.argmax(sims))
    lean = float(sims[best] - np.delete(sims, best).mean())
    speaks = float(np.clip((sims[best] - SPEAKS_OF_MOOD) / FULL_SPEECH, 0.0, 1.0))
    weight = CONTEXT_WEIGHT_MAX * speaks * float(np.clip(lean / FULL_LEAN, 0.0, 1.0))
    emotions = dict.fromkeys(IMAGE_EMOTIONS, 0.0)
    for music, share in zip(MUSIC_EMOTIONS, p, strict=True):
        for image, w in CONTEXT_TO_IMAGE[music].items():
            emotions[image] += float(share) * w
    arousal = PHOTO_AROUSAL_MEAN + (arousal_words - 0.5) / WORDS_AROUSAL_SD * PHOTO_AROUSAL_SD
    return ContextMood(valence, float(arousal), emotions, weight, MUSIC_EMOTIONS[best])


def with_context(photo: PhotoAnalysis, context: str) -> tuple[PhotoAnalysis, ContextMood | None]:
    """The photo with its context and its mood blended with the words' (unchanged for empty words)."""
    photo = replace(photo, context=context)
    mood = read_context(context)
    if mood is None or mood.weight <= 0:
        return photo, mood
    w = mood.weight
    emotions = {e: (1 - w) * photo.emotions.get(e, 0.0) + w * mood.emotions[e] for e in IMAGE_EMOTIONS}
    return (
        replace(
            photo,
            valence=float((1 - w) * photo.valence + w * mood.valence),
            arousal=float((1 - w) * photo.arousal + w * mood.arousal),
            emotions=emotions,
        ),
        mood,
    )
