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


def entropy(x: np.ndarray) -> np.ndarray:
    """Shannon entropy (base 2) of each row; 0 log 0 = 0."""
    return -(x * np.log2(np.maximum(x, 1e-30))).sum(axis=-1)


def js_distance(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Jensen-Shannon distance (base 2) between p (k,) and each row of q (n, k); in [0, 1].
    JS = H((p + q) / 2) - (H(p) + H(q)) / 2: two logarithms over the rows instead of two divisions and
    two logarithms (a whole catalogue per photo)."""
    p = np.asarray(p, dtype=np.float32)
    q = np.atleast_2d(np.asarray(q, dtype=np.float32))
    js = entropy(0.5 * (p[None, :] + q)) - 0.5 * (entropy(p) + entropy(q))
    return np.sqrt(np.clip(js, 0.0, 1.0)).astype(np.float64)


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
