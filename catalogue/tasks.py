"""Celery tasks: thin wrappers over the services."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from catalogue import audio
from catalogue.services import import_jobs, index


@shared_task(name=audio.ANALYSE_TASK)
def analyse_track_audio(track_id: int) -> None:
    audio.analyse(track_id)


@shared_task(name="catalogue.tasks.resend_pending_audio")
def resend_pending_audio() -> dict[str, int]:
    return audio.resend_pending()


@shared_task(name=index.REBUILD_TASK)
def rebuild_index() -> str:
    return index.rebuild()


# Not the 150 s every other task gets: a catalogue of any size is imported here.
@shared_task(
    name=import_jobs.RUN_TASK,
    soft_time_limit=settings.IMPORT_JOB_TIME_LIMIT_SECONDS,
    time_limit=settings.IMPORT_JOB_TIME_LIMIT_SECONDS + 60,
)
def run_import_job(job_id: int) -> str:
    return import_jobs.run(job_id)


@shared_task(name="catalogue.tasks.resend_queued_imports")
def resend_queued_imports() -> dict[str, int]:
    return import_jobs.resend_queued()


@shared_task(name="catalogue.tasks.tidy_import_jobs")
def tidy_import_jobs() -> dict[str, int]:
    return import_jobs.tidy()
