"""A batch on the GPU code path, without Django: a CUDA out-of-memory inside the encoder's forward pass
halves the batch, then sends a photo that still does not fit to the CPU encoder; a photo that breaks the
analysis fails alone. The out-of-memory is simulated on the CPU (tests only)."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch
from PIL import Image

from recommender.encoders import EfficientNetLiteEncoder
from recommender.pipeline import Engine, EngineConfig
from tests.recommender.test_precision import made_up_photos


class SmallGpu:
    """The torch encoder's module, failing as a full GPU would: any batch over max_batch, and the batch
    holding the photo whose first pixel is `huge`, whatever its size."""

    def __init__(self, module, max_batch: int, huge: torch.Tensor) -> None:
        self.module, self.max_batch, self.huge = module, max_batch, huge
        self.batches: list[int] = []

    def __call__(self, x: torch.Tensor):
        self.batches.append(len(x))
        if len(x) > self.max_batch or any(torch.equal(row[:, 0, 0], self.huge) for row in x):
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return self.module(x)


@pytest.fixture(scope="module")
def cpu_engine(tmp_path_factory) -> Engine:
    return Engine(EngineConfig(device="cpu", model_dir=str(tmp_path_factory.mktemp("models"))))


def test_out_of_memory_halves_the_batch_then_analyses_the_photo_on_the_cpu(cpu_engine, caplog) -> None:
    photos = made_up_photos(4)
    gpu_like = EfficientNetLiteEncoder(runtime="torch", device="cpu", precision="fp32", batch_size=4)
    huge = gpu_like.preprocess(photos[3:])[0, :, 0, 0].to(torch.float32)
    small = SmallGpu(gpu_like._module, max_batch=2, huge=huge)
    gpu_like._module = small
    engine = Engine(cpu_engine.config, encoder=gpu_like)
    with caplog.at_level(logging.WARNING, logger="recommender.batching"):
        results = engine.analyse_each(photos)
    # 4 does not fit; the first 2 do; the 2 with the huge photo are halved; the huge one alone fails too
    assert small.batches == [4, 2, 2, 1, 1]
    assert "CUDA out of memory with 4 photos in a batch; trying 2" in caplog.text
    assert "analysing it on the CPU" in caplog.text
    expected = cpu_engine.analyse_batch(photos)
    for got, want in zip(results, expected, strict=True):
        assert not isinstance(got, Exception)
        assert abs(got.valence - want.valence) < 1e-4 and abs(got.arousal - want.arousal) < 1e-4


def test_a_photo_that_breaks_the_batch_fails_alone(cpu_engine) -> None:
    photos = made_up_photos(3)
    broken = Image.new("RGB", (0, 0))  # decodes, but nothing can be resized from it
    results = cpu_engine.analyse_each([photos[0], broken, *photos[1:]])
    assert isinstance(results[1], Exception)
    good = [r for i, r in enumerate(results) if i != 1]
    expected = cpu_engine.analyse_batch(photos)
    assert all(np.allclose(g.embedding, e.embedding, atol=1e-5) for g, e in zip(good, expected, strict=True))
