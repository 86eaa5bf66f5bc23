"""Audio-feature prediction (DYLUMO): photo -> predicted Spotify-style features -> nearest tracks.

The feature head (heads/model.py, trained by training/train_heads.py) predicts 12 standardised track
features from [photo embedding, colour statistics]. Retrieval follows DYLUMO: the prediction,
L2-normalised, against the tracks' L2-normalised standardised features ("predicted_features" track
vectors, precomputed when the catalogue is built) by inner product; score = (cosine + 1) / 2.
Tracks without any feature have a zero vector: the strategy cannot see them and abstains (no score,
no reason; the fusion leaves it out of their score).

The strategy scores the photo itself: in "lift" mode the V/A strategies carry the lift.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..catalogue_index import TrackCatalogue
from ..heads.model import UsesHeads
from ..heads.track_inputs import FEATURE_NAMES, feature_weights, l2_rows
from ..types import PhotoAnalysis, TrackRow
from .base import StrategyResult, dot_rows

VECTORS = "predicted_features"

# How a clearly high / low predicted feature reads; key is not described (it is not a mood).
FEATURE_WORDS: dict[str, tuple[str, str]] = {
    "danceability": ("danceable", "not for dancing"),
    "energy": ("energetic", "low-energy"),
    "loudness": ("loud", "quiet"),
    "mode": ("in a major key", "in a minor key"),
    "speechiness": ("wordy", "sung rather than spoken"),
    "acousticness": ("acoustic", "electric"),
    "instrumentalness": ("instrumental", "with vocals"),
    "liveness": ("live-sounding", "studio-polished"),
    "valence": ("cheerful", "melancholic"),
    "tempo": ("fast", "slow"),
    "duration_ms": ("long", "short"),
}


def describe_prediction(predicted: np.ndarray, count: int = 2) -> list[str]:
    """Words for the `count` most distinctive predicted features (largest weighted |z|)."""
    weights = feature_weights()
    strength = np.abs(predicted) * weights
    words = []
    for j in np.argsort(-strength, kind="stable"):
        name = FEATURE_NAMES[int(j)]
        if name in FEATURE_WORDS:
            words.append(FEATURE_WORDS[name][0 if predicted[j] >= 0 else 1])
        if len(words) == count:
            break
    return words


class FeaturePrediction(UsesHeads):
    name = "feature_prediction"
    vectors_name = VECTORS

    def track_vectors(self, rows: Sequence[TrackRow]) -> np.ndarray:
        return self.model.track_feature_vectors(rows)

    def predict(self, photo: PhotoAnalysis) -> np.ndarray:
        """The photo's predicted standardised features, (12,)."""
        return self.model.predict_features(self.model.photo_inputs(photo))[0]

    def photo_queries(self, embeddings: np.ndarray) -> dict[str, np.ndarray]:
        """The queries candidates() would search with for photos known by their embedding alone: their
        colour statistics are not stored, so they take the training mean (as photo_inputs does for an
        unknown colour key)."""
        x = np.atleast_2d(np.asarray(embeddings, dtype=np.float32))
        if x.shape[1] != self.model.embedding_dim:
            raise ValueError(f"the heads read {self.model.embedding_dim}-d embeddings, got {x.shape[1]}-d")
        colour_mean = self.model.feature_in_mean[x.shape[1] :]
        inputs = np.concatenate([x, np.broadcast_to(colour_mean, (len(x), len(colour_mean)))], axis=1)
        return {VECTORS: l2_rows(self.model.predict_features(inputs)).astype(np.float32)}

    def candidates(
        self, photo: PhotoAnalysis, target: tuple[float, float], catalogue: TrackCatalogue, k: int
    ) -> np.ndarray:
        query = l2_rows(self.predict(photo)[None, :])[0]
        rows, _ = catalogue.search_vectors(VECTORS, query, k)
        return rows

    def score(
        self,
        photo: PhotoAnalysis,
        target: tuple[float, float],
        catalogue: TrackCatalogue,
        candidate_idx: np.ndarray,
    ) -> StrategyResult:
        predicted = self.predict(photo)
        query = l2_rows(predicted[None, :])[0]
        tracks = catalogue.vectors[VECTORS]
        known = catalogue.vector_seen(VECTORS)[candidate_idx]
        scores = np.where(known, np.clip((dot_rows(tracks, query, candidate_idx) + 1.0) / 2.0, 0.0, 1.0), 0.0)
        words = ", ".join(describe_prediction(predicted))

        def explain(positions: np.ndarray) -> list[str]:
            return [
                f"sounds like what the photo suggests: {words} (feature match {s:.2f})" if ok else ""
                for s, ok in zip(scores[positions], known[positions], strict=True)
            ]

        return StrategyResult(scores.astype(np.float64), explain, seen=known)
