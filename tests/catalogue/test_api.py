"""The read-only tracks API: filters, search, ordering."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.factories import TrackFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.catalogue.urls")]


@pytest.fixture
def api(client: Client) -> Client:
    client.force_login(UserFactory.create())
    TrackFactory.create(
        title="Rain Song",
        artist="Quiet Band",
        genre="folk",
        tags=["rainy"],
        valence=0.2,
        energy=0.1,
        spotify_id="6f807x0ima9a1j3VPbc7VN",
    )
    make = TrackFactory.create
    make(title="Party", artist="Loud Band", genre="pop", tags=["dance"], valence=0.9, energy=0.95)
    make(title="Unknown Energy", artist="Someone", genre="Pop", tags=[], valence=0.6, energy=None)
    TrackFactory.create(title="Hidden", artist="Gone", genre="pop", is_active=False)
    return client


def titles(client: Client, **params: str) -> list[str]:
    response = client.get("/api/tracks/", params)
    assert response.status_code == 200, response.content
    return [item["title"] for item in response.json()["results"]]


def test_a_track_with_audio_says_where_to_play_it(api: Client) -> None:
    from django.core.files.base import ContentFile

    from catalogue.models import Track

    track = Track.objects.get(title="Party")
    track.audio.save("party.wav", ContentFile(b"RIFF"))
    results = {r["title"]: r for r in api.get("/api/tracks/").json()["results"]}
    assert results["Party"]["audio_url"] == f"http://testserver/tracks/{track.pk}/audio/"
    assert results["Rain Song"]["audio_url"] is None
    assert results["Party"]["provenance"] == "import"


def test_lists_active_tracks_with_links(api: Client) -> None:
    results = api.get("/api/tracks/").json()["results"]
    assert {r["title"] for r in results} == {"Rain Song", "Party", "Unknown Energy"}
    rain = next(r for r in results if r["title"] == "Rain Song")
    assert rain["links"] == {"Spotify": "https://open.spotify.com/track/6f807x0ima9a1j3VPbc7VN"}


def test_filters(api: Client) -> None:
    assert sorted(titles(api, genre="pop")) == ["Party", "Unknown Energy"]
    assert titles(api, q="rainy") == ["Rain Song"]
    assert titles(api, q="loud party") == ["Party"]
    assert titles(api, q="band") == ["Party", "Rain Song"]  # default ordering: artist, title
    assert titles(api, energy_min="0.5") == ["Party"]
    assert titles(api, energy_max="0.5") == ["Rain Song"]
    assert sorted(titles(api, valence_min="0.5", valence_max="0.7")) == ["Unknown Energy"]


def test_ordering(api: Client) -> None:
    assert titles(api, ordering="-valence") == ["Party", "Unknown Energy", "Rain Song"]
    assert titles(api, ordering="title") == ["Party", "Rain Song", "Unknown Energy"]


def test_bad_range_value_is_a_400(api: Client) -> None:
    response = api.get("/api/tracks/", {"energy_min": "loud"})
    assert response.status_code == 400
    assert "energy_min" in response.json()


def test_anonymous_users_are_refused(client: Client) -> None:
    assert client.get("/api/tracks/").status_code in (401, 403)


@pytest.mark.django_db
def test_a_track_without_ids_gets_search_links() -> None:
    from catalogue.models import Track

    track = Track.objects.create(external_id="x1", title="Clair de Lune", artist="Claude Debussy")
    links = track.links()
    assert (
        links["Search YouTube"] == "https://www.youtube.com/results?search_query=Claude+Debussy+Clair+de+Lune"
    )
    assert "Clair+de+Lune" in links["Find on MusicBrainz"]


def test_language_is_shown_and_filtered(api: Client) -> None:
    from catalogue.models import Track

    Track.objects.filter(title="Party").update(language="es")
    Track.objects.filter(title="Rain Song").update(language="ES")
    results = {r["title"]: r for r in api.get("/api/tracks/").json()["results"]}
    assert results["Party"]["language"] == "es" and results["Unknown Energy"]["language"] == ""
    assert sorted(titles(api, language="es")) == ["Party", "Rain Song"]  # case-insensitive
    assert titles(api, language=" es ", genre="pop") == ["Party"]
    assert titles(api, language="pt-BR") == []
    assert titles(api, ordering="-language")[:2] != ["Unknown Energy"]


@pytest.mark.parametrize("value", ["", "   ", "x" * 36, "en\tes"])
def test_a_bad_language_is_a_400(api: Client, value: str) -> None:
    response = api.get("/api/tracks/", {"language": value})
    assert response.status_code == 400
    assert "language" in response.json()


def test_the_schema_documents_the_language_filter_and_its_400() -> None:
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    operation = schema["paths"]["/api/tracks/"]["get"]
    assert "language" in {p["name"] for p in operation["parameters"]}
    assert "400" in operation["responses"]
    track = schema["components"]["schemas"]["Track"]["properties"]
    assert "language" in track
