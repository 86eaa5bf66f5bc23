"""Celery tasks: thin wrappers over the services."""

from __future__ import annotations

import logging
import os
import socket
from typing import Any

from celery import shared_task
from celery.signals import worker_init, worker_process_init, worker_ready

from photos.services import execution, photo_files, runs

logger = logging.getLogger(__name__)


@shared_task(name=runs.RUN_TASK, bind=True)
def run_recommendation(self: Any, run_id: int, held_since: str | None = None) -> None:
    # Redelivered: the worker that had this message was lost mid-run (late acknowledgement).
    redelivered = bool((self.request.delivery_info or {}).get("redelivered"))
    worker = f"{socket.gethostname()}:{os.getpid()}"
    later = execution.execute(run_id, worker=worker, redelivered=redelivered, held_since=held_since)
    if later is not None:  # another worker holds the run: look again once it must have finished
        self.apply_async(args=[run_id], kwargs={"held_since": later.since}, countdown=later.seconds)


# Runs queued before the photos app got its name (it was the Django app `recommender`) carry the old task
# name; they are still run after an upgrade.
@shared_task(name="recommender.tasks.run_recommendation")
def run_recommendation_queued_before_rename(run_id: int) -> None:
    run_recommendation(run_id)


@shared_task(name="photos.tasks.reap_stale_runs")
def reap_stale_runs() -> dict[str, int]:
    return runs.reap_stale_runs()


@shared_task(name="photos.tasks.sweep_photo_files")
def sweep_photo_files() -> dict[str, int]:
    return photo_files.sweep_orphans()


@worker_init.connect
def _share_the_cores(sender: Any = None, **_: Any) -> None:
    """Each pool process of this worker gets its share of the cores (recommender/threads.py)."""
    pool = str(getattr(sender, "pool_cls", "") or "")
    concurrency = 1 if "solo" in pool or "thread" in pool else int(getattr(sender, "concurrency", 1) or 1)
    os.environ["ENGINE_PROCESSES"] = str(concurrency)


@worker_ready.connect
def _load_models_in_solo_worker(sender: Any = None, **_: Any) -> None:
    # A solo pool (our inference workers) runs tasks in the main process, which gets no process_init signal.
    pool = getattr(sender, "pool", None)
    if pool is not None and type(pool).__module__.endswith(".solo"):
        _load_models()


@worker_process_init.connect
def _load_models(**signal: Any) -> None:
    """Load the models when a worker process starts, so the first photo doesn't pay for it."""
    if os.environ.get("PHOTOPHONE_PRELOAD", "1") != "1":
        return
    from inference import adapter

    try:
        _, index = runs.ranking_index()
        adapter.engine().warm_up(index)
        adapter.unload_idle_models()
    except Exception:  # the first task will report the problem to the user
        logger.exception("could not preload the engine")
