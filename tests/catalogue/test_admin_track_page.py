"""The admin's track page: the audio through the signed-in audio view, tags as words."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import reverse

from tests.factories import TrackFactory, wav_bytes

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.catalogue.urls")]


def test_the_audio_link_plays_and_is_not_a_media_url(staff_client: Client) -> None:
    track = TrackFactory.create()
    track.audio.save("beat.wav", ContentFile(wav_bytes(seconds=3.5)))
    page = staff_client.get(reverse("admin:catalogue_track_change", args=[track.pk])).content.decode()
    link = reverse("catalogue:track_audio", args=[track.pk])
    assert f'href="{link}"' in page
    assert "/media/" not in page
    assert staff_client.get(link).status_code == 200


def test_tags_are_shown_and_edited_as_comma_separated_words(staff_client: Client) -> None:
    untagged = TrackFactory.create(tags=[])
    page = staff_client.get(reverse("admin:catalogue_track_change", args=[untagged.pk])).content.decode()
    assert 'name="tags" value="[]"' not in page and "[]" not in page.split('name="tags"')[1][:80]
    tagged = TrackFactory.create(tags=["chill", "night drive"])
    page = staff_client.get(reverse("admin:catalogue_track_change", args=[tagged.pk])).content.decode()
    assert 'value="chill, night drive"' in page


def test_saving_the_page_stores_the_tags_as_a_list_and_keeps_every_other_field(staff_client: Client) -> None:
    from django.forms.models import model_to_dict

    track = TrackFactory.create(tags=["old"], title="Kept", artist="Also kept")
    data = model_to_dict(track, exclude=["id", "audio", "audio_embedding"])
    data = {key: ("" if value is None else value) for key, value in data.items()}
    data.update(tags=" chill , Night, night,  ,", is_active="on")
    response = staff_client.post(reverse("admin:catalogue_track_change", args=[track.pk]), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    track.refresh_from_db()
    assert track.tags == ["chill", "Night"]
    assert (track.title, track.artist) == ("Kept", "Also kept")
