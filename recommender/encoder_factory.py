"""The image encoder a configuration names: EfficientNet-Lite0 from PyPI (the default), Lite2, the Lite1 +
Lite2 pair (lite_pair.py), or CLIP loaded from a local directory (clip.py). Kept apart from both so neither
module imports the other's factory."""

from __future__ import annotations

from collections.abc import Callable

from .clip import ClipEncoder
from .config import EFFICIENTNET_LITE_PAIR
from .encoders import CLIP, EFFICIENTNET_LITE0, EFFICIENTNET_LITE2, EfficientNetLiteEncoder, ImageEncoder
from .lite_pair import LitePairEncoder

# Name -> factory for the encoders that need no settings; CLIP needs its directory.
ENCODERS: dict[str, Callable[..., ImageEncoder]] = {
    EFFICIENTNET_LITE0: EfficientNetLiteEncoder,
    EFFICIENTNET_LITE2: lambda **settings: EfficientNetLiteEncoder(EFFICIENTNET_LITE2, **settings),
    EFFICIENTNET_LITE_PAIR: LitePairEncoder,
}


def make_encoder(
    name: str,
    *,
    clip_dir: str = "",
    runtime: str = "torch",
    model_dir: str | None = None,
    device: str = "cpu",
    precision: str | None = None,
) -> ImageEncoder:
    """clip_dir: the saved CLIP model directory (ENGINE_CLIP_DIR), used when name is "clip". runtime,
    model_dir, device and precision: see EfficientNetLiteEncoder."""
    if name == CLIP:
        return ClipEncoder(clip_dir)  # transformers is imported only when a ClipEncoder is made
    try:
        factory = ENCODERS[name]
    except KeyError:
        known = ", ".join(sorted([*ENCODERS, CLIP]))
        raise ValueError(f"unknown image encoder {name!r}; known: {known}") from None
    return factory(runtime=runtime, model_dir=model_dir, device=device, precision=precision)
