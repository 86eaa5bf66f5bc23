"""The results page and the pages around it, as people see them (issue 10: bugs 3, 4, 5, 9, 10)."""

from __future__ import annotations

import re

import pytest
from django.core.files.base import ContentFile
from django.test import Client

from catalogue.models import Track
from inference import adapter
from photos.models import Feedback, Run, RunItem
from photos.services import execution, results
from recommender.describe import STRATEGY_LABELS, describe_photo, describe_photo_mood, describe_track_mood
from tests.factories import PhotoFactory, RunFactory, TrackFactory, UserFactory, jpeg_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_index() -> None:
    adapter.reset()


@pytest.fixture
def catalogue() -> list[Track]:
    return [
        TrackFactory.create(artist=f"Artist {n % 20}", valence=(n % 10) / 9, arousal=((n * 7) % 10) / 9)
        for n in range(60)
    ]


def done_run(user, *, top_k: int, colour=(240, 180, 60), size=(120, 90)) -> Run:
    photo = PhotoFactory.create(owner=user, image=ContentFile(jpeg_bytes(colour, size), name="p.jpg"))
    run = RunFactory.create(photo=photo, top_k=top_k)
    execution.execute(run.pk, worker="test")
    run.refresh_from_db()
    assert run.status == Run.Status.DONE, run.error
    return run


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_results_show_numbered_tracks_with_one_plain_reason_and_details(catalogue) -> None:
    user = UserFactory.create()
    run = done_run(user, top_k=25)
    html = logged_in(user).get(f"/runs/{run.pk}/").content.decode()
    tracks = re.findall(r'<li id="item-\d+" class="track">(.*?)</li>\s*(?=<li id|</ol>)', html, re.S)
    assert len(tracks) == results.page_size() == 10
    ranks = [int(r) for r in re.findall(r'<span class="rank" aria-hidden="true">(\d+)</span>', html)]
    assert ranks == list(range(1, 11))
    for track in tracks:
        assert len(re.findall(r'data-testid="reason"', track)) == 1
        assert '<details class="why">' in track
    # The scores are labelled in words, never with the engine's internal names.
    for internal in ("va_match", "feature_prediction", "joint_embedding"):
        assert f"<span>{internal}</span>" not in html
    assert f"<span>{STRATEGY_LABELS['va_match']}</span>" in html
    # The photo is shown no larger than it is stored.
    assert 'width="120" height="90"' in html


def test_more_shows_the_next_stored_tracks_then_offers_a_longer_run(catalogue) -> None:
    user = UserFactory.create()
    run = done_run(user, top_k=15)
    client = logged_in(user)
    first = client.get(f"/runs/{run.pk}/").content.decode()
    assert 'href="?show=15#item-' in first and "5 more" in first
    second = client.get(f"/runs/{run.pk}/?show=15").content.decode()
    assert second.count('class="track"') == 15
    assert "Find more tracks" in second  # everything stored is shown: a longer run is offered
    response = client.post(f"/runs/{run.pk}/again/", {"mode": run.mode, "more": "1"})
    longer = Run.objects.exclude(pk=run.pk).get()
    assert longer.top_k == 15 + results.web_top_k()
    assert response["Location"] == f"/runs/{longer.pk}/?show=25"
    assert client.get(f"/runs/{run.pk}/?show=banana").status_code == 200


def test_upload_from_the_page_stores_three_pages(catalogue, settings) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    user = UserFactory.create()
    logged_in(user).post("/", {"image": SimpleUploadedFile("p.jpg", jpeg_bytes()), "mode": "match"})
    assert Run.objects.get().top_k == 3 * settings.RECOMMEND_TOP_K


def test_one_vocabulary_for_the_heading_and_the_reasons(catalogue) -> None:
    # A photo-scale arousal of 0.40 is calm (about one Emotion6 sd below the mean) but mid-range in raw
    # terms: the heading and the photo reason must agree on it.
    assert describe_photo_mood(0.3, 0.40) == "sad and quiet"
    assert describe_photo(_analysis(0.3, 0.40)).startswith("sad and quiet photo")
    # A track sits on the catalogue's scale: average arousal there is neither quiet nor energetic.
    assert describe_track_mood(0.5, 0.71, (0.71, 0.11)) == "neutral"
    assert describe_track_mood(0.5, 0.95, (0.71, 0.11)) == "energetic"
    user = UserFactory.create()
    run = done_run(user, top_k=5, colour=(20, 30, 60))
    assert run.valence is not None and run.arousal is not None
    assert run.mood_summary == describe_photo_mood(run.valence, run.arousal)
    first = run.items.first()
    assert first is not None and first.reasons[0].startswith(run.mood_summary + " photo")
    html = logged_in(user).get(f"/runs/{run.pk}/").content.decode()
    assert f"{run.mood_summary.capitalize()} photo</h1>" in html
    for reason in re.findall(r'data-testid="reason">(.*?)</p>', html):
        assert run.mood_summary in reason


