"""MoodModel: linear heads from [image embedding, colour statistics] to valence, arousal and emotions.

Weights live in a versioned artifact directory (weights.npz + card.json), written by
`python -m recommender.lab.training.train_mood`. Inputs are standardised with the training mean/std.

Arousal is the hard one: strongly pleasant and strongly unpleasant scenes are both arousing, which a
linear head cannot express from the embedding alone. So the arousal head also sees the (predicted)
valence's distance from neutral, |v - 0.5| and (v - 0.5)^2.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .config import active_artifact
from .types import BASE_FEATURES, IMAGE_EMOTIONS

DEFAULT_MOOD_DIR = active_artifact("mood")

# Emotion6 arousal ratings mapped to [0, 1] (card.json "label_stats"): raters used a narrow band, so
# predicted photo arousal lives there too. pipeline.align_arousal and describe_photo use these.
PHOTO_AROUSAL_MEAN = 0.507
PHOTO_AROUSAL_SD = 0.110


def arousal_extras(valence: np.ndarray) -> np.ndarray:
    """The nonlinear valence terms appended to the arousal head's input."""
    d = np.asarray(valence, dtype=np.float64) - 0.5
    return np.stack([np.abs(d), d**2], axis=1)


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


@dataclass
class MoodPrediction:
    valence: np.ndarray  # (n,) in [0, 1]
    arousal: np.ndarray  # (n,) in [0, 1]
    emotions: np.ndarray  # (n, 7) rows sum to 1, IMAGE_EMOTIONS order


@dataclass
class MoodModel:
    mean: np.ndarray  # (d,) input standardisation
    std: np.ndarray
    w_valence: np.ndarray  # (d,)
    b_valence: float
    w_arousal: np.ndarray  # (d + 2,)
    b_arousal: float
    w_emotion: np.ndarray  # (d, 7)
    b_emotion: np.ndarray  # (7,)
    card: dict[str, Any]

    @property
    def version(self) -> str:
        return str(self.card.get("model_version", "unknown"))

    @property
    def feature_set(self) -> str:
        """Which inputs the heads read (features.FEATURE_SETS); artifacts before mood-v2 name none."""
        return str(self.card.get("feature_set", BASE_FEATURES))

    @property
    def input_dim(self) -> int:
        return int(self.mean.shape[0])

    def predict(self, x: np.ndarray) -> MoodPrediction:
        """x: (n, d) rows of the card's feature set (PhotoFeatures.mood_inputs(self.feature_set))."""
        x = np.atleast_2d(np.asarray(x, dtype=np.float64))
        if x.shape[1] != self.input_dim:
            raise ValueError(f"mood model expects {self.input_dim} inputs, got {x.shape[1]}")
        z = (x - self.mean) / self.std
        v_raw = z @ self.w_valence + self.b_valence
        a_in = np.concatenate([z, arousal_extras(v_raw)], axis=1)
        a_raw = a_in @ self.w_arousal + self.b_arousal
        emotions = softmax(z @ self.w_emotion + self.b_emotion)
        return MoodPrediction(np.clip(v_raw, 0.0, 1.0), np.clip(a_raw, 0.0, 1.0), emotions)

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(
            directory / "weights.npz",
            mean=self.mean.astype(np.float32),
            std=self.std.astype(np.float32),
            w_valence=self.w_valence.astype(np.float32),
            b_valence=np.float32(self.b_valence),
            w_arousal=self.w_arousal.astype(np.float32),
            b_arousal=np.float32(self.b_arousal),
            w_emotion=self.w_emotion.astype(np.float32),
            b_emotion=self.b_emotion.astype(np.float32),
        )
        (directory / "card.json").write_text(json.dumps(self.card, indent=2, sort_keys=True) + "\n")

    @classmethod
    def load(cls, directory: Path | str = DEFAULT_MOOD_DIR) -> MoodModel:
        directory = Path(directory)
        weights = directory / "weights.npz"
        if not weights.is_file():
            raise FileNotFoundError(
                f"mood model weights not found at {weights}; "
                "train them with `python -m recommender.lab.training.train_mood`"
            )
        card = json.loads((directory / "card.json").read_text())
        with np.load(weights) as w:
            model = cls(
                mean=w["mean"].astype(np.float64),
                std=w["std"].astype(np.float64),
                w_valence=w["w_valence"].astype(np.float64),
                b_valence=float(w["b_valence"]),
                w_arousal=w["w_arousal"].astype(np.float64),
                b_arousal=float(w["b_arousal"]),
                w_emotion=w["w_emotion"].astype(np.float64),
                b_emotion=w["b_emotion"].astype(np.float64),
                card=card,
            )
        if list(card.get("emotions", IMAGE_EMOTIONS)) != list(IMAGE_EMOTIONS):
            raise ValueError(f"mood model at {directory} uses a different emotion order")
        return model
