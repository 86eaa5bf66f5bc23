"""Imports of any size on a worker: the web request stores the upload and queues a job; the worker imports
(or dry-runs) it with catalogue.importer, recording progress and the report on the ImportJob.

A job whose send failed (broker down) stays queued; `send` can be called again for it (the admin's job
page offers it). Running a job claims it (queued -> running) in one UPDATE, so a redelivered task never
imports the same file twice.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from catalogue.importer import ImportFileError, import_tracks
from catalogue.models import ImportJob
from config.celery import publish

RUN_TASK = "catalogue.tasks.run_import_job"
PROGRESS_EVERY_SECONDS = 0.5  # progress writes at most this often
MAX_REJECTED_KEPT = 1000  # rejected rows kept in the stored report (the count is always whole)


def create(upload: UploadedFile, *, dry_run: bool, user: Any = None) -> ImportJob:
    """Store the upload and queue its import; the job is sent once the transaction commits."""
    name = (upload.name or "upload").rsplit("/", 1)[-1][:300]
    job = ImportJob(source_name=name, dry_run=dry_run, created_by=user)
    job.file.save(name, upload, save=False)
    job.save()
    transaction.on_commit(lambda: send(job))
    return job


def send(job: ImportJob) -> bool:
    return publish(RUN_TASK, job.pk)


def run(job_id: int) -> str:
    """Run a queued job; returns its final status (or what it was, when another worker has it)."""
    now = timezone.now()
    claimed = ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.QUEUED).update(
        status=ImportJob.Status.RUNNING, started_at=now, phase="reading"
    )
    job = ImportJob.objects.get(pk=job_id)
    if not claimed:
        return job.status
    last = 0.0

    def progress(phase: str, done: int, total: int) -> None:
        nonlocal last
        if time.monotonic() - last >= PROGRESS_EVERY_SECONDS or done == total:
            last = time.monotonic()
            ImportJob.objects.filter(pk=job_id).update(phase=phase, done=done, total=total)

    try:
        report = import_tracks(
            _local_path(job) or job.file.open("rb"),
            source_name=job.source_name,
            dry_run=job.dry_run,
            on_progress=progress,
        )
    except ImportFileError as exc:
        _finish(job_id, ImportJob.Status.FAILED, error=str(exc))
        return ImportJob.Status.FAILED
    except Exception as exc:  # recorded on the job so the admin sees it; the worker logs the traceback
        _finish(job_id, ImportJob.Status.FAILED, error=f"unexpected error: {type(exc).__name__}: {exc}")
        raise
    stored = report.as_dict()
    stored["rejected_total"] = len(report.rejected)
    stored["rejected"] = stored["rejected"][:MAX_REJECTED_KEPT]
    _finish(job_id, ImportJob.Status.DONE, report=stored)
    return ImportJob.Status.DONE


def _finish(job_id: int, status: str, **values: Any) -> None:
    ImportJob.objects.filter(pk=job_id).update(status=status, phase="", finished_at=timezone.now(), **values)


def _local_path(job: ImportJob) -> str | None:
    """The stored file's path, when the storage is local (then the reading progress knows the size)."""
    try:
        return job.file.path
    except NotImplementedError:
        return None
