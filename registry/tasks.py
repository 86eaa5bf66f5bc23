"""Celery tasks: thin wrappers over registry.training (retraining runs on the `training` queue)."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from registry import training


@shared_task(
    name=training.RETRAIN_TASK,
    soft_time_limit=settings.TRAINING_TIME_LIMIT_SECONDS,
    time_limit=settings.TRAINING_TIME_LIMIT_SECONDS + 60,
)
def retrain(version_id: int) -> None:
    training.retrain(version_id)


@shared_task(name="registry.tasks.start_scheduled_retraining")
def start_scheduled_retraining() -> None:
    training.start_if_new_ratings()


@shared_task(name="registry.tasks.fail_stopped_training")
def fail_stopped_training() -> int:
    return training.fail_stopped_training()
