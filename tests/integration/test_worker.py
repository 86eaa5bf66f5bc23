"""The full path with real parts: PostgreSQL, Redis as the broker, and a Celery worker process.

These tests skip when PostgreSQL or Redis is missing on a developer's machine, and fail under CI=true.
"""

from __future__ import annotations

import socket
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from photos.models import Run
from photos.services import runs
from tests.factories import jpeg_bytes
from tests.worker import PreforkWorker, Worker, point_celery_at

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def upload(api: APIClient) -> int:
    response = api.post("/api/photos/", {"image": SimpleUploadedFile("p.jpg", jpeg_bytes((20, 60, 200)))})
    assert response.status_code == 202, response.content
    return int(response.json()["id"])


def wait_for(api: APIClient, run_id: int, statuses: set[str], timeout: float = 90) -> dict:
    deadline = time.monotonic() + timeout
    body: dict = {}
    while time.monotonic() < deadline:
        body = api.get(f"/api/runs/{run_id}/").json()
        if body["status"] in statuses:
            return body
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} never reached {statuses}: {body}")


def test_upload_runs_on_a_real_worker(broker, catalogue, api, tmp_path) -> None:
    worker = Worker(broker, tmp_path / "worker.log")
    try:
        worker.wait_ready()
        run_id = upload(api)
        body = wait_for(api, run_id, {"done", "failed"})
        assert body["status"] == "done", body
        assert len(body["items"]) == 10
        assert body["mood"]["summary"]
        assert Run.objects.get(pk=run_id).worker.startswith(socket.gethostname())
    finally:
        worker.stop()


def test_a_prefork_worker_process_borrows_its_idle_neighbours_core(broker, catalogue, api, tmp_path) -> None:
    """The compose CPU worker's setup (prefork, two processes sharing the cores): a lone photo's encoder
    runs on the idle neighbour's share too (recommender/idle_cpus.py), and the run is done as usual."""
    from recommender.threads import available_cpus

    if available_cpus() < 2:
        pytest.skip("one CPU: no neighbour's core to borrow")
    worker = PreforkWorker(broker, tmp_path / "worker.log")
    try:
        worker.wait_ready()
        body = wait_for(api, upload(api), {"done", "failed"})
        assert body["status"] == "done", body
        assert len(body["items"]) == 10
    finally:
        worker.stop()
    log = (tmp_path / "worker.log").read_text()
    assert "encoder: borrowing idle cores" in log, log[-3000:]


def test_killed_worker_fails_the_run_and_retry_finishes_it(
    broker, catalogue, api, tmp_path, settings
) -> None:
    slow = Worker(broker, tmp_path / "slow.log", PHOTOPHONE_RUN_FAULT_DELAY="60")
    try:
        slow.wait_ready()
        run_id = upload(api)
        wait_for(api, run_id, {"running"}, timeout=30)
        slow.kill()
    finally:
        slow.stop()
    settings.RUN_STALE_AFTER_SECONDS = 1
    time.sleep(1.5)
    body = api.get(f"/api/runs/{run_id}/").json()
    assert body["status"] == "failed"
    assert body["message"] == runs.WORKER_LOST_MESSAGE
    # The read wrote nothing; the retry records the failure and queues the run again.
    assert api.post(f"/api/runs/{run_id}/retry/").status_code == 202
    settings.RUN_STALE_AFTER_SECONDS = 180  # the retried run must not look stale while it runs
    worker = Worker(broker, tmp_path / "worker.log")
    try:
        worker.wait_ready()
        body = wait_for(api, run_id, {"done", "failed"})
        assert body["status"] == "done", body
        assert body["attempts"] == 2
    finally:
        worker.stop()


def test_upload_while_the_broker_is_down_runs_when_it_returns(
    broker, catalogue, api, tmp_path, settings
) -> None:
    point_celery_at("redis://127.0.0.1:9/0")  # nothing listens there
    run_id = upload(api)
    body = api.get(f"/api/runs/{run_id}/").json()
    assert body["status"] == "pending"
    assert body["message"] == runs.BROKER_DOWN_MESSAGE

    point_celery_at(broker)  # the broker is back
    settings.RUN_REDISPATCH_AFTER_SECONDS = 0
    worker = Worker(broker, tmp_path / "worker.log")
    try:
        worker.wait_ready()
        assert api.get(f"/api/runs/{run_id}/").json()["status"] == "pending"  # a read sends nothing
        assert runs.reap_stale_runs()["resent"] == 1  # what the beat runs every minute
        body = wait_for(api, run_id, {"done", "failed"})
        assert body["status"] == "done", body
    finally:
        worker.stop()


def test_audio_added_in_the_web_process_is_analysed_by_a_real_worker(broker, tmp_path) -> None:
    from catalogue import audio
    from catalogue.models import Track
    from tests.factories import wav_bytes

    worker = Worker(broker, tmp_path / "worker.log", PHOTOPHONE_PRELOAD="0")
    try:
        worker.wait_ready()
        upload = SimpleUploadedFile("beat.wav", wav_bytes(seconds=6, bpm=100))
        track = audio.add_track_from_audio(upload, title="Beat", artist="Worker test")  # commits, then sends
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            track.refresh_from_db()
            if track.audio_status != Track.AudioStatus.PENDING:
                break
            time.sleep(0.1)
        assert track.audio_status == Track.AudioStatus.DONE, (track.audio_status, track.audio_message)
        assert track.tempo == pytest.approx(100, abs=3) and track.energy is not None
    finally:
        worker.stop()
