"""Track admin: import page (staff only), bulk (de)activation changing the catalogue version."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from catalogue.models import Track
from catalogue.selectors import catalogue_version
from tests.factories import TrackFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.catalogue.urls")]

UPLOAD = b"id,title,artist,valence\nu1,One,A,0.4\nu2,Two,B,9\nu3,Three,C,0.6\n"


def test_changelist_links_to_the_import_page(staff_client: Client) -> None:
    TrackFactory.create(title="Listed")
    response = staff_client.get(reverse("admin:catalogue_track_changelist"))
    assert response.status_code == 200
    assert reverse("admin:catalogue_track_import") in response.content.decode()
    assert "Listed" in response.content.decode()


def test_changelist_search_and_filters(staff_client: Client) -> None:
    TrackFactory.create(title="Needle", tags=["rainy", "street"], genre="jazz")
    TrackFactory.create(title="Haystack")
    url = reverse("admin:catalogue_track_changelist")
    assert "Needle" in staff_client.get(url, {"q": "rainy"}).content.decode()
    page = staff_client.get(url, {"genre": "jazz", "is_active__exact": "1"}).content.decode()
    assert "Needle" in page and "Haystack" not in page


def test_staff_upload_imports_and_shows_rejected_line_numbers(staff_client: Client) -> None:
    upload = SimpleUploadedFile("upload.csv", UPLOAD, content_type="text/csv")
    response = staff_client.post(reverse("admin:catalogue_track_import"), {"file": upload})
    assert response.status_code == 200
    page = response.content.decode()
    assert "<tr><td>3</td><td>valence 9 is out of range (0 to 1)</td></tr>" in page
    assert "<tr><th>Created</th><td>2</td></tr>" in page
    assert set(Track.objects.values_list("external_id", flat=True)) == {"u1", "u3"}
    assert Track.objects.get(external_id="u1").source == "upload.csv"


def test_large_upload_is_streamed_from_its_temporary_file(staff_client: Client, settings: Any) -> None:
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 10  # force Django's temporary-file upload handler
    upload = SimpleUploadedFile("big.csv", UPLOAD, content_type="text/csv")
    response = staff_client.post(reverse("admin:catalogue_track_import"), {"file": upload})
    assert response.status_code == 200
    assert Track.objects.count() == 2


def test_unreadable_upload_shows_the_error(staff_client: Client) -> None:
    upload = SimpleUploadedFile("x.csv", b"a,b\n1,2\n", content_type="text/csv")
    response = staff_client.post(reverse("admin:catalogue_track_import"), {"file": upload})
    assert response.status_code == 200
    assert "no external_id" in response.content.decode()
    assert Track.objects.count() == 0


def test_non_staff_is_sent_to_login(client: Client) -> None:
    client.force_login(UserFactory.create())
    url = reverse("admin:catalogue_track_import")
    response = client.post(url, {"file": SimpleUploadedFile("u.csv", UPLOAD)})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    assert Track.objects.count() == 0


def test_staff_without_track_permissions_is_refused(client: Client) -> None:
    client.force_login(UserFactory.create(is_staff=True))
    assert client.get(reverse("admin:catalogue_track_import")).status_code == 403


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
