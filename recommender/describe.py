"""Plain-words mood descriptions for what people read: one vocabulary for photos, tracks and targets.

Photos and tracks sit on different arousal scales (Emotion6 raters used a narrow band; catalogue arousal
from audio features sits high), so each is described by its standing on its own scale, spread to sd 0.2
around 0.5, before the same words are chosen. A photo and a track at the same standing get the same words.
"""

from __future__ import annotations

from collections.abc import Mapping

from .mood import PHOTO_AROUSAL_MEAN, PHOTO_AROUSAL_SD
from .types import PhotoAnalysis

# Standing on a scale -> word scale: about one sd below the mean reads as calm/quiet, one above as lively.
WORDS_AROUSAL_SD = 0.2

# What people see instead of internal strategy names.
STRATEGY_LABELS: dict[str, str] = {
    "va_match": "Mood match (valence and arousal)",
    "emotion": "Same emotion",
    "feature_prediction": "Sounds the way the photo looks",
    "joint_embedding": "Learned photo–music pairing",
    "content": "What the photo shows vs the track's words",
    "aesthetics": "Colours, light and faces",
}

# One plain sentence per strategy, for the strategy that contributed most to a track's place.
_PLAIN: dict[str, str] = {
    "va_match": "Its mood is close to {target}",
    "emotion": "It carries the same emotion as {target}",
    "feature_prediction": "It sounds the way {target} looks",
    "joint_embedding": "Tracks like it go with photos like {target}",
    "content": "Its words match what {target} shows",
    "aesthetics": "It suits the colours and light of {target}",
}


# How the percentage after a plain reason is named.
_SCORE_NAMES: dict[str, str] = {
    "va_match": "mood match",
    "emotion": "emotion match",
    "feature_prediction": "sound match",
    "joint_embedding": "pairing score",
    "content": "text match",
    "aesthetics": "look match",
}


def photo_arousal_for_words(arousal: float) -> float:
    return 0.5 + (arousal - PHOTO_AROUSAL_MEAN) / PHOTO_AROUSAL_SD * WORDS_AROUSAL_SD


def photo_arousal_from_words(arousal: float) -> float:
    """The inverse of photo_arousal_for_words: a point on the word scale (the mood map) -> photo scale."""
    return PHOTO_AROUSAL_MEAN + (arousal - 0.5) / WORDS_AROUSAL_SD * PHOTO_AROUSAL_SD


def track_arousal_for_words(arousal: float, arousal_stats: tuple[float, float] | None) -> float:
    """A track's arousal by its standing in the catalogue (mean, sd); as is without a spread."""
    if arousal_stats is None or arousal_stats[1] < 1e-6:
        return arousal
    mean, sd = arousal_stats
    return 0.5 + (arousal - mean) / sd * WORDS_AROUSAL_SD


def describe_mood(valence: float, arousal: float) -> str:
    """'calm and warm', 'tense', 'sad and quiet', ... for a point on the word scale ([0, 1]^2)."""
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


def describe_photo_mood(valence: float, arousal: float) -> str:
    """The words for a photo's (or a photo-scale target's) V/A: the run's heading uses these."""
    return describe_mood(valence, photo_arousal_for_words(arousal))


def describe_track_mood(valence: float, arousal: float, arousal_stats: tuple[float, float] | None) -> str:
    """The words for a track's V/A, by its standing in the catalogue (same vocabulary as photos)."""
    return describe_mood(valence, track_arousal_for_words(arousal, arousal_stats))


def describe_photo(photo: PhotoAnalysis) -> str:
    """'calm and warm photo (valence 0.71, arousal 0.28; bright, warm colours)'."""
    mood = describe_photo_mood(photo.valence, photo.arousal)
    text = f"{mood} photo (valence {photo.valence:.2f}, arousal {photo.arousal:.2f}"
    if photo.descriptors:
        text += f"; {', '.join(photo.descriptors)} look"
    return text + ")"


def strategy_label(name: str) -> str:
    return STRATEGY_LABELS.get(name, name.replace("_", " ").capitalize())


def plain_reason(
    strategy_scores: Mapping[str, float],
    weights: Mapping[str, float],
    *,
    photo_mood: str,
    lifted_to: str = "",
    chosen_mood: str = "",
    filters: str = "",
) -> str:
    """One sentence on why a track is there: the strategy that added most to its score (weight x score),
    said in plain words, plus the mood it aims at and any active filter.

    photo_mood: the photo's words; lifted_to: the target's words in "lift" mode; chosen_mood: the words of
    a mood the user set by hand (it replaces the photo's); filters: the active filters, in words."""
    if chosen_mood:
        target = f"the {chosen_mood} mood you chose"
    elif lifted_to:
        target = f"the {lifted_to} mood chosen to lift your {photo_mood} photo"
    else:
        target = f"your {photo_mood} photo"
    contributions = {name: weights.get(name, 0.0) * score for name, score in strategy_scores.items()}
    best = max((n for n in contributions if n in _PLAIN), key=lambda n: contributions[n], default=None)
    if best is None:
        text = f"Chosen for {target}"
    else:
        text = _PLAIN[best].format(target=target)
        text += f" ({round(100 * strategy_scores[best])}% {_SCORE_NAMES[best]})"
    if filters:
        text += f"; within your filter: {filters}"
    return text + "."
