"""The beat's upkeep of import jobs: a job whose worker died is failed with how far it got (and can be started
again); an ended job's uploaded file is deleted after the retention, or with the job; never a queued or
running job's file."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from catalogue.models import ImportJob, Track
from catalogue.services import import_jobs

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.catalogue.urls")]

FILE = b"id,title,artist,valence\nt1,One,A,0.5\nt2,Two,B,0.4\nt3,Three,C,0.3\n"


def _job(**state) -> ImportJob:
    """A stored job, then put in the given state (status, times, progress) as a worker would have left it."""
    job = import_jobs.create(SimpleUploadedFile("x.csv", FILE), dry_run=False)
    if state:
        ImportJob.objects.filter(pk=job.pk).update(**state)
        job.refresh_from_db()
    return job


def _ago(**delta: float) -> datetime:
    return timezone.now() - timedelta(**delta)


def _stored(name: str | None) -> bool:
    return bool(name) and default_storage.exists(name or "")


def test_running_claim_and_progress_write_the_heartbeat() -> None:
    job = _job()
    assert job.heartbeat_at is None
    assert import_jobs.run(job.pk) == "done"
    job.refresh_from_db()
    assert job.heartbeat_at is not None and job.started_at is not None
    assert job.started_at <= job.heartbeat_at <= job.finished_at


def test_a_job_whose_worker_went_quiet_is_failed_saying_how_far_it_got(settings) -> None:
    settings.IMPORT_JOB_STALE_AFTER_SECONDS = 600
    writing = _job(
        status="running",
        phase="writing",
        done=1000,
        total=3000,
        started_at=_ago(hours=2),
        heartbeat_at=_ago(minutes=11),
    )
    reading = _job(
        status="running", phase="reading", done=4096, total=0, started_at=_ago(minutes=20), heartbeat_at=None
    )
    live_long = _job(
        status="running",
        phase="writing",
        done=10,
        total=90,
        started_at=_ago(hours=5),
        heartbeat_at=_ago(minutes=9),
    )
    queued_long = _job(created_at=_ago(days=2))

    assert import_jobs.fail_stalled() == 2

    writing.refresh_from_db()
    assert writing.status == "failed" and writing.finished_at is not None and writing.phase == ""
    assert "stopped reporting 11 min ago" in writing.error
    assert "1,000 of 3,000 tracks were written and stay in the catalogue" in writing.error
    assert "Start it again" in writing.error
    reading.refresh_from_db()  # never beat (from before heartbeats): its start is what counts
    assert (
        reading.status == "failed"
        and "while reading the file (4,096 bytes read); nothing was written" in reading.error
    )
    live_long.refresh_from_db()
    assert live_long.status == "running" and live_long.error == ""
    queued_long.refresh_from_db()
    assert queued_long.status == "queued" and queued_long.error == ""
    assert import_jobs.fail_stalled() == 0  # already recorded


def test_a_dry_run_that_stopped_says_nothing_was_written() -> None:
    job = _job(
        status="running",
        phase="writing",
        done=5,
        total=9,
        started_at=_ago(hours=1),
        heartbeat_at=_ago(hours=1),
    )
    ImportJob.objects.filter(pk=job.pk).update(dry_run=True)
    import_jobs.fail_stalled()
    job.refresh_from_db()
    assert job.status == "failed" and "a dry run: nothing was written" in job.error


def test_a_stopped_job_is_shown_with_its_reason_and_can_be_started_again(staff_client: Client) -> None:
    Track.objects.all().delete()
    job = _job(
        status="running",
        phase="writing",
        done=1,
        total=3,
        started_at=_ago(hours=1),
        heartbeat_at=_ago(hours=1),
    )
    assert import_jobs.run(job.pk) == "running"  # a redelivered message leaves a running job alone...
    import_jobs.tidy()  # ...the beat fails it
    url = reverse("admin:catalogue_importjob_change", args=[job.pk])
    page = staff_client.get(url).content.decode()
    assert "1 of 3 tracks were written and stay in the catalogue" in page and 'name="start_again"' in page

    response = staff_client.post(url, {"start_again": "1"})
    assert response.status_code == 302
    job.refresh_from_db()
    assert (job.status, job.error, job.done, job.heartbeat_at, job.finished_at) == (
        "queued",
        "",
        0,
        None,
        None,
    )
    assert import_jobs.run(job.pk) == "done"
    assert set(Track.objects.values_list("external_id", flat=True)) == {"t1", "t2", "t3"}
    assert import_jobs.start_again(job) is False  # done: nothing to start again


def test_a_worker_that_lived_on_records_its_outcome_over_the_failure() -> None:
    job = _job(status="running", phase="writing", started_at=_ago(hours=1), heartbeat_at=_ago(hours=1))
    import_jobs.fail_stalled()
    import_jobs._finish(job.pk, ImportJob.Status.DONE, report={"created": 3})
    job.refresh_from_db()
    assert job.status == "done" and job.report == {"created": 3}


def test_the_beat_deletes_the_files_of_jobs_ended_longer_ago_than_the_retention(settings) -> None:
    settings.IMPORT_JOB_FILE_RETENTION_DAYS = 7
    old_done = _job(status="done", finished_at=_ago(days=8), report={"created": 3})
    old_failed = _job(status="failed", finished_at=_ago(days=8), error="bad file")
    recent_done = _job(status="done", finished_at=_ago(days=6))
    old_queued = _job(created_at=_ago(days=30))
    old_running = _job(
        status="running", created_at=_ago(days=30), started_at=_ago(days=30), heartbeat_at=timezone.now()
    )
    names = {job.pk: job.file.name for job in (old_done, old_failed, recent_done, old_queued, old_running)}
    assert all(_stored(name) for name in names.values())

    assert import_jobs.tidy() == {"failed": 0, "files_deleted": 2}

    for job in (old_done, old_failed):
        job.refresh_from_db()
        assert job.file.name == "" and not _stored(names[job.pk])
    old_done.refresh_from_db()
    assert old_done.report == {"created": 3}  # the record stays
    for job in (recent_done, old_queued, old_running):
        job.refresh_from_db()
        assert job.file.name == names[job.pk] and _stored(names[job.pk])
    assert import_jobs.delete_old_files() == 0


def test_a_job_whose_file_was_deleted_cannot_be_started_again_and_says_so(staff_client: Client) -> None:
    job = _job(status="failed", finished_at=_ago(days=8), error="The worker stopped reporting")
    import_jobs.delete_old_files()
    job.refresh_from_db()
    assert import_jobs.start_again(job) is False
    page = staff_client.get(reverse("admin:catalogue_importjob_change", args=[job.pk])).content.decode()
    assert (
        "The uploaded file was deleted 7 days after the job ended" in page
        and 'name="start_again"' not in page
    )


def test_deleting_an_ended_job_deletes_its_file(django_capture_on_commit_callbacks) -> None:
    job = _job(status="done", finished_at=timezone.now())
    name = job.file.name
    with django_capture_on_commit_callbacks(execute=True):
        job.delete()
    assert not _stored(name)


def test_deleting_a_queued_or_running_job_keeps_its_file(django_capture_on_commit_callbacks) -> None:
    jobs = [_job(), _job(status="running", started_at=timezone.now(), heartbeat_at=timezone.now())]
    names = [job.file.name for job in jobs]
    with django_capture_on_commit_callbacks(execute=True):
        ImportJob.objects.filter(pk__in=[job.pk for job in jobs]).delete()
    assert all(_stored(name) for name in names)


def test_the_admin_refuses_to_delete_a_queued_or_running_job(admin_client: Client) -> None:
    running = _job(status="running", started_at=timezone.now(), heartbeat_at=timezone.now())
    queued, done = _job(), _job(status="done", finished_at=timezone.now())
    assert admin_client.get(reverse("admin:catalogue_importjob_delete", args=[running.pk])).status_code == 403
    assert admin_client.get(reverse("admin:catalogue_importjob_delete", args=[queued.pk])).status_code == 403

    changelist = reverse("admin:catalogue_importjob_changelist")
    selected = {"action": "delete_selected", "_selected_action": [running.pk, queued.pk, done.pk]}
    assert admin_client.post(changelist, {**selected, "post": "yes"}).status_code == 403  # all or nothing
    assert set(ImportJob.objects.values_list("pk", flat=True)) == {running.pk, queued.pk, done.pk}
    assert _stored(running.file.name) and _stored(queued.file.name)

    assert (
        admin_client.post(changelist, {**selected, "_selected_action": [done.pk], "post": "yes"}).status_code
        == 302
    )
    assert set(ImportJob.objects.values_list("pk", flat=True)) == {running.pk, queued.pk}


def test_the_beat_schedules_the_upkeep() -> None:
    from django.conf import settings

    from config.celery import app

    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "catalogue.tasks.tidy_import_jobs" in tasks
    app.loader.import_default_modules()
    assert "catalogue.tasks.tidy_import_jobs" in app.tasks
