"""Bulk edit in the admin: a confirmation form first, then genre, language, tags and active flag for the
selected tracks only, moving the catalogue version."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from catalogue.models import CatalogueVersion, Track
from catalogue.services.bulk_edit import BulkEdit, apply, edited_tags
from tests.factories import TrackFactory

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.catalogue.urls")]
URL = "admin:catalogue_track_changelist"


def _post(client: Client, ids: list[int], **fields: str) -> str:
    data = {"action": "bulk_edit", "_selected_action": ids, **fields}
    return client.post(reverse(URL), data, follow=True).content.decode()


def test_edited_tags_removes_case_insensitively_and_adds_once() -> None:
    edit = BulkEdit(add_tags=["Night", "rain"], remove_tags=["CHILL"])
    assert edited_tags(["chill", "night", "sun"], edit) == ["night", "sun", "rain"]


def test_the_action_asks_first_and_changes_nothing(staff_client: Client) -> None:
    track = TrackFactory.create(genre="rock")
    version = CatalogueVersion.current()
    page = _post(staff_client, [track.pk])
    assert 'id="bulk-edit-form"' in page and "Apply to 1 track" in page
    assert Track.objects.get(pk=track.pk).genre == "rock"
    assert CatalogueVersion.current() == version


def test_apply_edits_only_the_selected_tracks_and_moves_the_version(staff_client: Client) -> None:
    chosen = [
        TrackFactory.create(genre="rock", tags=["chill", "sun"], language=""),
        TrackFactory.create(genre="pop", tags=[], language="en"),
    ]
    other = TrackFactory.create(genre="rock", tags=["chill"], language="fr")
    version = CatalogueVersion.current()
    page = _post(
        staff_client,
        [t.pk for t in chosen],
        apply="1",
        genre="jazz",
        language="pt-BR",
        add_tags="night, Rain",
        remove_tags="CHILL",
        is_active="0",
    )
    assert "2 of 2 selected track(s) changed." in page
    for track in chosen:
        track.refresh_from_db()
        assert (track.genre, track.language, track.is_active) == ("jazz", "pt-BR", False)
        assert "chill" not in track.tags and track.tags[-2:] == ["night", "Rain"]
    other.refresh_from_db()
    assert (other.genre, other.language, other.tags, other.is_active) == ("rock", "fr", ["chill"], True)
    assert CatalogueVersion.current() != version


def test_empty_and_contradictory_forms_are_refused(staff_client: Client) -> None:
    track = TrackFactory.create(genre="rock", language="en")
    version = CatalogueVersion.current()
    page = _post(staff_client, [track.pk], apply="1")
    assert "Nothing to change" in page
    page = _post(staff_client, [track.pk], apply="1", genre="jazz", clear_genre="on", language="x" * 36)
    assert "Either set the genre or clear it" in page and "at most 35 characters" in page
    track.refresh_from_db()
    assert (track.genre, track.language) == ("rock", "en")
    assert CatalogueVersion.current() == version


def test_clearing_and_a_no_op_edit() -> None:
    track = TrackFactory.create(genre="rock", language="en", is_active=True)
    assert apply(Track.objects.filter(pk=track.pk), BulkEdit(genre="", language="")) == 1
    track.refresh_from_db()
    assert (track.genre, track.language) == ("", "")
    version = CatalogueVersion.current()
    assert apply(Track.objects.filter(pk=track.pk), BulkEdit(is_active=True, remove_tags=["none"])) == 0
    assert CatalogueVersion.current() == version
