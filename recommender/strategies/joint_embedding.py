"""Emotion-aligned joint embedding (Emo-CLIM): photo and track projected into one 128-d space.

The projections (heads/model.py, trained by training/train_heads.py with four SupCon losses on
class-balanced batches) map the frozen photo embedding and a track's input (standardised features,
missing mask, genre, text) into an L2-normalised space where photos and tracks of the same V/A quadrant
lie close. Track vectors ("joint_embedding") are precomputed when the catalogue is built; the photo is
projected per request; score = (cosine + 1) / 2. The reverse direction (one track -> the photos that fit
it) is heads.rank_photos_for_track.

The strategy scores the photo itself: in "lift" mode the V/A strategies carry the lift.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..catalogue_index import TrackCatalogue
from ..heads.model import UsesHeads
from ..types import PhotoAnalysis, TrackRow
from .base import StrategyResult, dot_rows

VECTORS = "joint_embedding"


class JointEmbedding(UsesHeads):
    name = "joint_embedding"
    vectors_name = VECTORS

    def track_vectors(self, rows: Sequence[TrackRow]) -> np.ndarray:
        return self.model.project_tracks(rows)

    def project(self, photo: PhotoAnalysis) -> np.ndarray:
        return self.model.project_photos(np.asarray(photo.embedding)[None, :])[0]

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
        cosine = dot_rows(catalogue.vectors[VECTORS], self.project(photo).astype(np.float32), candidate_idx)
        scores = np.clip((cosine + 1.0) / 2.0, 0.0, 1.0).astype(np.float64)
        return StrategyResult(
            scores, lambda positions: [f"emotion-aligned match {s:.2f}" for s in scores[positions]]
        )
