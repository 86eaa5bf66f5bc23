"""Where models run: ENGINE_DEVICE=auto|cpu|cuda (auto: CUDA when torch sees a GPU, else the CPU)."""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)


def resolve_device(setting: str) -> str:
    """"cpu" or "cuda" for a configured device; asking for CUDA where there is none is an error."""
    import torch

    if setting == "cpu":
        return "cpu"
    available = torch.cuda.is_available()
    if setting == "cuda" and not available:
        raise RuntimeError("ENGINE_DEVICE=cuda, but torch sees no CUDA device (is this the GPU image?)")
    return "cuda" if available else "cpu"
