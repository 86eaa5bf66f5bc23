"""Analysing several photos in one pass, without letting one photo or a full GPU fail the others.

A GPU worker takes several queued photos per forward pass (photos/services/execution.py collects them).
Here: a batch that runs out of CUDA memory is halved and retried; a single photo that still does not fit
is analysed on the CPU, with a warning in the log; any other error is narrowed down by splitting the batch
until the photo that raises it is alone, so only its run fails.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol

import torch
from PIL import Image

from .encoders import ImageEncoder
from .types import PhotoAnalysis


class Engine(Protocol):
    """What batching needs of the engine (pipeline.Engine)."""

    @property
    def cpu_encoder(self) -> ImageEncoder: ...

    def analyse_batch(
        self, images: Sequence[Image.Image], *, encoder: ImageEncoder | None = None
    ) -> list[PhotoAnalysis]: ...

logger = logging.getLogger(__name__)


def analyse_each(engine: Engine, images: Sequence[Image.Image]) -> list[PhotoAnalysis | Exception]:
    if not images:
        return []
    try:
        return list(engine.analyse_batch(images))
    except torch.cuda.OutOfMemoryError:
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        if len(images) == 1:
            return [_on_cpu(engine, images[0])]
        logger.warning(
            "CUDA out of memory with %d photos in a batch; trying %d", len(images), len(images) // 2
        )
    except Exception as exc:
        if len(images) == 1:
            logger.exception("analysing a photo failed")
            return [exc]
    half = len(images) // 2
    return analyse_each(engine, images[:half]) + analyse_each(engine, images[half:])


def _on_cpu(engine: Engine, image: Image.Image) -> PhotoAnalysis | Exception:
    logger.warning("CUDA out of memory for a single photo; analysing it on the CPU")
    try:
        return engine.analyse_batch([image], encoder=engine.cpu_encoder)[0]
    except Exception as exc:
        logger.exception("analysing a photo on the CPU failed too")
        return exc
