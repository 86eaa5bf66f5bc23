"""The admin's index rebuild, end to end: the web process queues it, a real worker (default queue) builds
the index under ENGINE_INDEX_DIR, and the status page then says it is up to date."""

from __future__ import annotations

import time

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from catalogue.services import index
from tests.factories import UserFactory
from tests.worker import Worker

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_rebuild_from_the_admin_runs_on_a_real_worker(broker, catalogue, settings, tmp_path) -> None:
    settings.ENGINE_INDEX_DIR = tmp_path / "index"
    user = UserFactory.create(is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=["view_track", "change_track"]))
    client = Client()
    client.force_login(user)
    url = reverse("admin:catalogue_track_index")
    assert 'id="index-state">not built' in client.get(url).content.decode()

    worker = Worker(broker, tmp_path / "worker.log", PHOTOPHONE_PRELOAD="0")
    try:
        worker.wait_ready()
        assert "Index rebuild queued" in client.post(url, follow=True).content.decode()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not index.status().up_to_date:
            time.sleep(0.2)
    finally:
        worker.stop()
    assert index.status().up_to_date, (tmp_path / "worker.log").read_text(errors="replace")[-3000:]
    assert 'id="index-state">up to date' in client.get(url).content.decode()
