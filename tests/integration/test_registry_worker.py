"""The registry with real parts: a Celery worker process serving photo runs picks up a new mood activation
without a restart, and retraining runs on a worker listening on the `training` queue."""

from __future__ import annotations

import time

import pytest

from registry import services, training
from registry.models import ModelVersion
from tests.factories import another_servable_mood
from tests.integration.test_worker import upload, wait_for
from tests.registry.test_training import make_ratings
from tests.worker import Worker

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _shipped_versions(transactional_db) -> None:
    services.register_shipped()  # a transactional test empties the tables migrations filled


def test_a_running_worker_serves_a_new_mood_activation_at_its_next_run(
    broker, catalogue, api, tmp_path
) -> None:
    worker = Worker(broker, tmp_path / "worker.log")
    try:
        worker.wait_ready()
        served = ModelVersion.objects.get(kind="mood", status="active")
        first = wait_for(api, upload(api), {"done", "failed"})
        assert first["status"] == "done" and f"mood-{served.name}" in first["engine_version"]
        other = another_servable_mood(served)
        services.activate(other.pk)
        second = wait_for(api, upload(api), {"done", "failed"})
        assert second["status"] == "done" and f"mood-{other.name}" in second["engine_version"]
        assert worker.process.poll() is None  # the same process, not restarted
    finally:
        worker.stop()


def test_retraining_runs_on_the_training_queue(broker, tmp_path) -> None:
    make_ratings()
    worker = Worker(broker, tmp_path / "worker.log", queues="training")
    try:
        worker.wait_ready()
        version = training.start_retraining()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            version.refresh_from_db()
            if version.status != "training":
                break
            time.sleep(0.5)
        # Trained and judged by the worker (whether the gate lets it in is tested in tests/registry).
        assert version.status in ("active", "candidate"), (version.status, version.reason)
        assert version.progress == 100 and version.metrics["ratings"] == 300
        assert version.data_snapshot["ratings_used"] == 300
        assert "registry.tasks.retrain" in (tmp_path / "worker.log").read_text()
    finally:
        worker.stop()
