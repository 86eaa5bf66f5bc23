"""The upload form's "Options" (issue 10): filters and a chosen mood apply to the first run; bad values are a
clear form error and the photo is kept, so fixing them never means choosing the photo again."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from inference import adapter
from photos.models import Photo, Run
from photos.services import execution
from photos.services.results import mood_from_map
from tests.factories import PhotoFactory, TrackFactory, UserFactory, jpeg_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalogue() -> None:
    adapter.reset()
    for n in range(60):
        TrackFactory.create(
            artist=f"Artist {n % 20}",
            genre=("rock", "jazz", "soul")[n % 3],
            valence=(n % 10) / 9,
            arousal=((n * 7) % 10) / 9,
            energy=((n * 3) % 10) / 9,
            tempo=70 + (n * 13) % 100,
            year=1960 + (n * 7) % 60,
            language="es" if n % 4 == 0 else "en",
        )


@pytest.fixture
def client() -> Client:
    client = Client()
    client.force_login(UserFactory.create())
    return client


def photo_file() -> SimpleUploadedFile:
    return SimpleUploadedFile("p.jpg", jpeg_bytes((200, 90, 40), (160, 120)))


def test_the_upload_form_offers_the_options_collapsed(client, catalogue) -> None:
    page = client.get("/").content.decode()
    assert '<details class="filters options" id="options">' in page  # closed until used
    for name in ("genres", "energy_min", "energy_max", "tempo_min", "tempo_max", "decade", "language"):
        assert f'name="{name}"' in page, name
    assert 'value="jazz"' in page and ">1990s<" in page and 'value="es"' in page  # from the catalogue
    assert 'name="use_mood"' in page and 'name="valence"' in page and 'name="arousal"' in page


def test_filters_and_mood_on_the_upload_form_apply_to_the_first_run(client, catalogue) -> None:
    form = {
        "image": photo_file(),
        "mode": "match",
        "genres": ["jazz", "soul"],
        "energy_min": "0.2",
        "tempo_max": "150",
        "language": "en",
        "use_mood": "on",
        "valence": "0.9",
        "arousal": "0.2",
    }
    response = client.post("/", form)
    run = Run.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/runs/{run.pk}/"
    assert run.filters == {
        "genres": ["jazz", "soul"],
        "energy_min": 0.2,
        "tempo_max": 150.0,
        "language": "en",
    }
    assert run.chosen_mood == pytest.approx(mood_from_map(0.9, 0.2))
    execution.execute(run.pk, worker="test")
    run.refresh_from_db()
    assert run.status == Run.Status.DONE and run.items.exists()
    for item in run.items.select_related("track"):
        track = item.track
        assert track.genre in ("jazz", "soul") and track.language == "en"
        assert (track.energy or 0) >= 0.2 and (track.tempo or 0) <= 150
    html = client.get(f"/runs/{run.pk}/").content.decode()
    assert "Only jazz or soul" in html and "Matched to the mood you chose" in html


def test_without_options_the_run_has_none(client, catalogue) -> None:
    client.post("/", {"image": photo_file(), "mode": "match", "valence": "0.9", "arousal": "0.1"})
    run = Run.objects.get()
    assert run.filters == {} and run.chosen_mood is None  # sliders alone do not choose a mood


BAD_OPTIONS: dict[str, tuple[dict[str, Any], str]] = {
    "energy out of range": (
        {"energy_max": "3"},
        "Highest energy: Ensure this value is less than or equal to",
    ),
    "lowest above highest": (
        {"tempo_min": "150", "tempo_max": "90"},
        "the lowest tempo is above the highest",
    ),
    "not a number": ({"energy_min": "loud"}, "Enter a number"),
    "a genre the catalogue lacks": ({"genres": ["polka"]}, "Select a valid choice"),
    "a decade the catalogue lacks": ({"decade": "1850"}, "Select a valid choice"),
    "a mood with one slider": ({"use_mood": "on", "valence": "0.4"}, "set both sliders"),
    "a mood off the scale": ({"use_mood": "on", "valence": "2", "arousal": "0.5"}, "less than or equal to 1"),
    "a mood that is not a number": ({"use_mood": "on", "valence": "nan", "arousal": "0.5"}, "Enter a number"),
}


@pytest.mark.parametrize("case", BAD_OPTIONS, ids=list(BAD_OPTIONS))
def test_bad_options_are_a_form_error_and_the_photo_is_kept(client, catalogue, case) -> None:
    bad, message = BAD_OPTIONS[case]
    response = client.post("/", {"image": photo_file(), "mode": "lift", "context": "rainy day", **bad})
    assert response.status_code == 400
    page = response.content.decode()
    assert message in page and 'data-testid="options-error"' in page
    assert '<details class="filters options" id="options" open>' in page
    assert not Run.objects.exists()
    photo = Photo.objects.get()  # stored: not lost
    assert f'name="kept" value="{photo.pk}"' in page and "Your photo is saved" in page
    assert 'value="rainy day"' in page  # what was typed stays too
    # Fixed, and sent again without choosing the photo again: the run is for the kept photo.
    response = client.post(
        "/", {"kept": str(photo.pk), "mode": "lift", "context": "rainy day", "genres": ["rock"]}
    )
    run = Run.objects.get()
    assert response.status_code == 302 and run.photo == photo and run.mode == "lift"
    assert run.context == "rainy day" and run.filters == {"genres": ["rock"]}
    assert Photo.objects.count() == 1


def test_bad_options_and_a_bad_photo_say_both_and_store_nothing(client, catalogue) -> None:
    response = client.post(
        "/", {"image": SimpleUploadedFile("x.jpg", b"not an image"), "mode": "match", "energy_min": "9"}
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert "not an image we can read" in page and 'data-testid="options-error"' in page
    assert not Photo.objects.exists() and not Run.objects.exists()


@pytest.mark.parametrize("kept", ["someone else's", "abc", "-1", "99999999999999999999", "١٢"])
def test_a_kept_photo_must_be_yours(client, catalogue, kept) -> None:
    someone_elses = PhotoFactory.create(owner=UserFactory.create())
    value = str(someone_elses.pk) if kept == "someone else's" else kept
    response = client.post("/", {"kept": value, "mode": "match"})
    assert response.status_code == 400
    assert "no longer there" in response.content.decode()
    assert not Run.objects.exists()


def test_no_photo_at_all_is_a_clear_error(client) -> None:
    response = client.post("/", {"mode": "match"})
    assert response.status_code == 400 and "Choose a photo first" in response.content.decode()
