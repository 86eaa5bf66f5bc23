"""Emotion agreement (Mood Melody Mapper's emotion path).

The photo's Emotion6 distribution goes through the explicit IMAGE_TO_MUSIC table into the music
vocabulary and is compared with the track's music-emotion distribution: score = 1 - Jensen-Shannon
distance (base 2, so in [0, 1]). In "lift" mode (target valence above the photo's) the photo side is
the music distribution of the lifted target V/A instead, so a sad photo is not pulled back to sad tracks.
"""

from __future__ import annotations

import numpy as np

from ..catalogue_index import TrackCatalogue
from ..tracks import MUSIC_EMOTIONS, image_to_music, mapping_matrix, va_to_music
from ..types import IMAGE_EMOTIONS, PhotoAnalysis
from .base import StrategyResult


def js_distance(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Jensen-Shannon distance (base 2) between p (k,) and each row of q (n, k); in [0, 1]."""
    p = np.asarray(p, dtype=np.float64)[None, :]
    q = np.atleast_2d(np.asarray(q, dtype=np.float64))
    m = 0.5 * (p + q)

    def kl(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(a > 0, a * np.log2(a / np.maximum(b, 1e-300)), 0.0)
        return terms.sum(axis=1)

    js = 0.5 * kl(p, m) + 0.5 * kl(q, m)
    return np.sqrt(np.clip(js, 0.0, 1.0))


class EmotionAgreement:
    name = "emotion"

    def score(
        self,
        photo: PhotoAnalysis,
        target: tuple[float, float],
        catalogue: TrackCatalogue,
        candidate_idx: np.ndarray,
    ) -> StrategyResult:
        # Only lift mode raises the target's valence above the photo's (arousal may differ in either
        # mode: the pipeline aligns it to the catalogue's scale).
        lifted = target[0] > photo.valence + 1e-6
        photo_music = va_to_music(np.array([target]))[0] if lifted else image_to_music(photo.emotions)
        track_music = np.asarray(catalogue.music_emotions)[candidate_idx]
        scores = 1.0 - js_distance(photo_music, track_music)

        scores = np.clip(scores, 0.0, 1.0)

        def explain(positions: np.ndarray) -> list[str]:
            # The music emotion both sides share most, and which photo emotion leads to it.
            shared = (track_music[positions] * photo_music[None, :]).argmax(axis=1)
            photo_p = np.array([photo.emotions.get(e, 0.0) for e in IMAGE_EMOTIONS])
            source_of = (photo_p[:, None] * mapping_matrix()).argmax(axis=0)  # music -> image emotion
            reasons = []
            for s, m in zip(scores[positions], shared, strict=True):
                music = MUSIC_EMOTIONS[int(m)]
                source = "lifted mood" if lifted else IMAGE_EMOTIONS[int(source_of[int(m)])]
                reasons.append(f"emotion agreement: {source} → {music} ({s:.2f})")
            return reasons

        return StrategyResult(scores, explain)
