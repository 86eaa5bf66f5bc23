"""Plain-words mood descriptions for reasons shown to people."""

from __future__ import annotations

from .mood import PHOTO_AROUSAL_MEAN, PHOTO_AROUSAL_SD
from .types import PhotoAnalysis

# Photo arousal is on Emotion6's narrow scale; for words, its standing there is spread to sd 0.2
# around 0.5 (so about one sd below the Emotion6 mean reads as calm, one above as lively).
WORDS_AROUSAL_SD = 0.2


def photo_arousal_for_words(arousal: float) -> float:
    return 0.5 + (arousal - PHOTO_AROUSAL_MEAN) / PHOTO_AROUSAL_SD * WORDS_AROUSAL_SD


def describe_mood(valence: float, arousal: float) -> str:
    """'calm and warm', 'tense', 'sad and quiet', ... for a V/A point in [0, 1]^2."""
    if valence >= 0.6:
        if arousal >= 0.6:
            return "joyful and lively"
        if arousal <= 0.4:
            return "calm and warm"
        return "cheerful"
    if valence <= 0.4:
        if arousal >= 0.6:
            return "tense"
        if arousal <= 0.4:
            return "sad and quiet"
        return "gloomy"
    if arousal >= 0.6:
        return "energetic"
    if arousal <= 0.4:
        return "quiet"
    return "neutral"


def describe_photo(photo: PhotoAnalysis) -> str:
    """'calm and warm photo (valence 0.71, arousal 0.28; bright, warm colours)'."""
    mood = describe_mood(photo.valence, photo_arousal_for_words(photo.arousal))
    text = f"{mood} photo (valence {photo.valence:.2f}, arousal {photo.arousal:.2f}"
    if photo.descriptors:
        text += f"; {', '.join(photo.descriptors)} look"
    return text + ")"
