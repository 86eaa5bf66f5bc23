"""Whole-image aesthetics (Bhatt): a mood read from colour and texture alone, matched to tracks by IMUSE.

Colour -> emotion follows Valdez & Mehrabian (1994, J. Exp. Psychol. General 123(4)), as used for
photos by Machajdik & Hanbury (ACM MM 2010), with brightness B and saturation S in [0, 1]
(colour.py: mean luma and mean HSV saturation):

    Pleasure = 0.69 B + 0.22 S        Arousal = -0.31 B + 0.60 S

Contrast and texture add arousal (busy, high-contrast images read as more active; Machajdik & Hanbury
use them as arousal cues): arousal z = 0.75 z(V&M arousal) + 0.25 mean(z(contrast), z(edge density)).

Normalising: each raw value is standardised with its mean and sd over the 1,980 Emotion6 photos
(constants below; only these numbers, no data), clipped to +-2.5 sd and mapped to 0.5 + 0.2 z, so a
typical photo sits at 0.5. On Emotion6 the pleasure formula correlates r = 0.27 with rated valence;
the arousal estimate only r = 0.05 (colour says little about arousal), so fusion should weigh this
strategy lightly.

Faces: when the photo has faces (PhotoAnalysis.faces, from faces.py), their emotion distribution
gives a V/A through FACE_EMOTION_VA, the NRC VAD Lexicon v1 ratings of the emotion words (Mohammad,
"Obtaining Reliable Human Ratings of Valence, Arousal, and Dominance for 20,000 English Words", ACL
2018; [0, 1] scales, like Russell's circumplex placing joy pleasant-aroused, sadness unpleasant-calm).
It is blended in with weight w = FACE_WEIGHT_MAX * min(1, coverage / FULL_FACE_COVERAGE): faces covering
15% of the photo or more (a portrait) count as much as the colours (w = 0.5), smaller faces
proportionally less, so a distant face barely moves the mood. w never exceeds 0.5 because the detector
and FER-2013 classifier are far from perfect (about 66% accuracy on FER-2013). Without faces nothing changes.

Matching: valence is used as it is; arousal takes the same standing in the catalogue's arousal
(mean + z * sd, as pipeline.align_arousal does for the mood model). In "lift" mode (the target's
valence is above the photo's) the valence aimed for is at least the target's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..catalogue_index import TrackCatalogue
from ..describe import describe_mood
from ..types import FaceReading, PhotoAnalysis
from .base import StrategyResult
from .va_match import imuse_similarity

# Emotion6 (all 1,980 photos): mean and sd of each input.
PLEASURE_STATS = (0.342, 0.109)
AROUSAL_STATS = (0.078, 0.153)
CONTRAST_STATS = (0.208, 0.066)
EDGE_STATS = (0.159, 0.111)
BRIGHTNESS_STATS = (0.389, 0.159)
SATURATION_STATS = (0.331, 0.222)
TEXTURE_WEIGHT = 0.25
Z_CLIP = 2.5
SPREAD = 0.2  # V/A = 0.5 + SPREAD * z

# (valence, arousal) of each IMAGE_EMOTIONS word in the NRC VAD Lexicon v1 (Mohammad 2018).
FACE_EMOTION_VA: dict[str, tuple[float, float]] = {
    "anger": (0.167, 0.865),
    "disgust": (0.052, 0.775),
    "fear": (0.073, 0.840),
    "joy": (0.980, 0.824),
    "sadness": (0.052, 0.288),
    "surprise": (0.875, 0.875),
    "neutral": (0.469, 0.184),
}
FACE_WEIGHT_MAX = 0.5
FULL_FACE_COVERAGE = 0.15


def _z(value: float, stats: tuple[float, float]) -> float:
    return float(np.clip((value - stats[0]) / stats[1], -Z_CLIP, Z_CLIP))


@dataclass(frozen=True)
class AestheticMood:
    valence: float  # [0, 1], 0.5 = a typical photo
    arousal: float
    words: tuple[str, ...]  # colour words: "bright", "saturated", ...
    texture: str = ""  # "busy, high-contrast", "soft, smooth" or ""
    faces: str = ""  # "2 faces, mostly joy" when faces were blended in
    face_weight: float = 0.0  # their weight in valence and arousal, [0, FACE_WEIGHT_MAX]

    @property
    def arousal_z(self) -> float:
        return (self.arousal - 0.5) / SPREAD


def face_va(faces: FaceReading) -> tuple[float, float]:
    """The V/A of the faces' emotion distribution: its mean over FACE_EMOTION_VA."""
    total = sum(faces.emotions.values())
    valence = sum(p * FACE_EMOTION_VA[e][0] for e, p in faces.emotions.items()) / total
    arousal = sum(p * FACE_EMOTION_VA[e][1] for e, p in faces.emotions.items()) / total
    return valence, arousal


