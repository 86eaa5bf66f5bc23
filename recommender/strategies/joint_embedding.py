"""Emotion-aligned joint embedding (Emo-CLIM): photo and track projected into one 128-d space.

The projections (heads/model.py, trained by training/train_heads.py with four SupCon losses on
class-balanced batches) map the frozen photo embedding and a track's input (standardised features,
missing mask, genre, text) into an L2-normalised space where photos and tracks of the same V/A quadrant
lie close. Track vectors ("joint_embedding") are precomputed when the catalogue is built; the photo is
projected per request; score = (cosine + 1) / 2. The reverse direction (one track -> the photos that fit
it) is heads.rank_photos_for_track.

A track with no known feature and no text (genre or tags, when the heads read text) gives the
projection nothing to go on: its vector is zero and the strategy abstains for it (no score, no reason).

The strategy scores the photo itself: in "lift" mode the V/A strategies carry the lift.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..catalogue_index import TrackCatalogue
from ..heads.model import UsesHeads
from ..heads.track_inputs import raw_features, track_texts
from ..types import PhotoAnalysis, TrackRow
from .base import StrategyResult, dot_rows

VECTORS = "joint_embedding"


class JointEmbedding(UsesHeads):
    name = "joint_embedding"
    vectors_name = VECTORS

    def track_vectors(self, rows: Sequence[TrackRow]) -> np.ndarray:
        vectors = np.asarray(self.model.project_tracks(rows), dtype=np.float32)
        vectors[~self.sees(rows)] = 0.0
        return vectors

    def sees(self, rows: Sequence[TrackRow]) -> np.ndarray:
        """(n,) bool: the track has a known feature, or text the heads read."""
        known = ~np.isnan(raw_features(rows)).all(axis=1)
        if self.model.use_text:
            known |= np.array([bool(text) for text in track_texts(rows)], dtype=bool)
        return known

    def representation_version(self) -> str:
        # /2: tracks the projection cannot see get a zero vector.
        return f"{self.vectors_name}/2:{self.model.fingerprint}"

    def photo_queries(self, embeddings: np.ndarray) -> dict[str, np.ndarray]:
        """What project() gives for each photo embedding (calibration queries for the index)."""
        return {VECTORS: self.model.project_photos(embeddings).astype(np.float32)}

    # (embedding, heads model, projection) of the photo last projected
    _last_projection: tuple[object, object, np.ndarray] | None = None

    def project(self, photo: PhotoAnalysis) -> np.ndarray:
        """The photo in the joint space (read-only). A request projects its photo for the candidate search
        and again for the scores: the second time it is the photo last projected, and is not computed
        again (held by identity, so a new embedding or heads model is always projected)."""
        model, embedding = self.model, photo.embedding
        last = self._last_projection
        if last is not None and last[0] is embedding and last[1] is model:
            return last[2]
        projected = model.project_photos(np.asarray(embedding)[None, :])[0]
        projected.flags.writeable = False
        self._last_projection = (embedding, model, projected)
        return projected

    def candidates(
        self, photo: PhotoAnalysis, target: tuple[float, float], catalogue: TrackCatalogue, k: int
    ) -> np.ndarray:
        rows, _ = catalogue.search_vectors(VECTORS, self.project(photo), k)
        return rows

    def score(
        self,
        photo: PhotoAnalysis,
        target: tuple[float, float],
        catalogue: TrackCatalogue,
        candidate_idx: np.ndarray,
    ) -> StrategyResult:
        tracks = catalogue.vectors[VECTORS]
        cosine = dot_rows(tracks, self.project(photo).astype(np.float32), candidate_idx)
        seen = catalogue.vector_seen(VECTORS)[candidate_idx]
        scores = np.where(seen, np.clip((cosine + 1.0) / 2.0, 0.0, 1.0), 0.0).astype(np.float64)
        return StrategyResult(
            scores, lambda positions: [f"emotion-aligned match {s:.2f}" for s in scores[positions]], seen=seen
        )
