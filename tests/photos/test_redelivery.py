"""A run whose worker was lost is taken over when the broker redelivers its message, a bounded number of
times; a publish to a broker that does not answer gives up in bounded time."""

from __future__ import annotations

import time

import pytest
from django.utils import timezone

from config.celery import app as celery_app
from config.celery import publish
from photos.models import Run
from photos.services import execution, runs
from tests.factories import RunFactory
from tests.silent_broker import silent_broker_url

pytestmark = pytest.mark.django_db


def running(attempts: int) -> Run:
    return RunFactory.create(
        status=Run.Status.RUNNING, attempts=attempts, started_at=timezone.now(), worker="x:1"
    )


def test_a_redelivered_message_takes_over_a_running_run() -> None:
    run = running(attempts=1)
    assert runs.claim(run.pk, "other:2") is None  # a first delivery never takes a running run
    claimed = runs.claim(run.pk, "other:2", redelivered=True)
    assert claimed is not None and claimed.worker == "other:2" and claimed.attempts == 2


def test_a_run_that_lost_its_worker_too_often_is_failed_not_retried_forever() -> None:
    run = running(attempts=runs.MAX_ATTEMPTS)
    execution.execute(run.pk, "other:2", redelivered=True)
    run.refresh_from_db()
    assert run.status == Run.Status.FAILED and run.error == runs.WORKER_LOST_MESSAGE
    assert run.attempts == runs.MAX_ATTEMPTS


def test_a_redelivered_message_for_a_finished_run_changes_nothing() -> None:
    run = RunFactory.create(status=Run.Status.DONE, attempts=1)
    execution.execute(run.pk, "other:2", redelivered=True)
    run.refresh_from_db()
    assert run.status == Run.Status.DONE and run.attempts == 1


@pytest.fixture
def silent_broker():
    with silent_broker_url() as url:
        yield url


def test_publish_to_a_broker_that_never_answers_gives_up_in_time(silent_broker, settings) -> None:
    from tests.worker import point_celery_at

    settings.CELERY_PUBLISH_TIMEOUT_SECONDS = 1.0
    old = point_celery_at(silent_broker)
    try:
        started = time.monotonic()
        assert publish(runs.RUN_TASK, 1) is False
        assert time.monotonic() - started < 2.0
    finally:
        point_celery_at(old)
    assert str(celery_app.conf.broker_url) == old
