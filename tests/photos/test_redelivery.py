"""A run whose worker was lost is taken over when the broker redelivers its message, a bounded number of
times; a publish to a broker that does not answer gives up in bounded time."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from config.celery import app as celery_app
from config.celery import publish
from photos.models import Run
from photos.services import execution, runs
from tests.factories import RunFactory, TrackFactory
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


def test_a_run_held_by_another_worker_is_looked_at_again_after_the_time_limit(settings) -> None:
    run = running(attempts=1)  # claimed by x:1, as a GPU worker claims queued runs in a batch
    later = execution.execute(run.pk, "other:2")
    assert later is not None and run.started_at is not None and later.since == run.started_at.isoformat()
    limit = settings.CELERY_TASK_TIME_LIMIT
    assert limit < later.seconds <= limit + execution.HOLDER_GONE_MARGIN_SECONDS
    run.refresh_from_db()
    assert run.worker == "x:1" and run.attempts == 1  # untouched for now


def test_a_run_whose_holder_is_gone_is_taken_over_when_looked_at_again() -> None:
    for n in range(30):
        TrackFactory.create(artist=f"Band {n % 10}", valence=(n % 6) / 5, arousal=((n * 5) % 6) / 5)
    run = running(attempts=1)
    later = execution.execute(run.pk, "other:2")
    assert later is not None
    assert execution.execute(run.pk, "other:2", held_since=later.since) is None  # still the same claim
    run.refresh_from_db()
    assert run.status == Run.Status.DONE and run.worker == "other:2" and run.attempts == 2


def test_a_run_claimed_again_meanwhile_is_not_taken_over() -> None:
    run = running(attempts=1)
    later = execution.execute(run.pk, "other:2")
    assert later is not None
    Run.objects.filter(pk=run.pk).update(started_at=timezone.now() + timedelta(seconds=1), worker="y:3")
    again = execution.execute(run.pk, "other:2", held_since=later.since)
    run.refresh_from_db()
    assert run.worker == "y:3" and run.attempts == 1 and run.status == Run.Status.RUNNING
    assert run.started_at is not None
    assert again is not None and again.since == run.started_at.isoformat()  # it looks again later


def test_a_finished_run_is_not_looked_at_again() -> None:
    run = RunFactory.create(status=Run.Status.DONE, attempts=1)
    assert execution.execute(run.pk, "other:2") is None


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