def face_weight(faces: FaceReading) -> float:
    return FACE_WEIGHT_MAX * min(1.0, faces.coverage / FULL_FACE_COVERAGE) if faces.emotions else 0.0


def aesthetic_mood(colour: dict[str, float], faces: FaceReading | None = None) -> AestheticMood:
    """The V/A that the photo's colours and texture, and any faces, suggest (see the module docstring)."""
    b, s = colour.get("brightness", BRIGHTNESS_STATS[0]), colour.get("saturation", SATURATION_STATS[0])
    contrast = colour.get("contrast", CONTRAST_STATS[0])
    edges = colour.get("edge_density", EDGE_STATS[0])
    z_p = _z(0.69 * b + 0.22 * s, PLEASURE_STATS)
    z_texture = (_z(contrast, CONTRAST_STATS) + _z(edges, EDGE_STATS)) / 2
    z_a = (1 - TEXTURE_WEIGHT) * _z(-0.31 * b + 0.60 * s, AROUSAL_STATS) + TEXTURE_WEIGHT * z_texture
    words = []
    z_b, z_s = _z(b, BRIGHTNESS_STATS), _z(s, SATURATION_STATS)
    if abs(z_b) >= 0.5:
        words.append("bright" if z_b > 0 else "dark")
    if abs(z_s) >= 0.5:
        words.append("saturated" if z_s > 0 else "muted")
    texture = "busy, high-contrast" if z_texture >= 1.0 else "soft, smooth" if z_texture <= -1.0 else ""
    valence = float(np.clip(0.5 + SPREAD * z_p, 0, 1))
    arousal = float(np.clip(0.5 + SPREAD * z_a, 0, 1))
    weight, seen = 0.0, ""
    if faces is not None and (weight := face_weight(faces)) > 0:
        face_valence, face_arousal = face_va(faces)
        valence = (1 - weight) * valence + weight * face_valence
        arousal = (1 - weight) * arousal + weight * face_arousal
        seen = f"{faces.count} face{'s' if faces.count > 1 else ''}, mostly {faces.top_emotion()}"
    return AestheticMood(valence, arousal, tuple(words), texture, seen, weight)


class AestheticsMatch:
    name = "aesthetics"
    uses_faces = True  # the engine reads faces only when a strategy like this one is configured

    def score(
        self,
        photo: PhotoAnalysis,
        target: tuple[float, float],
        catalogue: TrackCatalogue,
        candidate_idx: np.ndarray,
    ) -> StrategyResult:
        mood = aesthetic_mood(photo.colour, photo.faces)
        valence = max(mood.valence, target[0]) if target[0] > photo.valence else mood.valence
        arousal = mood.arousal
        stats = catalogue.arousal_stats
        if stats is not None:
            arousal = float(np.clip(stats[0] + mood.arousal_z * stats[1], 0, 1))
        track_va = np.asarray(catalogue.va)[candidate_idx]
        scores = np.nan_to_num(np.clip(imuse_similarity((valence, arousal), track_va), 0, 1), nan=0.0)
        looks = f"{', '.join(mood.words)} colours" if mood.words else "balanced colours"
        if mood.texture:
            looks += f" in a {mood.texture} image"
        if mood.faces:
            looks = f"{mood.faces}, and {looks}"
        head = (
            f"{looks} suggest {describe_mood(mood.valence, mood.arousal)} music "
            f"(aesthetic V/A {mood.valence:.2f}/{mood.arousal:.2f}"
        )
        if mood.faces:
            head += f", faces weigh {mood.face_weight:.2f}"
        return StrategyResult(
            scores, lambda positions: [f"{head}; track fits {s:.2f})" for s in scores[positions]]
        )
