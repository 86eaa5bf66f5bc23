"""Two EfficientNet-Lites on each photo, for the mood reading that needs both (mood-v5).

On held-out OASIS themes a ridge on Lite1's and Lite2's features together, both networks reading the photo
at 340 px, reads valence best of everything the mood lab tried (r 0.66 against Lite2's 0.60 and Lite0's
0.55; docs/mood-variants.md, section 2). It costs two forward passes at a size above either network's
own, about 5x Lite0's encoder time on the CPU: an option for machines with time to spare (a GPU worker),
never the default.

The first network (Lite1) is the photo's encoder for everything but the mood: its embedding is the
photo's embedding and its logits name what the photo shows. The mood reads both: the first network's
inputs as any Lite encoder's (photo_inputs.FULL_FEATURES), then the second's embedding, stage statistics
and logits (photo_inputs.PAIR_FEATURES).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from .config import EFFICIENTNET_LITE1, EFFICIENTNET_LITE2, EFFICIENTNET_LITE_PAIR
from .encoders import EfficientNetLiteEncoder

PAIR_SIZE = 340  # the side both networks read: valence peaked there (300, 340, 380 px tried)


class LitePairEncoder:
    """Lite1 and Lite2 at PAIR_SIZE px. encode_pair gives the first's parts and the second's beside them."""

    name = EFFICIENTNET_LITE_PAIR
    dim = 1280

    def __init__(
        self,
        *,
        runtime: str = "torch",
        model_dir: str | Path | None = None,
        device: str = "cpu",
        precision: str | None = None,
    ) -> None:
        self.first, self.second = (
            EfficientNetLiteEncoder(
                name,
                image_size=PAIR_SIZE,
                runtime=runtime,
                model_dir=model_dir,
                device=device,
                precision=precision,
            )
            for name in (EFFICIENTNET_LITE1, EFFICIENTNET_LITE2)
        )

    def encode_pair(
        self, images: Sequence[Image.Image]
    ) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Each network's (L2-normalised embeddings, ImageNet logits, inner-stage statistics)."""
        return self.first.encode_full(images), self.second.encode_full(images)

    def encode(self, images: Sequence[Image.Image]) -> np.ndarray:
        return self.first.encode(images)
