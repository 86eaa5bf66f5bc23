"""Imports of any size on a worker: the web request stores the upload and queues a job; the worker imports
(or dry-runs) it with catalogue.importer, recording progress and the report on the ImportJob.

A job whose send failed (broker down), or that no worker took since it was sent, stays queued: the beat
sends it again (resend_queued), and the admin's job page offers a button. Running a job claims it
(queued -> running) in one UPDATE, so a task sent twice or redelivered never imports the same file twice.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from catalogue.importer import ImportFileError, import_tracks
from catalogue.importer.report import MAX_DIFF_KEPT
from catalogue.models import ImportJob
from config.celery import publish

RUN_TASK = "catalogue.tasks.run_import_job"
PROGRESS_EVERY_SECONDS = 0.5  # progress writes at most this often
MAX_REJECTED_KEPT = 1000  # rejected rows kept in the stored report (the count is always whole)
DIFF_KINDS = {"added": "created", "changed": "updated", "unchanged": "unchanged"}  # -> the report's count
DIFF_PAGE_SIZE = 50


def create(upload: UploadedFile, *, dry_run: bool, user: Any = None) -> ImportJob:
    """Store the upload and queue its import; the job is sent once the transaction commits."""
    name = (upload.name or "upload").rsplit("/", 1)[-1][:300]
    job = ImportJob(source_name=name, dry_run=dry_run, created_by=user)
    job.file.save(name, upload, save=False)
    job.save()
    transaction.on_commit(lambda: send(job))
    return job


def send(job: ImportJob) -> bool:
    """Hand the job to the broker; False (it stays queued, unsent) when the broker is unreachable."""
    if not publish(RUN_TASK, job.pk):
        return False
    ImportJob.objects.filter(pk=job.pk).update(sent_at=timezone.now())
    return True


def resend_queued(older_than_seconds: float | None = None) -> dict[str, int]:
    """Periodic (the beat): send again the jobs still queued that were never sent, or last sent longer ago
    than settings.IMPORT_JOB_RESEND_AFTER_SECONDS (the broker was down, or lost the message). Sending a job
    twice is harmless: only one worker can claim it (run)."""
    age = settings.IMPORT_JOB_RESEND_AFTER_SECONDS if older_than_seconds is None else older_than_seconds
    cutoff = timezone.now() - timedelta(seconds=age)
    waiting = ImportJob.objects.filter(status=ImportJob.Status.QUEUED, created_at__lt=cutoff).filter(
        Q(sent_at__isnull=True) | Q(sent_at__lt=cutoff)
    )
    jobs = list(waiting.order_by("created_at")[:100])
    return {"resent": sum(send(job) for job in jobs), "waiting": len(jobs)}


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


@dataclass(frozen=True)
class DiffPage:
    """One page of a dry run's track-by-track diff, of one kind (added, changed or unchanged)."""

    kind: str
    items: list[dict[str, Any]]
    number: int
    pages: int
    kept: int  # tracks of this kind listed in the stored report (at most MAX_DIFF_KEPT)
    total: int  # tracks of this kind in all
    counts: dict[str, int]  # every kind's total

    @property
    def capped(self) -> bool:
        return self.kept < self.total


def diff_page(job: ImportJob, kind: str | None, page: str | None) -> DiffPage | None:
    """The page of the job's dry-run diff asked for (the first, of changed tracks, unless the request says
    otherwise; out-of-range pages are clamped). None when the job has no diff (an import, or not done)."""
    diff = (job.report or {}).get("diff")
    if not diff:
        return None
    report = job.report or {}
    counts = {name: int(report.get(count, 0)) for name, count in DIFF_KINDS.items()}
    kind = kind if kind in DIFF_KINDS else "changed"
    listed = diff.get(kind, [])
    pages = max(1, -(-len(listed) // DIFF_PAGE_SIZE))
    try:
        number = min(max(1, int(page or 1)), pages)
    except ValueError:
        number = 1
    items = [
        {
            **item,
            "changes": [{**c, "old": _shown(c["old"]), "new": _shown(c["new"])} for c in item["changes"]],
        }
        if "changes" in item
        else item
        for item in listed[(number - 1) * DIFF_PAGE_SIZE : number * DIFF_PAGE_SIZE]
    ]
    return DiffPage(kind, items, number, pages, min(len(listed), MAX_DIFF_KEPT), counts[kind], counts)


def _shown(value: Any) -> str:
    """A field's value as the diff shows it: unknown and empty said in words, tags as a list."""
    if value is None:
        return "(unknown)"
    if value == "" or value == []:
        return "(empty)"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)
