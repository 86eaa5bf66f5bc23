"""An import uploaded in the admin runs on a real worker (default queue): the request returns at once, the
job's page shows the report when the worker is done."""

from __future__ import annotations

import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from catalogue.models import ImportJob, Track
from tests.factories import UserFactory
from tests.worker import Worker

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_import_job_runs_on_a_real_worker(broker, settings, tmp_path) -> None:
    user = UserFactory.create(is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(user)
    rows = "".join(f"w{n},Song {n},Band {n % 7},{(n % 10) / 10}\n" for n in range(3000))
    upload = SimpleUploadedFile("big.csv", f"id,title,artist,valence\n{rows}w-bad,X,Y,7\n".encode())
    worker = Worker(broker, tmp_path / "worker.log", PHOTOPHONE_PRELOAD="0")
    try:
        worker.wait_ready()
        response = client.post(reverse("admin:catalogue_importjob_add"), {"file": upload})
        assert response.status_code == 302
        job = ImportJob.objects.get()
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and job.status in {"queued", "running"}:
            time.sleep(0.2)
            job.refresh_from_db()
    finally:
        worker.stop()
    assert job.status == "done", (job.error, (tmp_path / "worker.log").read_text(errors="replace")[-3000:])
    assert job.report is not None and (job.report["created"], job.report["rejected_total"]) == (3000, 1)
    assert Track.objects.count() == 3000 and job.done == job.total == 3000
    page = client.get(response["Location"]).content.decode()
    assert "<th>Created</th><td>3000</td>" in page and "valence 7 is out of range" in page


def test_a_job_queued_while_the_broker_was_down_is_sent_by_the_beat_and_run_once(
    broker, settings, tmp_path
) -> None:
    from catalogue.services import import_jobs
    from tests.worker import point_celery_at

    user = UserFactory.create(is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(user)
    rows = "".join(f"q{n},Song {n},Band {n % 7},0.5\n" for n in range(500))
    point_celery_at("redis://127.0.0.1:9/0")  # nothing listens there: the broker is down
    try:
        response = client.post(
            reverse("admin:catalogue_importjob_add"),
            {"file": SimpleUploadedFile("q.csv", f"id,title,artist,valence\n{rows}".encode())},
        )
    finally:
        point_celery_at(broker)  # the broker is back
    assert response.status_code == 302
    job = ImportJob.objects.get()
    assert job.status == "queued" and job.sent_at is None  # saved, not lost, not sent
    settings.IMPORT_JOB_RESEND_AFTER_SECONDS = 3600
    assert import_jobs.resend_queued() == {"resent": 0, "waiting": 0}  # too young to be sent again
    settings.IMPORT_JOB_RESEND_AFTER_SECONDS = 0
    # What the beat runs every minute; twice, as when a send was slow and the next beat sent it again:
    # the job is claimed once, so it is imported once.
    assert import_jobs.resend_queued()["resent"] == 1
    assert import_jobs.resend_queued()["resent"] == 1
    job.refresh_from_db()
    assert job.sent_at is not None
    log = tmp_path / "worker.log"
    worker = Worker(broker, log, PHOTOPHONE_PRELOAD="0")
    try:
        worker.wait_ready()
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and log.read_text(errors="replace").count("succeeded in") < 2:
            time.sleep(0.2)
    finally:
        worker.stop()
    job.refresh_from_db()
    text = log.read_text(errors="replace")
    assert job.status == "done", (job.error, text[-3000:])
    assert text.count(f"{import_jobs.RUN_TASK}[") >= 2 and text.count("succeeded in") == 2, text[-3000:]
    assert job.report is not None and job.report["created"] == 500  # not overwritten by the second task
    assert Track.objects.count() == 500
    assert import_jobs.resend_queued()["resent"] == 0  # done: never sent again


def test_a_job_whose_worker_is_killed_is_failed_by_the_beat_and_finishes_when_started_again(
    broker, settings, tmp_path
) -> None:
    from catalogue.services import import_jobs

    rows = "".join(f"k{n},Song {n},Band {n % 7},0.5\n" for n in range(50_000))
    job = import_jobs.create(
        SimpleUploadedFile("k.csv", f"id,title,artist,valence\n{rows}".encode()), dry_run=False
    )
    worker = Worker(broker, tmp_path / "worker.log", PHOTOPHONE_PRELOAD="0")
    try:
        worker.wait_ready()
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not (job.status == "running" and job.done > 0):
            time.sleep(0.05)
            job.refresh_from_db()
        assert job.status == "running", (
            job.status,
            (tmp_path / "worker.log").read_text(errors="replace")[-3000:],
        )
        worker.kill()  # mid-import: the job stays running, nobody beats for it any more
    finally:
        worker.stop()
    settings.IMPORT_JOB_STALE_AFTER_SECONDS = 3600
    assert import_jobs.tidy()["failed"] == 0  # quiet, but not for long enough yet
    settings.IMPORT_JOB_STALE_AFTER_SECONDS = 1
    time.sleep(1.5)
    assert import_jobs.tidy()["failed"] == 1
    job.refresh_from_db()
    assert job.status == "failed" and "The worker stopped reporting" in job.error, job.error
    assert ("tracks were written" in job.error) or ("nothing was written" in job.error)

    settings.IMPORT_JOB_STALE_AFTER_SECONDS = 600
    assert import_jobs.start_again(job)  # sent at once (this test's transactions commit)
    job.refresh_from_db()
    worker = Worker(broker, tmp_path / "worker2.log", PHOTOPHONE_PRELOAD="0")
    try:
        worker.wait_ready()
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and job.status in {"queued", "running"}:
            time.sleep(0.5)
            job.refresh_from_db()
    finally:
        worker.stop()
    assert job.status == "done", (job.error, (tmp_path / "worker2.log").read_text(errors="replace")[-3000:])
    assert Track.objects.count() == 50_000
