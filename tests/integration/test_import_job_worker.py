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
