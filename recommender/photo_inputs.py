"""The mood model's input: [encoder embedding, colour statistics, ...], shared by inference and training.

A mood artifact names its feature set in card.json ("feature_set"); older artifacts without one use
BASE_FEATURES. EfficientNet features add the encoder's inner-stage statistics and ImageNet logits
(FULL_FEATURES): on Emotion6 they lift arousal r from 0.34 to 0.38 (5-fold) and from 0.20 to 0.25 when a
whole keyword folder is held out (artifacts/mood-v2/card.json).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps

from .colour import colour_stats, colour_vector
from .config import EFFICIENTNET_LITE_PAIR
from .encoders import EFFICIENTNET_LITE0, EFFICIENTNET_LITE2, EfficientNetLiteEncoder, ImageEncoder
from .lite_pair import LitePairEncoder
from .photo_pool import map_photos
from .types import BASE_FEATURES, FEATURE_SETS, FULL_FEATURES, PAIR_FEATURES

# The smallest side a photo is decoded at: the encoder reads 224 x 224, colour statistics 128 px, and
# face detection wants some margin above that. JPEG decodes straight to 1/2, 1/4 or 1/8 of its size
# (draft mode), the smallest of those that keeps both sides at least this long: a 2048 px phone photo
# decodes at 512 x 384 in about a tenth of the time.
DECODE_SIDE = 320


def decode_photo(source: str | Path | BinaryIO, side: int = DECODE_SIDE) -> Image.Image:
    """The photo as an RGB image, upright (EXIF orientation applied), decoded no larger than the models
    need. Raises PIL's errors (UnidentifiedImageError, OSError) for what is not a readable image."""
    with Image.open(source) as image:
        image.draft("RGB", (side, side))  # only JPEG acts on it; others decode in full
        image.load()
        ImageOps.exif_transpose(image, in_place=True)  # a copy less than a transposed image, copied again
        return image.convert("RGB") if image.mode != "RGB" else image.copy()


@dataclass
class PhotoFeatures:
    embeddings: np.ndarray  # (n, dim) L2-normalised
    colour: list[dict[str, float]]
    logits: np.ndarray | None  # (n, 1000) ImageNet logits when the encoder has them
    stages: np.ndarray | None = None  # (n, k) inner-stage mean/sd statistics when the encoder has them
    # A pair's second network (lite_pair.py): (embeddings, stage statistics, logits), in that order.
    second: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def blocks(self, feature_set: str = BASE_FEATURES) -> list[np.ndarray]:
        """The mood inputs' blocks, in order (training weighs each block alike)."""
        colour = np.stack([colour_vector(c) for c in self.colour]) if self.colour else np.zeros((0, 0))
        parts = [self.embeddings, colour]
        if feature_set in (FULL_FEATURES, PAIR_FEATURES):
            if self.stages is None or self.logits is None:
                raise ValueError(
                    f"feature set {feature_set!r} needs an encoder with stage statistics and logits"
                )
            parts += [self.stages, self.logits]
        elif feature_set != BASE_FEATURES:
            raise ValueError(f"unknown feature set {feature_set!r}; known: {', '.join(FEATURE_SETS)}")
        if feature_set == PAIR_FEATURES:
            if self.second is None:
                raise ValueError(f"feature set {feature_set!r} needs a pair of networks (lite_pair.py)")
            parts += list(self.second)
        return parts

    def mood_inputs(self, feature_set: str = BASE_FEATURES) -> np.ndarray:
        return np.concatenate(self.blocks(feature_set), axis=1).astype(np.float32)


def default_feature_set(encoder_name: str) -> str:
    """What a newly trained mood head for this encoder uses."""
    if encoder_name == EFFICIENTNET_LITE_PAIR:
        return PAIR_FEATURES
    return FULL_FEATURES if encoder_name in (EFFICIENTNET_LITE0, EFFICIENTNET_LITE2) else BASE_FEATURES


def extract(encoder: ImageEncoder, images: Sequence[Image.Image]) -> PhotoFeatures:
    """The encoder's outputs and each photo's colour statistics (a batch's side by side: photo_pool.py)."""
    if isinstance(encoder, LitePairEncoder):
        (embeddings, logits, stages), (second, second_logits, second_stages) = encoder.encode_pair(images)
        colour = map_photos(colour_stats, images)
        return PhotoFeatures(embeddings, colour, logits, stages, (second, second_stages, second_logits))
    if isinstance(encoder, EfficientNetLiteEncoder):
        embeddings, logits, stages = encoder.encode_full(images)
        return PhotoFeatures(embeddings, map_photos(colour_stats, images), logits, stages)
    return PhotoFeatures(encoder.encode(images), map_photos(colour_stats, images), None)
