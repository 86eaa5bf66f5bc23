"""Track admin: the import (a job on a worker; the old page's address hands over to it), list filters,
bulk (de)activation changing the catalogue version."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from catalogue.models import ImportJob, Track
from catalogue.selectors import catalogue_version
from catalogue.services import import_jobs
from tests.factories import TrackFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.catalogue.urls")]

UPLOAD = b"id,title,artist,valence\nu1,One,A,0.4\nu2,Two,B,9\nu3,Three,C,0.6\n"


def test_changelist_links_to_the_worker_import_only(staff_client: Client) -> None:
    TrackFactory.create(title="Listed")
    response = staff_client.get(reverse("admin:catalogue_track_changelist"))
    assert response.status_code == 200
    page = response.content.decode()
    assert reverse("admin:catalogue_importjob_add") in page
    assert reverse("admin:catalogue_track_import") not in page  # one import path
    assert "Listed" in page


def test_changelist_search_and_filters(staff_client: Client) -> None:
    TrackFactory.create(title="Needle", tags=["rainy", "street"], genre="jazz")
    TrackFactory.create(title="Haystack")
    url = reverse("admin:catalogue_track_changelist")
    assert "Needle" in staff_client.get(url, {"q": "rainy"}).content.decode()
    page = staff_client.get(url, {"genre": "jazz", "is_active__exact": "1"}).content.decode()
    assert "Needle" in page and "Haystack" not in page


def test_the_old_import_address_hands_over_to_the_worker_import(staff_client: Client) -> None:
    """GET and POST: a 307 keeps the method and the file, so an upload sent there becomes a job."""
    old = reverse("admin:catalogue_track_import")
    response = staff_client.get(old)
    assert response.status_code == 307 and response["Location"] == reverse("admin:catalogue_importjob_add")
    response = staff_client.post(old, {"file": SimpleUploadedFile("upload.csv", UPLOAD)})
    assert response.status_code == 307 and Track.objects.count() == 0  # nothing imported in the request
    # A browser sends the same POST, file included, to the new address (Django's test client does not).
    upload = SimpleUploadedFile("upload.csv", UPLOAD, content_type="text/csv")
    response = staff_client.post(response["Location"], {"file": upload})
    job = ImportJob.objects.get()
    assert job.source_name == "upload.csv" and job.status == "queued"
    assert response["Location"].endswith(f"/{job.pk}/change/")


def test_staff_upload_imports_on_the_job_and_shows_rejected_line_numbers(staff_client: Client) -> None:
    upload = SimpleUploadedFile("upload.csv", UPLOAD, content_type="text/csv")
    response = staff_client.post(reverse("admin:catalogue_importjob_add"), {"file": upload})
    assert response.status_code == 302
    job = ImportJob.objects.get()
    assert not job.dry_run and Track.objects.count() == 0  # the request only queued it
    import_jobs.run(job.pk)
    page = staff_client.get(response["Location"]).content.decode()
    assert "<tr><td>3</td><td>valence 9 is out of range (0 to 1)</td></tr>" in page
    assert "<tr><th>Created</th><td>2</td></tr>" in page
    assert set(Track.objects.values_list("external_id", flat=True)) == {"u1", "u3"}
    assert Track.objects.get(external_id="u1").source == "upload.csv"


def test_unreadable_upload_shows_the_error_on_the_job_page(staff_client: Client) -> None:
    upload = SimpleUploadedFile("x.csv", b"a,b\n1,2\n", content_type="text/csv")
    response = staff_client.post(reverse("admin:catalogue_importjob_add"), {"file": upload})
    import_jobs.run(ImportJob.objects.get().pk)
    assert "no external_id" in staff_client.get(response["Location"]).content.decode()
    assert Track.objects.count() == 0


def test_non_staff_is_sent_to_login(client: Client) -> None:
    client.force_login(UserFactory.create())
    for url in (reverse("admin:catalogue_track_import"), reverse("admin:catalogue_importjob_add")):
        response = client.post(url, {"file": SimpleUploadedFile("u.csv", UPLOAD)})
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))
    assert Track.objects.count() == 0 and ImportJob.objects.count() == 0


def test_staff_without_track_permissions_is_refused(client: Client) -> None:
    client.force_login(UserFactory.create(is_staff=True))
    assert client.get(reverse("admin:catalogue_importjob_add")).status_code == 403
    response = client.post(
        reverse("admin:catalogue_importjob_add"), {"file": SimpleUploadedFile("u.csv", UPLOAD)}
    )
    assert response.status_code == 403 and ImportJob.objects.count() == 0


def test_changelist_filters_and_searches_by_language(staff_client: Client) -> None:
    TrackFactory.create(title="Cancion", language="es")
    TrackFactory.create(title="Song", language="en")
    url = reverse("admin:catalogue_track_changelist")
    page = staff_client.get(url).content.decode()
    assert "By language" in page and "?language=es" in page
    filtered = staff_client.get(url, {"language": "es"}).content.decode()
    assert "Cancion" in filtered and ">Song<" not in filtered
    searched = staff_client.get(url, {"q": "es"}).content.decode()
    assert "Cancion" in searched


@pytest.mark.parametrize(
    ("action", "start_active", "end_active"), [("deactivate", True, False), ("activate", False, True)]
)
def test_bulk_actions_change_is_active_and_the_catalogue_version(
    staff_client: Client, action: str, start_active: bool, end_active: bool
) -> None:
    tracks = [TrackFactory.create(is_active=start_active) for _ in range(3)]
    TrackFactory.create(is_active=True)  # keeps the active catalogue non-empty either way
    before = catalogue_version()
    response = staff_client.post(
        reverse("admin:catalogue_track_changelist"),
        {"action": action, "_selected_action": [t.pk for t in tracks[:2]]},
    )
    assert response.status_code == 302
    assert Track.objects.filter(is_active=end_active, pk__in=[t.pk for t in tracks]).count() == 2
    assert catalogue_version() != before


def test_the_empty_language_and_genre_are_named_in_the_filters(staff_client: Client) -> None:
    TrackFactory.create(title="Nameless", language="", genre="")
    TrackFactory.create(title="Named", language="en", genre="rock")
    url = reverse("admin:catalogue_track_changelist")
    page = staff_client.get(url).content.decode()
    assert 'href="?language=">(none)</a>' in page and 'href="?genre=">(none)</a>' in page
    filtered = staff_client.get(url, {"language": ""}).content.decode()
    assert "Nameless" in filtered and "Named<" not in filtered
