"""The engine index's status in the admin (read from ENGINE_INDEX_DIR) and its rebuild task."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from catalogue.services import index
from catalogue.tasks import rebuild_index
from config.celery import app
from inference import adapter
from recommender.pipeline import Engine
from recommender.strategies import VAMatch
from tests.factories import TrackFactory
from tests.recommender.helpers import mood_only_config
from tests.worker import point_celery_at

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.catalogue.urls")]


@pytest.fixture
def small_engine(monkeypatch: pytest.MonkeyPatch, settings, tmp_path: Path) -> Iterator[Path]:
    """A mood-only engine (no models to load) writing its index under a fresh ENGINE_INDEX_DIR."""
    settings.ENGINE_INDEX_DIR = tmp_path / "index"
    engine = Engine(mood_only_config(), strategies=[VAMatch()])
    adapter.reset()
    monkeypatch.setattr(adapter, "engine", lambda: engine)
    yield settings.ENGINE_INDEX_DIR
    adapter.forget_index()


def test_status_follows_the_catalogue_version(small_engine: Path) -> None:
    TrackFactory.create(valence=0.2, arousal=0.7)
    assert index.status().built == [] and not index.status().up_to_date
    version = rebuild_index()  # the task's body, run here
    status = index.status()
    assert status.built == [version] and status.up_to_date and status.state == "up to date"
    assert version.startswith(status.catalogue_version + "-")
    TrackFactory.create(valence=0.9, arousal=0.1)  # a catalogue change: the index is now behind
    status = index.status()
    assert not status.up_to_date and status.built == [version] and status.state.startswith("not built")


def test_a_held_build_lock_shows_as_being_built(small_engine: Path) -> None:
    TrackFactory.create(valence=0.2, arousal=0.7)
    building = adapter.index_version(index.status().catalogue_version)
    small_engine.mkdir(parents=True)
    with open(small_engine / f".build-{building}.lock", "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        status = index.status()
        assert status.building == [building] and status.state == "being built"
        fcntl.flock(lock, fcntl.LOCK_UN)
    assert index.status().building == []  # a lock file nobody holds is not a build


def test_admin_page_shows_the_status_and_queues_a_rebuild(
    small_engine: Path, staff_client: Client, tmp_path: Path
) -> None:
    broker = tmp_path / "broker"
    broker.mkdir()
    old_options = app.conf.broker_transport_options
    app.conf.broker_transport_options = {"data_folder_in": str(broker), "data_folder_out": str(broker)}
    old = point_celery_at("filesystem://")  # a broker of this test's own, in a folder
    try:
        TrackFactory.create(valence=0.2, arousal=0.7)
        url = reverse("admin:catalogue_track_index")
        assert url in staff_client.get(reverse("admin:catalogue_track_changelist")).content.decode()
        page = staff_client.get(url).content.decode()
        assert index.status().catalogue_version in page and "not built" in page
        page = staff_client.post(url, follow=True).content.decode()
        assert "Index rebuild queued" in page
        assert any(index.REBUILD_TASK.encode() in f.read_bytes() for f in broker.iterdir())
    finally:
        app.conf.broker_transport_options = old_options
        point_celery_at(old)
    rebuild_index()
    assert 'id="index-state">up to date' in staff_client.get(url).content.decode()


def test_index_page_needs_staff(client: Client) -> None:
    response = client.post(reverse("admin:catalogue_track_index"))
    assert response.status_code == 302 and "login" in response["Location"]
