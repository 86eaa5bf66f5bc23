"""Per-user terms on top of the global reranker, for users with enough ratings of their own (learned by
recommender/lab/user_terms_training.py).

For a user with terms w the score is the global reranker's raw score calibrated to log-odds over
everyone's ratings, plus the user's own linear term over a few mood features (standardised):

    logit = a * raw + b + w[0] + w[1:] . z

w is learned with a ridge penalty that shrinks it toward zero, that is toward the global model. Everyone
else (and a user whose terms are gone) keeps the global order (a > 0). The spec (a, b, the features and
their standardisation) is part of the reranker artifact; each user's w is the user's own and is stored
beside the account (registry.UserTerms), so it is deleted with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

FEATURES: tuple[str, ...] = (
    "photo_valence",
    "photo_arousal",
    "track_valence",
    "track_arousal",
    "valence_product",
    "arousal_product",
)
MIN_RATINGS = 30  # a user's ratings (in the training share) before they get terms of their own


@dataclass(frozen=True)
class PersonalSpec:
    scale_a: float
    shift_b: float
    mean: np.ndarray  # (len(FEATURES),)
    scale: np.ndarray  # (len(FEATURES),)
    ridge: float
    min_ratings: int = MIN_RATINGS

    def inputs(self, features: np.ndarray, names: Sequence[str]) -> np.ndarray:
        """(n, 1 + len(FEATURES)): a column of ones (the user's offset), then the standardised features."""
        columns = [list(names).index(f) for f in FEATURES]
        z = (np.asarray(features)[:, columns] - self.mean) / self.scale
        return np.column_stack([np.ones(len(z)), z])

    def global_logit(self, raw: np.ndarray) -> np.ndarray:
        return self.scale_a * np.asarray(raw, dtype=np.float64) + self.shift_b

    def score(
        self, raw: np.ndarray, features: np.ndarray, names: Sequence[str], weights: np.ndarray | None
    ) -> np.ndarray:
        """Log-odds of a thumbs up: the calibrated global score, plus the user's term where given."""
        logit = self.global_logit(raw)
        if weights is None:
            return logit
        return logit + self.inputs(features, names) @ np.asarray(weights, dtype=np.float64)

    def to_json(self) -> dict[str, Any]:
        return {
            "features": list(FEATURES),
            "scale_a": self.scale_a,
            "shift_b": self.shift_b,
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "ridge": self.ridge,
            "min_ratings": self.min_ratings,
        }

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> PersonalSpec:
        if tuple(body["features"]) != FEATURES:
            raise ValueError(f"per-user terms over {body['features']}, this engine reads {list(FEATURES)}")
        return cls(
            float(body["scale_a"]),
            float(body["shift_b"]),
            np.asarray(body["mean"], dtype=np.float64),
            np.asarray(body["scale"], dtype=np.float64),
            float(body["ridge"]),
            int(body["min_ratings"]),
        )
