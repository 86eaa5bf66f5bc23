"""Filters on a run (issue 10): genres, energy and tempo ranges, decade, language; in the page, the API,
the engine and the importer."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from django.test import Client
from rest_framework.test import APIClient

from catalogue.importer import import_tracks
from catalogue.models import Track
from inference import adapter
from photos.models import Run
from photos.services import execution, filters, runs
from recommender.pipeline import Engine
from recommender.types import TrackFilter, TrackRow
from tests.factories import PhotoFactory, RunFactory, TrackFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_index() -> None:
    adapter.reset()


@pytest.fixture
def catalogue() -> None:
    genres = ["rock", "jazz", "pop", "soul"]
    for n in range(120):
        TrackFactory.create(
            artist=f"Artist {n % 40}",
            genre=genres[n % 4],
            valence=(n % 10) / 9,
            arousal=((n * 7) % 10) / 9,
            energy=((n * 3) % 10) / 9,
            tempo=70 + (n * 13) % 100,
            year=1960 + (n * 7) % 60,
            language="es" if n % 5 == 0 else "en",
        )


def test_the_importer_reads_an_optional_language_column(tmp_path: Path) -> None:
    path = tmp_path / "tracks.csv"
    path.write_text("id,title,artist,language\nt1,Uno,Banda,es\nt2,Two,Band,\n", encoding="utf-8")
    report = import_tracks(path)
    assert (report.created, report.rejected) == (2, [])
    assert dict(Track.objects.values_list("external_id", "language")) == {"t1": "es", "t2": ""}
    # A file without the column leaves the language as it was.
    path.write_text("id,title,artist\nt1,Uno (remaster),Banda\n", encoding="utf-8")
    import_tracks(path)
    assert Track.objects.get(external_id="t1").language == "es"
    too_long = tmp_path / "long.csv"
    too_long.write_text(f"id,title,artist,language\nt3,Tres,Banda,{'x' * 40}\n", encoding="utf-8")
    report = import_tracks(too_long)
    assert [(r.line, r.reason) for r in report.rejected] == [(2, "language is longer than 35 characters")]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"energy_min": 0.8, "energy_max": 0.2}, "the lowest energy is above the highest"),
        ({"tempo_min": 400}, "tempo must be between 0 and 300"),
        ({"energy_max": float("nan")}, "energy must be between 0 and 1"),
        ({"decade": 1995}, "a decade is written like 1990"),
    ],
)
def test_filters_that_make_no_sense_are_refused_and_no_run_is_made(raw, message) -> None:
    run = RunFactory.create()
    with pytest.raises(ValueError, match=message):
        runs.create_run(run.photo, run.user, filters=raw)
    assert Run.objects.count() == 1


def test_filters_in_words() -> None:
    words = filters.describe(
        {"genres": ["jazz", "soul"], "energy_min": 0.2, "tempo_max": 120, "decade": 1990, "language": "es"}
    )
    assert words == "jazz or soul; energy at least 0.2; at most 120 BPM; 1990s; language es"


def test_the_engine_ranks_only_allowed_tracks_and_widens_its_search_for_them() -> None:
    # 2,000 tracks; the three allowed ones sit in the far corner from the target, outside a 20-track pool.
    rows = [TrackRow(i, f"A{i}", "t", valence=0.9 + (i % 10) / 100, arousal=0.9) for i in range(2000)]
    rows += [TrackRow(9000 + i, f"B{i}", "t", valence=0.05, arousal=0.05 + i / 100) for i in range(3)]
    narrow = Engine(replace(adapter.engine_config(), candidate_pool=20))
    cat = narrow.build_catalogue(rows)
    photo = adapter.PhotoAnalysis(0.9, 0.6, {"joy": 1.0}, np.zeros(1280, np.float32), {}, [])
    only = TrackFilter(np.array([9000, 9001, 9002, 5]), "far away")
    ranked = narrow.recommend(photo, cat, top_k=10, only=only)
    assert sorted(r.track_id for r in ranked) == [5, 9000, 9001, 9002]
    assert "only tracks that pass your filters: far away" in ranked[0].reasons[0]
    assert (
        list(narrow.recommend(photo, cat, top_k=10, only=TrackFilter(np.array([], np.int64), "none"))) == []
    )


def test_a_filtered_run_through_the_api_keeps_to_its_filters_and_says_so(catalogue) -> None:
    user = UserFactory.create()
    photo = PhotoFactory.create(owner=user)
    api = APIClient()
    api.force_authenticate(user)
    body = {
        "photo": photo.pk,
        "genres": ["jazz", "soul"],
        "energy_min": 0.1,
        "tempo_max": 150,
        "language": "en",
    }
    created = api.post("/api/runs/", body, format="json")
    assert created.status_code == 202, created.json()
    run = Run.objects.get()
    assert run.filters == {
        "genres": ["jazz", "soul"],
        "energy_min": 0.1,
        "tempo_max": 150.0,
        "language": "en",
    }
    execution.execute(run.pk, worker="test")
    detail = api.get(f"/api/runs/{run.pk}/").json()
    assert detail["status"] == "done" and len(detail["items"]) == 10
    for item in detail["items"]:
        track = Track.objects.get(pk=item["track"]["id"])
        assert track.genre in ("jazz", "soul") and track.language == "en"
        assert (
            track.energy is not None
            and track.energy >= 0.1
            and track.tempo is not None
            and track.tempo <= 150
        )
        assert "only tracks that pass your filters: jazz or soul" in item["reasons"][0]
    bad = api.post("/api/runs/", {"photo": photo.pk, "energy_min": 0.9, "energy_max": 0.1}, format="json")
    assert bad.status_code == 400 and "the lowest energy is above the highest" in str(bad.json())
    assert Run.objects.count() == 1


def test_a_filter_that_leaves_nothing_says_so(catalogue) -> None:
    user = UserFactory.create()
    run = runs.create_run(PhotoFactory.create(owner=user), user, filters={"genres": ["polka"]})
    execution.execute(run.pk, worker="test")
    run.refresh_from_db()
    assert run.status == Run.Status.DONE and not run.items.exists()
    api = APIClient()
    api.force_authenticate(user)
    assert (
        api.get(f"/api/runs/{run.pk}/")
        .json()["message"]
        .startswith("No track in the catalogue passes your filters (polka)")
    )
    client = Client()
    client.force_login(user)
    html = client.get(f"/runs/{run.pk}/").content.decode()
    assert "No track in the catalogue passes your filters (polka)" in html


def test_the_filter_form_on_the_page_starts_a_filtered_run(catalogue) -> None:
    user = UserFactory.create()
    run = runs.create_run(PhotoFactory.create(owner=user), user, top_k=10)
    execution.execute(run.pk, worker="test")
    client = Client()
    client.force_login(user)
    page = client.get(f"/runs/{run.pk}/").content.decode()
    assert 'value="jazz"' in page and ">1990s<" in page and 'value="es"' in page  # choices from the catalogue
    form = {"mode": "match", "filters": "1", "genres": ["rock"], "decade": "1990", "language": "en"}
    response = client.post(f"/runs/{run.pk}/again/", form)
    new = Run.objects.exclude(pk=run.pk).get()
    assert response["Location"] == f"/runs/{new.pk}/"
    assert new.filters == {"genres": ["rock"], "decade": 1990, "language": "en"}
    execution.execute(new.pk, worker="test")
    html = client.get(f"/runs/{new.pk}/").content.decode()
    assert "Only rock; 1990s; language en" in html
    assert "within your filter: rock; 1990s; language en" in html
    for track in Track.objects.filter(pk__in=new.items.values_list("track_id", flat=True)):
        assert track.genre == "rock" and 1990 <= (track.year or 0) < 2000
    bad = client.post(
        f"/runs/{new.pk}/again/", {"mode": "match", "filters": "1", "genres": ["polka"]}, follow=True
    )
    assert "Those filters were not understood" in bad.content.decode()
    cleared = client.post(f"/runs/{new.pk}/again/", {"mode": "match", "filters": "1", "clear": "1"})
    assert Run.objects.get(pk=int(cleared["Location"].split("/")[2])).filters == {}


@pytest.mark.parametrize(
    "body",
    [
        {"genres": ["ja\x00zz"]},
        {"language": "\ud800"},
        {"genres": ["x"] * 21},
        {"decade": "nineties"},
        {"valence": "nan", "arousal": "0.5"},
    ],
)
def test_hostile_filter_and_mood_values_are_a_400_and_store_nothing(body) -> None:
    user = UserFactory.create()
    photo = PhotoFactory.create(owner=user)
    api = APIClient()
    api.force_authenticate(user)
    raw = json.dumps({"photo": photo.pk, **body})  # ASCII-escaped, so a lone surrogate can be sent
    answer = api.post("/api/runs/", raw, content_type="application/json")
    assert answer.status_code == 400, answer.content
    assert not Run.objects.exists()