def _analysis(valence: float, arousal: float):
    import numpy as np

    return adapter.PhotoAnalysis(valence, arousal, {"joy": 1.0}, np.zeros(4), {}, [])


def test_emotion_bars_are_coloured_by_emotion_and_labelled(catalogue) -> None:
    user = UserFactory.create()
    run = done_run(user, top_k=3)
    html = logged_in(user).get(f"/runs/{run.pk}/").content.decode()
    top = max(run.emotions, key=run.emotions.get)
    colour = results.EMOTION_COLOURS[top]
    bar = rf'aria-label="{top} \d+%"><span class="fill" style="width: \d+%; background: {colour}"'
    assert re.search(bar, html)
    assert len(set(results.EMOTION_COLOURS.values())) == len(results.EMOTION_COLOURS)


def test_a_track_with_audio_gets_a_player(catalogue) -> None:
    user = UserFactory.create()
    run = done_run(user, top_k=3)
    item = run.items.get(rank=2)
    Track.objects.filter(pk=item.track_id).update(audio="audio/x.wav")
    html = logged_in(user).get(f"/runs/{run.pk}/").content.decode()
    assert html.count('data-testid="player"') == 1
    assert f'src="/tracks/{item.track_id}/audio/"' in html


def test_a_rating_can_be_undone(catalogue) -> None:
    user = UserFactory.create()
    run = done_run(user, top_k=3)
    item = run.items.get(rank=1)
    client = logged_in(user)
    client.post(f"/items/{item.pk}/rate/", {"rating": "1"})
    html = client.get(f"/runs/{run.pk}/").content.decode()
    # The chosen button now undoes the rating.
    assert 'name="clear" value="1" data-rating="1" class="up chosen"' in html
    answer = client.post(f"/items/{item.pk}/rate/", {"clear": "1"}, HTTP_ACCEPT="application/json")
    assert answer.json() == {"item": item.pk, "rating": None}
    assert not Feedback.objects.exists()
    assert RunItem.objects.filter(pk=item.pk).exists()  # the result itself is kept


def test_home_lists_recent_photos_once_each_linking_to_their_latest_run(catalogue) -> None:
    user = UserFactory.create()
    run = done_run(user, top_k=3)
    again = [RunFactory.create(photo=run.photo, status="done", mood_summary="calm") for _ in range(2)]
    html = logged_in(user).get("/").content.decode()
    recent = html[html.index('data-testid="recent"') :]
    assert recent.count(f"/photos/{run.photo_id}/image/") == 1
    assert f'href="/runs/{again[-1].pk}/"' in recent


def test_favicon_and_private_photo_caching(client) -> None:
    icon = client.get("/favicon.ico")
    assert icon.status_code == 301 and icon["Location"].endswith("favicon.svg")
    user = UserFactory.create()
    photo = PhotoFactory.create(owner=user)
    image = logged_in(user).get(f"/photos/{photo.pk}/image/")
    control = image["Cache-Control"]
    assert "private" in control
    max_age = re.search(r"max-age=(\d+)", control)
    assert "no-store" in control or (max_age is not None and int(max_age.group(1)) <= 300)


def test_visitors_land_on_a_page_that_says_what_photophone_does(client) -> None:
    response = client.get("/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Music for a photo" in html and "A sample result" in html
    assert 'href="/accounts/signup/"' in html and 'href="/accounts/login/"' in html
    assert html.count('class="track"') == 3
    # Uploading still needs an account.
    post = client.post("/", {})
    assert post.status_code == 302 and post["Location"].startswith("/accounts/login/")


def test_photos_for_a_track_are_links_to_their_results(catalogue) -> None:
    user = UserFactory.create()
    run = done_run(user, top_k=3)
    html = logged_in(user).get(f"/tracks/{catalogue[0].pk}/photos/").content.decode()
    assert f'<a href="/runs/{run.pk}/"><img src="/photos/{run.photo_id}/image/"' in html
