"""Micro-batching on the worker: several queued runs per forward pass, each claimed, written and failed on
its own; a CUDA out-of-memory halves the batch, then falls back to the CPU. Run on the CPU with the same
code a GPU worker runs (ENGINE_BATCH_SIZE > 1)."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from inference import adapter
from photos.models import Run
from photos.services import execution, runs
from photos.services.photos import store_photo
from recommender.pipeline import Engine
from tests.factories import TrackFactory, UserFactory, jpeg_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def batching(settings) -> None:
    settings.ENGINE = replace(settings.ENGINE, batch_size=4, batch_wait_ms=50.0)
    adapter.reset()
    for n in range(40):
        TrackFactory.create(artist=f"Artist {n % 15}", valence=(n % 10) / 9, arousal=((n * 7) % 10) / 9)


@pytest.fixture
def batches(monkeypatch) -> list[int]:
    """The size of every batch the engine's models see."""
    seen: list[int] = []
    real = Engine.analyse_batch

    def spy(self, images, **kwargs):
        seen.append(len(images))
        return real(self, images, **kwargs)

    monkeypatch.setattr(Engine, "analyse_batch", spy)
    return seen


def queued_runs(count: int) -> list[Run]:
    """Runs handed to the broker (dispatched), as the web process leaves them."""
    made = []
    for n in range(count):
        user = UserFactory.create()
        photo = store_photo(
            user, SimpleUploadedFile("p.jpg", jpeg_bytes((40 * n, 120, 200), (120, 90))), "p.jpg"
        )
        run = Run.objects.create(photo=photo, user=user, top_k=5, dispatched_at=timezone.now())
        made.append(run)
    return made


def red(image) -> int:
    """The photo's red level, to tell the made-up photos apart (0, 40, 80, 120), JPEG noise rounded off."""
    return round(image.getpixel((10, 10))[0] / 40) * 40


def statuses(made: list[Run]) -> list[str]:
    return [Run.objects.get(pk=r.pk).status for r in made]


def test_one_task_takes_the_queued_runs_into_one_forward_pass(batches) -> None:
    made = queued_runs(3)
    execution.execute(made[0].pk, worker="gpu-1")
    assert batches == [3]
    assert statuses(made) == ["done"] * 3
    for run in made:
        run.refresh_from_db()
        assert run.worker == "gpu-1" and run.attempts == 1 and run.items.count() == 5
    execution.execute(made[1].pk, worker="gpu-2")  # that run's own message, arriving later
    assert Run.objects.get(pk=made[1].pk).worker == "gpu-1" and batches == [3]


def test_the_batch_waits_no_longer_than_the_setting(batches, settings) -> None:
    settings.ENGINE = replace(settings.ENGINE, batch_wait_ms=0.0)
    made = queued_runs(1)
    execution.execute(made[0].pk, worker="w")
    assert batches == [1] and statuses(made) == ["done"]


def test_an_unreadable_photo_fails_only_its_run(batches) -> None:
    made = queued_runs(3)
    Path(made[1].photo.image.path).write_bytes(b"this is no longer a jpeg")
    Path(made[2].photo.image.path).unlink()
    execution.execute(made[0].pk, worker="w")
    assert statuses(made) == ["done", "failed", "failed"]
    assert Run.objects.get(pk=made[1].pk).error == execution.UNREADABLE_MESSAGE
    assert Run.objects.get(pk=made[2].pk).error == execution.MISSING_FILE_MESSAGE
    assert batches == [1]


def test_a_photo_that_breaks_the_analysis_fails_only_its_run(monkeypatch) -> None:
    made = queued_runs(4)
    real = Engine.analyse_batch

    def breaks_on_one(self, images, **kwargs):
        if any(red(im) == 80 for im in images):  # the third photo
            raise ValueError("bad pixels")
        return real(self, images, **kwargs)

    monkeypatch.setattr(Engine, "analyse_batch", breaks_on_one)
    execution.execute(made[0].pk, worker="w")
    assert statuses(made) == ["done", "done", "failed", "done"]
    assert Run.objects.get(pk=made[2].pk).error == runs.UNEXPECTED_MESSAGE


def test_out_of_memory_halves_the_batch_then_uses_the_cpu(monkeypatch, caplog) -> None:
    made = queued_runs(4)
    real = Engine.analyse_batch
    sizes: list[tuple[int, bool]] = []

    def small_gpu(self, images, *, encoder=None):
        sizes.append((len(images), encoder is not None))
        if encoder is None and len(images) > 1:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        if encoder is None and red(images[0]) == 120:  # the fourth photo never fits the GPU
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 1.00 GiB")
        return real(self, images, encoder=encoder)

    monkeypatch.setattr(Engine, "analyse_batch", small_gpu)
    with caplog.at_level(logging.WARNING, logger="recommender.batching"):
        execution.execute(made[0].pk, worker="w")
    assert statuses(made) == ["done"] * 4
    assert sizes[:3] == [(4, False), (2, False), (1, False)]  # halved, then halved again
    assert (1, True) in sizes  # the photo that did not fit went to the CPU encoder
    assert "CUDA out of memory with 4 photos in a batch; trying 2" in caplog.text
    assert "analysing it on the CPU" in caplog.text
