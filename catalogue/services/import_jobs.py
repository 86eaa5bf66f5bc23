"""Imports of any size on a worker: the web request stores the upload and queues a job; the worker imports
(or dry-runs) it with catalogue.importer, recording progress and the report on the ImportJob.

A job whose send failed (broker down), or that no worker took since it was sent, stays queued: the beat
sends it again (resend_queued), and the admin's job page offers a button. Running a job claims it
(queued -> running) in one UPDATE, so a task sent twice or redelivered never imports the same file twice.

A running job's worker beats (heartbeat_at, with each progress write). The beat (tidy) fails a job whose
worker went quiet, saying how far it got (the admin can start it again), and deletes the uploaded file of
jobs ended more than settings.IMPORT_JOB_FILE_RETENTION_DAYS ago; deleting a job deletes its file. The file
of a queued or running job is never deleted.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
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

logger = logging.getLogger(__name__)

RUN_TASK = "catalogue.tasks.run_import_job"
PROGRESS_EVERY_SECONDS = 0.5  # progress writes at most this often
MAX_REJECTED_KEPT = 1000  # rejected rows kept in the stored report (the count is always whole)
DIFF_KINDS = {"added": "created", "changed": "updated", "unchanged": "unchanged"}  # -> the report's count
DIFF_PAGE_SIZE = 50
ENDED = (ImportJob.Status.DONE, ImportJob.Status.FAILED)
ACTIVE = (ImportJob.Status.QUEUED, ImportJob.Status.RUNNING)


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
        status=ImportJob.Status.RUNNING, started_at=now, heartbeat_at=now, phase="reading", done=0, total=0
    )
    job = ImportJob.objects.get(pk=job_id)
    if not claimed:
        return job.status
    last = 0.0

    def progress(phase: str, done: int, total: int) -> None:
        nonlocal last
        if time.monotonic() - last >= PROGRESS_EVERY_SECONDS or done == total:
            last = time.monotonic()
            ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.RUNNING).update(
                phase=phase, done=done, total=total, heartbeat_at=timezone.now()
            )

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
    """Record the outcome; also over a `failed` the beat wrote when this worker went quiet but lived on
    (its report is the truth), never over a job the admin has started again (queued)."""
    ours = ImportJob.objects.filter(pk=job_id, status__in=(ImportJob.Status.RUNNING, ImportJob.Status.FAILED))
    ours.update(status=status, phase="", finished_at=timezone.now(), **values)


def start_again(job: ImportJob) -> bool:
    """Queue a failed job again (its file is still stored), sent once the transaction commits. False when
    it did not fail or its file was deleted. Tracks a failed import wrote stay; the new run finds them
    unchanged."""
    restarted = (
        ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.FAILED)
        .exclude(file="")
        .update(
            status=ImportJob.Status.QUEUED,
            phase="",
            done=0,
            total=0,
            report=None,
            error="",
            sent_at=None,
            started_at=None,
            heartbeat_at=None,
            finished_at=None,
        )
    )
    if restarted:
        transaction.on_commit(lambda: send(job))
    return bool(restarted)


def tidy() -> dict[str, int]:
    """Periodic (the beat): fail the running jobs whose worker went quiet, delete old ended jobs' files."""
    return {"failed": fail_stalled(), "files_deleted": delete_old_files()}


def fail_stalled(now: datetime | None = None) -> int:
    """Fail each running job whose last heartbeat is older than settings.IMPORT_JOB_STALE_AFTER_SECONDS:
    its worker died (a redelivered message finds it running and leaves it). The reason says how far it got."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.IMPORT_JOB_STALE_AFTER_SECONDS)
    quiet = Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=cutoff)
    failed = 0
    for job in ImportJob.objects.filter(quiet, status=ImportJob.Status.RUNNING)[:100]:
        # Only if it has not beaten since it was read: a worker that wakes up keeps its job.
        failed += ImportJob.objects.filter(
            pk=job.pk, status=ImportJob.Status.RUNNING, heartbeat_at=job.heartbeat_at
        ).update(status=ImportJob.Status.FAILED, phase="", finished_at=now, error=stopped_reason(job, now))
    return failed


def stopped_reason(job: ImportJob, now: datetime) -> str:
    """What the job page says about a job whose worker stopped: where it was, and what that left."""
    last = job.heartbeat_at or job.started_at or now
    quiet = (now - last).total_seconds()
    said = f"The worker stopped reporting {f'{quiet:.0f} s' if quiet < 120 else f'{quiet / 60:.0f} min'} ago"
    if job.phase == "writing" and not job.dry_run:
        where = (
            f"while writing: {job.done:,} of {job.total:,} tracks were written and stay in the catalogue. "
            "Start it again to write the rest (the tracks already written are found unchanged)."
        )
    elif job.phase == "writing":
        where = f"while comparing {job.done:,} of {job.total:,} tracks (a dry run: nothing was written)."
    else:
        read = f"{job.done:,} of {job.total:,} bytes" if job.total else f"{job.done:,} bytes"
        where = f"while reading the file ({read} read); nothing was written. Start it again."
    return f"{said}, {where}"


def delete_old_files(now: datetime | None = None) -> int:
    """Delete the uploaded file of each job that ended (done or failed) more than
    settings.IMPORT_JOB_FILE_RETENTION_DAYS ago; the job and its report stay."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.IMPORT_JOB_FILE_RETENTION_DAYS)
    old = ImportJob.objects.filter(status__in=ENDED, finished_at__lt=cutoff).exclude(file="")
    deleted = 0
    for job in old.order_by("finished_at")[:500]:
        # Forget the file first, and only while the job has ended: one started again in between keeps it.
        name = job.file.name
        if name and ImportJob.objects.filter(pk=job.pk, status__in=ENDED).exclude(file="").update(file=""):
            try:
                job.file.storage.delete(name)
            except Exception:  # storage unreachable: the job no longer points at it; go on with the others
                logger.exception("could not delete import job %s's file %s", job.pk, name)
                continue
            deleted += 1
    return deleted


def deleted(job: ImportJob) -> None:
    """A job was deleted (catalogue.apps connects this to post_delete): delete its file once that commits,
    unless it was queued or running (its worker may be reading it; the admin refuses to delete those)."""
    if job.file.name and job.status in ENDED:
        storage, name = job.file.storage, job.file.name
        transaction.on_commit(lambda: storage.delete(name))


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
