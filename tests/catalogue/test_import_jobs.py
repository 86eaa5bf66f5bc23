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


def test_dry_run_lists_each_track_added_changed_with_old_and_new_and_unchanged() -> None:
    _catalogue()
    job = _job(dry_run=True)
    import_jobs.run(job.pk)
    job.refresh_from_db()
    diff = (job.report or {})["diff"]
    assert diff["added"] == [{"id": "n1", "title": "New", "artist": "B"}]
    assert diff["unchanged"] == [{"id": "k1", "title": "Kept", "artist": "A"}]
    [changed] = diff["changed"]
    assert changed["id"] == "k2" and changed["title"] == "Changed"
    assert {"field": "title", "old": "Old title", "new": "Changed"} in changed["changes"]
    assert all(c["field"] != "artist" for c in changed["changes"])  # only what differs
    assert Track.objects.get(external_id="k2").title == "Old title"  # nothing written


def test_an_import_report_has_no_diff_and_the_command_json_is_unchanged(tmp_path) -> None:
    import io
    import json

    from django.core.management import call_command

    job = _job(dry_run=False)
    import_jobs.run(job.pk)
    job.refresh_from_db()
    assert job.report is not None and "diff" not in job.report
    path = tmp_path / "x.csv"
    path.write_bytes(FILE)
    out = io.StringIO()
    call_command("import_tracks", str(path), "--json", "--no-progress", stdout=out)
    keys = {"source", "format", "rows", "created", "updated", "unchanged", "duplicates", "rejected"}
    assert set(json.loads(out.getvalue())) == keys | {"warnings", "seconds", "tracks"}  # as before


def test_the_job_page_shows_the_diff_by_kind_paginated_and_capped(staff_client: Client, settings) -> None:
    from catalogue.importer import report as report_module

    for n in range(120):
        TrackFactory.create(external_id=f"t{n}", title=f"Old {n}", artist="A", valence=0.5)
    rows = "".join(f"t{n},New {n},A,0.5\n" for n in range(120)) + "".join(
        f"a{n},Add {n},B,0.1\n" for n in range(3)
    )
    old_cap = report_module.MAX_DIFF_KEPT
    report_module.MAX_DIFF_KEPT = 110  # the stored list is capped; the counts stay whole
    try:
        job = _job(dry_run=True, content=f"id,title,artist,valence\n{rows}".encode())
        import_jobs.run(job.pk)
    finally:
        report_module.MAX_DIFF_KEPT = old_cap
    url = reverse("admin:catalogue_importjob_change", args=[job.pk])
    page = staff_client.get(url).content.decode()
    assert "What would change, track by track" in page
    assert '"changes": [' not in page  # the stored report is shown as tables, not as raw JSON
    assert (
        "<strong>Changed (120)</strong>" in page and "Added (3)</a>" in page and "Unchanged (0)</a>" in page
    )
    assert "the first 110 of 120 changed tracks" in page
    assert "<code>title</code>: Old 0 → New 0" in page and "Page 1 of 3" in page
    assert "Old 50 →" not in page  # 50 a page
    second = staff_client.get(url, {"diff": "changed", "page": "2"}).content.decode()
    assert "<code>title</code>: Old 50 → New 50" in second and "Old 0 →" not in second
    last = staff_client.get(url, {"diff": "changed", "page": "99"}).content.decode()
    assert "Page 3 of 3" in last and "Old 109 →" in last and "Old 110 →" not in last
    added = staff_client.get(url, {"diff": "added", "page": "x"}).content.decode()
    assert "<strong>Added (3)</strong>" in added and "B – Add 2" in added
    assert staff_client.get(url, {"diff": "<script>"}).status_code == 200  # unknown kind: the default


def test_the_beat_leaves_a_queued_job_queued_while_the_broker_is_down(settings) -> None:
    from tests.worker import point_celery_at

    settings.CELERY_PUBLISH_TIMEOUT_SECONDS = 1.0
    job = _job(dry_run=False)
    assert job.sent_at is None  # the on-commit send never ran here: as if the broker had been down
    old = point_celery_at("redis://127.0.0.1:9/0")
    try:
        assert import_jobs.resend_queued(older_than_seconds=3600) == {"resent": 0, "waiting": 0}
        assert import_jobs.resend_queued(older_than_seconds=0) == {"resent": 0, "waiting": 1}
    finally:
        point_celery_at(old)
    job.refresh_from_db()
    assert job.status == "queued" and job.sent_at is None  # kept, to be sent by a later beat


def test_the_beat_never_sends_a_job_that_a_worker_has_claimed() -> None:
    job = _job(dry_run=False)
    import_jobs.run(job.pk)  # claimed and done
    running = _job(dry_run=False)
    ImportJob.objects.filter(pk=running.pk).update(status="running")
    assert import_jobs.resend_queued(older_than_seconds=0) == {"resent": 0, "waiting": 0}


def test_the_beat_schedules_the_resend() -> None:
    from django.conf import settings

    from config.celery import app

    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "catalogue.tasks.resend_queued_imports" in tasks
    app.loader.import_default_modules()
    assert "catalogue.tasks.resend_queued_imports" in app.tasks


def test_an_import_job_may_run_longer_than_a_photo_run(settings) -> None:
    from catalogue.tasks import run_import_job

    assert run_import_job.soft_time_limit == settings.IMPORT_JOB_TIME_LIMIT_SECONDS
    assert run_import_job.soft_time_limit > settings.CELERY_TASK_SOFT_TIME_LIMIT
