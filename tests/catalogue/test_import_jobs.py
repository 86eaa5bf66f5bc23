"""Imports on a worker: the job records progress and report; a dry run writes nothing; the admin pages."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from catalogue.models import CatalogueVersion, ImportJob, Track
from catalogue.services import import_jobs
from tests.factories import TrackFactory

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.catalogue.urls")]

FILE = b"id,title,artist,valence\nk1,Kept,A,0.5\nn1,New,B,0.4\nb1,Bad,C,9\nk2,Changed,D,0.1\n"


def _catalogue() -> None:
    TrackFactory.create(external_id="k1", title="Kept", artist="A", valence=0.5, source="x.csv")
    TrackFactory.create(external_id="k2", title="Old title", artist="D", valence=0.1)


def _job(dry_run: bool, content: bytes = FILE, name: str = "x.csv") -> ImportJob:
    return import_jobs.create(SimpleUploadedFile(name, content), dry_run=dry_run)


def test_dry_run_reports_what_would_change_and_writes_nothing() -> None:
    _catalogue()
    version, titles = CatalogueVersion.current(), dict(Track.objects.values_list("external_id", "title"))
    job = _job(dry_run=True)
    assert import_jobs.run(job.pk) == "done"
    job.refresh_from_db()
    report = job.report
    assert report is not None
    assert (report["created"], report["updated"], report["unchanged"], report["rejected_total"]) == (
        1,
        1,
        1,
        1,
    )
    assert report["rejected"] == [{"line": 4, "reason": "valence 9 is out of range (0 to 1)"}]
    assert dict(Track.objects.values_list("external_id", "title")) == titles
    assert CatalogueVersion.current() == version


def test_import_job_writes_and_records_progress() -> None:
    _catalogue()
    job = _job(dry_run=False)
    assert import_jobs.run(job.pk) == "done"
    job.refresh_from_db()
    assert job.status == "done" and job.started_at and job.finished_at and job.total == 3 and job.done == 3
    assert Track.objects.get(external_id="k2").title == "Changed"
    assert (
        Track.objects.filter(external_id="n1").exists()
        and not Track.objects.filter(external_id="b1").exists()
    )
    assert import_jobs.run(job.pk) == "done"  # a redelivered task does not import again
    job.refresh_from_db()
    assert job.report is not None and job.report["created"] == 1


def test_an_unreadable_file_fails_the_job_with_its_reason() -> None:
    job = _job(dry_run=False, content=b"name,colour\nx,red\n")
    assert import_jobs.run(job.pk) == "failed"
    job.refresh_from_db()
    assert "no external_id" in job.error and job.report is None and Track.objects.count() == 0


def test_admin_upload_queues_a_job_and_its_page_shows_the_report(staff_client: Client) -> None:
    _catalogue()
    upload = SimpleUploadedFile("x.csv", FILE, content_type="text/csv")
    response = staff_client.post(reverse("admin:catalogue_importjob_add"), {"file": upload, "dry_run": "on"})
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/{job.pk}/change/")
    assert job.dry_run and job.status == "queued" and job.source_name == "x.csv"
    page = staff_client.get(response["Location"]).content.decode()
    assert "Waiting for a worker" in page and 'http-equiv="refresh"' in page
    import_jobs.run(job.pk)
    page = staff_client.get(response["Location"]).content.decode()
    assert "Dry run: nothing was written" in page and "<th>Would be created</th><td>1</td>" in page
    assert "valence 9 is out of range" in page and 'http-equiv="refresh"' not in page
    history = staff_client.get(reverse("admin:catalogue_importjob_changelist")).content.decode()
    assert "x.csv" in history and "1 would be created, 1 would be updated, 1 unchanged, 1 rejected" in history


def test_import_jobs_need_staff(client: Client) -> None:
    response = client.get(reverse("admin:catalogue_importjob_add"))
    assert response.status_code == 302 and "login" in response["Location"]
