"""The mood model's input: [encoder embedding, colour statistics], shared by inference and training."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

from .colour import COLOUR_KEYS, colour_stats, colour_vector
from .encoders import EfficientNetLiteEncoder, ImageEncoder


@dataclass
class PhotoFeatures:
    embeddings: np.ndarray  # (n, dim) L2-normalised
    colour: list[dict[str, float]]
    logits: np.ndarray | None  # (n, 1000) ImageNet logits when the encoder has them

    def mood_inputs(self) -> np.ndarray:
        colour = np.stack([colour_vector(c) for c in self.colour]) if self.colour else np.zeros((0, 0))
        return np.concatenate([self.embeddings, colour], axis=1).astype(np.float32)


def feature_names(encoder: ImageEncoder) -> list[str]:
    return [f"{encoder.name}:{i}" for i in range(encoder.dim)] + [f"colour:{k}" for k in COLOUR_KEYS]


def extract(encoder: ImageEncoder, images: Sequence[Image.Image]) -> PhotoFeatures:
    logits: np.ndarray | None = None
    if isinstance(encoder, EfficientNetLiteEncoder):
        embeddings, logits = encoder.encode_with_logits(images)
    else:
        embeddings = encoder.encode(images)
    return PhotoFeatures(embeddings, [colour_stats(im) for im in images], logits)
