"""The manual mood override (issue 10): a mood chosen on the map or through the API re-ranks the tracks."""

from __future__ import annotations

import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.test import Client
from rest_framework.test import APIClient

from catalogue.models import Track
from inference import adapter
from photos.models import Run
from photos.services import execution, results, runs
from recommender.describe import photo_arousal_for_words
from tests.factories import PhotoFactory, RunFactory, TrackFactory, UserFactory, jpeg_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_index() -> None:
    adapter.reset()


@pytest.fixture
def catalogue() -> None:
    for n in range(80):
        TrackFactory.create(artist=f"Artist {n % 25}", valence=(n % 10) / 9, arousal=((n * 7) % 10) / 9)


def finished(run: Run) -> Run:
    execution.execute(run.pk, worker="test")
    run.refresh_from_db()
    assert run.status == Run.Status.DONE, run.error
    return run


def mean_track_mood(run: Run) -> np.ndarray:
    ids = list(run.items.values_list("track_id", flat=True))
    return np.array(Track.objects.filter(pk__in=ids).values_list("valence", "arousal")).mean(axis=0)


def test_a_chosen_mood_reranks_toward_it_and_says_so(catalogue) -> None:
    user = UserFactory.create()
    photo = PhotoFactory.create(owner=user, image=ContentFile(jpeg_bytes((240, 200, 90)), name="p.jpg"))
    own = finished(runs.create_run(photo, user, top_k=10))
    # The darkest, quietest corner the map allows, on the photo's scale.
    chosen = finished(runs.create_run(photo, user, top_k=10, mood=results.mood_from_map(0.05, 0.05)))
    assert chosen.chosen_mood is not None and chosen.chosen_mood[0] == pytest.approx(0.05)
    own_mood, chosen_mood = mean_track_mood(own), mean_track_mood(chosen)
    assert chosen_mood[0] < own_mood[0] - 0.15 and chosen_mood[1] < own_mood[1]
    first = chosen.items.first()
    assert first is not None and first.reasons[0].startswith("the mood you chose: sad and quiet")
    # The photo's own mood is still what the run says about the photo.
    assert chosen.valence == pytest.approx(own.valence) and chosen.mood_summary == own.mood_summary
    page = Client()
    page.force_login(user)
    html = page.get(f"/runs/{chosen.pk}/").content.decode()
    assert "Matched to the mood you chose: sad and quiet" in html
    assert 'data-testid="photo-dot"' in html and "the sad and quiet mood you chose" in html


def test_a_chosen_mood_outside_0_1_is_refused_and_nothing_is_stored() -> None:
    run = RunFactory.create()
    with pytest.raises(ValueError, match="between 0 and 1"):
        runs.create_run(run.photo, run.user, mood=(1.5, 0.5))
    with pytest.raises(ValueError):
        runs.create_run(run.photo, run.user, mood=(float("nan"), 0.5))
    assert Run.objects.count() == 1
    with pytest.raises(IntegrityError), transaction.atomic():  # and the database refuses half a mood
        Run.objects.create(photo=run.photo, user=run.user, chosen_valence=0.3)


def test_the_map_posts_a_mood_on_its_own_scale(catalogue) -> None:
    user = UserFactory.create()
    run = RunFactory.create(
        user=user, photo=PhotoFactory.create(owner=user), status="done", valence=0.6, arousal=0.5
    )
    client = Client()
    client.force_login(user)
    response = client.post(f"/runs/{run.pk}/again/", {"mode": "match", "valence": "0.8", "arousal": "0.9"})
    new = Run.objects.exclude(pk=run.pk).get()
    assert response["Location"] == f"/runs/{new.pk}/"
    assert new.chosen_valence == pytest.approx(0.8)
    assert photo_arousal_for_words(new.chosen_arousal or 0) == pytest.approx(0.9)  # the map's scale, back
    for bad in ({"valence": "x", "arousal": "0.5"}, {"valence": "0.5"}, {"valence": "2", "arousal": "0.5"}):
        answer = client.post(f"/runs/{run.pk}/again/", {"mode": "match", **bad}, follow=True)
        assert "That mood was not understood" in answer.content.decode()
    assert Run.objects.count() == 2


def test_the_api_takes_a_chosen_mood(catalogue) -> None:
    user = UserFactory.create()
    photo = PhotoFactory.create(owner=user)
    api = APIClient()
    api.force_authenticate(user)
    created = api.post("/api/runs/", {"photo": photo.pk, "valence": 0.2, "arousal": 0.7}, format="json")
    assert created.status_code == 202, created.json()
    assert created.json()["chosen_mood"] == {"valence": 0.2, "arousal": 0.7}
    run = Run.objects.get()
    assert run.chosen_mood == (0.2, 0.7)
    finished(run)
    detail = api.get(f"/api/runs/{run.pk}/").json()
    assert detail["items"][0]["reasons"][0].startswith("the mood you chose:")
    half = api.post("/api/runs/", {"photo": photo.pk, "valence": 0.2}, format="json")
    assert half.status_code == 400 and "both valence and arousal" in str(half.json())
    out = api.post("/api/runs/", {"photo": photo.pk, "valence": 1.2, "arousal": 0.5}, format="json")
    assert out.status_code == 400 and "valence" in out.json()
    assert Run.objects.count() == 1
    plain = api.post("/api/runs/", {"photo": photo.pk}, format="json")
    assert plain.status_code == 202 and plain.json()["chosen_mood"] is None
