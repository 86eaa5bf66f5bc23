"""The registry with real parts: a Celery worker process serving photo runs picks up a new mood activation
without a restart, and retraining runs on a worker listening on the `training` queue, judged by the
shipped offline evaluation: a helpful reranker becomes active and the same worker serves it."""

from __future__ import annotations

import time

import pytest

from photos.models import RunItem
from recommender.reranker import SCORE_KEY
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


def test_retraining_on_the_training_queue_activates_a_helpful_reranker_that_the_worker_then_serves(
    broker, api, tmp_path
) -> None:
    # Ratings that follow the moods, of items scored by the strategies the shipped offline evaluation
    # (recommender/artifacts/offline-eval-v1) holds, so the gate can judge the candidate in full.
    make_ratings(runs=60, strategies=("va_match", "joint_embedding"))
    worker = Worker(broker, tmp_path / "worker.log", queues="inference,default,training")
    try:
        worker.wait_ready()
        before = wait_for(api, upload(api), {"done", "failed"})
        assert before["status"] == "done", before
        assert not any(SCORE_KEY in i.strategy_scores for i in RunItem.objects.filter(run_id=before["id"]))

        version = training.start_retraining()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            version.refresh_from_db()
            if version.status != "training":
                break
            time.sleep(0.5)
        assert version.status == "active", (version.status, version.reason, version.metrics)
        assert version.progress == 100 and version.metrics["ratings"] == 600
        assert version.data_snapshot["ratings_used"] == 600
        assert version.metrics["held_out_gain_lower_bound"] > 0
        offline = version.metrics["offline"]
        assert offline["photos"] == 607  # the shipped evaluation, not a test's
        assert "registry.tasks.retrain" in (tmp_path / "worker.log").read_text()

        after = wait_for(api, upload(api), {"done", "failed"})
        assert after["status"] == "done", after
        items = list(RunItem.objects.filter(run_id=after["id"]).order_by("rank"))
        reranked = [i.strategy_scores.get(SCORE_KEY) for i in items]
        assert None not in reranked and reranked == sorted(reranked, reverse=True)  # the reranker's order
        assert [i.track_id for i in items] != [
            i.track_id for i in RunItem.objects.filter(run_id=before["id"]).order_by("rank")
        ]
        assert worker.process.poll() is None  # the same process, not restarted
    finally:
        worker.stop()
