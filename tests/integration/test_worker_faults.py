"""Faults with real parts: a pool process killed mid-run (the run finishes on another process), a whole
worker killed mid-run (Redis hands the run to another worker after the visibility timeout), and a broker
that accepts connections and never answers (the upload is saved and answered at once)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from photos.models import Run
from photos.services import runs
from tests.factories import jpeg_bytes
from tests.silent_broker import silent_broker_url
from tests.worker import REPO_ROOT, Worker, celery_worker_command, database_url, point_celery_at

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def start_prefork_worker(broker_url: str, log, **extra_env: str) -> subprocess.Popen:
    """A worker with one pool process (prefork), as the CPU worker of the full stack runs."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": broker_url,
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "ENGINE_INDEX_DIR": str(settings.ENGINE_INDEX_DIR),
        **extra_env,
    }
    command = celery_worker_command(
        sys.executable,
        "-Q",
        "inference,default",
        "--pool=prefork",
        "--concurrency=1",
        "-n",
        f"prefork-{os.getpid()}-{time.monotonic_ns()}@%h",
    )
    return subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def wait_until(predicate, timeout: float, what: str, log_path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"{what} not reached in {timeout}s:\n{log_path.read_text()[-3000:]}")


def test_a_killed_pool_process_run_finishes_on_the_next_one(broker, catalogue, api, tmp_path) -> None:
    log = tmp_path / "worker.log"
    log_file = log.open("wb")
    # Each attempt waits 3 s before analysing: time to kill the first one mid-run.
    worker = start_prefork_worker(broker, log_file, PHOTOPHONE_RUN_FAULT_DELAY="3", PHOTOPHONE_PRELOAD="0")
    try:
        wait_until(lambda: b" ready." in log.read_bytes(), 120, "worker ready", log)
        response = api.post("/api/photos/", {"image": SimpleUploadedFile("p.jpg", jpeg_bytes((20, 60, 200)))})
        assert response.status_code == 202
        run_id = response.json()["id"]
        wait_until(lambda: Run.objects.get(pk=run_id).status == Run.Status.RUNNING, 60, "run started", log)
        first = Run.objects.get(pk=run_id)
        pool_pid = int(first.worker.rsplit(":", 1)[1])
        assert pool_pid != worker.pid
        os.kill(pool_pid, signal.SIGKILL)  # the OOM killer, say
        wait_until(lambda: Run.objects.get(pk=run_id).status in ("done", "failed"), 120, "run finished", log)
        run = Run.objects.get(pk=run_id)
        assert run.status == Run.Status.DONE, (run.status, run.error)
        assert run.attempts == 2
        assert run.worker != first.worker  # a new pool process finished it
        assert run.items.count() == run.top_k
    finally:
        worker.terminate()
        try:
            worker.wait(20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(5)
        log_file.close()
        from tests.worker import _wait_for_other_sessions_to_close

        _wait_for_other_sessions_to_close()


def test_a_whole_killed_worker_run_finishes_on_another_worker(broker, catalogue, api, tmp_path) -> None:
    # A visibility timeout of 4 s stands for the deployed one (the task time limit + 30 s): the same
    # mechanism, quicker. The first worker waits 60 s before analysing, so it is mid-run when killed.
    redelivery = {"BROKER_VISIBILITY_TIMEOUT_SECONDS": "4", "BROKER_RESTORE_INTERVAL_SECONDS": "1"}
    first = Worker(broker, tmp_path / "first.log", PHOTOPHONE_RUN_FAULT_DELAY="60", **redelivery)
    second = None
    try:
        first.wait_ready()
        response = api.post("/api/photos/", {"image": SimpleUploadedFile("p.jpg", jpeg_bytes((20, 60, 200)))})
        assert response.status_code == 202
        run_id = response.json()["id"]
        log = first.log_path
        wait_until(lambda: Run.objects.get(pk=run_id).status == Run.Status.RUNNING, 60, "run started", log)
        lost = Run.objects.get(pk=run_id)
        first.kill()  # SIGKILL to the whole worker: its message is never acknowledged nor given back
        second = Worker(broker, tmp_path / "second.log", **redelivery)
        second.wait_ready()
        started = time.monotonic()
        finished = ("done", "failed")
        wait_until(lambda: Run.objects.get(pk=run_id).status in finished, 90, "run finished", second.log_path)
        run = Run.objects.get(pk=run_id)
        assert run.status == Run.Status.DONE, (run.status, run.error)
        assert run.attempts == 2 and run.worker != lost.worker  # taken over, nobody pressed retry
        assert run.items.count() == run.top_k
        assert time.monotonic() - started < 4 + 1 + 30  # the timeout, one restore interval, the run
    finally:
        first.stop()
        if second is not None:
            second.stop()


def test_runs_claimed_in_a_batch_by_a_killed_worker_finish_on_another_worker(
    broker, catalogue, api, tmp_path
) -> None:
    # The first worker batches (as the GPU worker does): it takes the second run from the database while
    # that run's own message is still queued. A time limit of 10 s stands for the deployed 150 s.
    quick = {
        "BROKER_VISIBILITY_TIMEOUT_SECONDS": "4",
        "BROKER_RESTORE_INTERVAL_SECONDS": "1",
        "CELERY_TASK_TIME_LIMIT": "10",
    }
    batching = {"ENGINE_BATCH_SIZE": "4", "ENGINE_BATCH_WAIT_MS": "4000", "PHOTOPHONE_RUN_FAULT_DELAY": "60"}
    first = Worker(broker, tmp_path / "first.log", **batching, **quick)
    second = None
    try:
        first.wait_ready()
        ids = []
        for colour in ((20, 60, 200), (220, 200, 40)):
            response = api.post("/api/photos/", {"image": SimpleUploadedFile("p.jpg", jpeg_bytes(colour))})
            assert response.status_code == 202
            ids.append(response.json()["id"])
        log = first.log_path
        both_running = lambda: all(Run.objects.get(pk=pk).status == Run.Status.RUNNING for pk in ids)  # noqa: E731
        wait_until(both_running, 60, "both runs claimed by the batching worker", log)
        lost = {pk: Run.objects.get(pk=pk).worker for pk in ids}
        assert len(set(lost.values())) == 1  # one worker, one batch
        first.kill()
        second = Worker(broker, tmp_path / "second.log", **quick)
        second.wait_ready()
        finished = lambda: all(Run.objects.get(pk=pk).status in ("done", "failed") for pk in ids)  # noqa: E731
        wait_until(finished, 90, "both runs finished", second.log_path)
        for pk in ids:
            run = Run.objects.get(pk=pk)
            assert run.status == Run.Status.DONE, (run.status, run.error)
            assert run.attempts == 2 and run.worker != lost[pk]
    finally:
        first.stop()
        if second is not None:
            second.stop()


def test_an_upload_while_the_broker_never_answers_is_saved_and_answered_quickly(
    broker,
    catalogue,
    api,
    settings,
) -> None:
    settings.CELERY_PUBLISH_TIMEOUT_SECONDS = 1.0
    with silent_broker_url() as silent:
        point_celery_at(silent)
        try:
            started = time.monotonic()
            response = api.post("/api/photos/", {"image": SimpleUploadedFile("p.jpg", jpeg_bytes())})
            elapsed = time.monotonic() - started
        finally:
            point_celery_at(broker)
    assert response.status_code == 202
    assert elapsed < 3.0
    assert response.json()["message"] == runs.BROKER_DOWN_MESSAGE
    run = Run.objects.get(pk=response.json()["id"])
    assert run.status == Run.Status.PENDING and run.dispatched_at is None  # the beat sends it again
