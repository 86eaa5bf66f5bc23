"""`manage.py recommend`, `manage.py soundtrack` and the web soundtrack serve the registry's active
versions, as the worker does (registry.serving.active): an activation changes what they use (the mood,
the reranker, its track corrections and, for a user's soundtrack, the user's own terms), a rollback
restores it (the commands' DESIGN.md section 5 output is unchanged)."""

from __future__ import annotations

import io
import json
import tempfile
from pathlib import Path

import numpy as np
import pytest
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from PIL import Image

from catalogue.models import Track
from playlists.models import Soundtrack
from playlists.services import soundtrack_runs
from recommender import user_terms
from recommender.reranker import BASE_FEATURES, Reranker
from recommender.track_moods import TrackMoods
from recommender.user_terms import PersonalSpec
from registry import services
from registry.models import ModelVersion, UserTerms
from tests.factories import PhotoFactory, TrackFactory, UserFactory, another_servable_mood, jpeg_bytes

pytestmark = pytest.mark.django_db
TRACK_EXTENSION = "https://photophone.app/jspf/track"


def reranker_version(
    name: str,
    engine_weight: float,
    personal: PersonalSpec | None = None,
    track_moods: TrackMoods | None = None,
) -> ModelVersion:
    """A candidate reranker in media storage that scores by engine_weight x the engine's score alone
    (-1: the engine's order reversed), with per-user terms and track corrections when given."""
    coef = np.zeros(len(BASE_FEATURES))
    coef[0] = engine_weight
    reranker = Reranker(
        name,
        "logistic",
        (),
        np.zeros(len(coef)),
        np.ones(len(coef)),
        coef,
        0.0,
        personal=personal,
        track_moods=track_moods,
    )
    prefix = f"registry/reranker/{name}"
    with tempfile.TemporaryDirectory() as tmp:
        files = reranker.save(Path(tmp))
        for file_name in files:
            with open(Path(tmp) / file_name, "rb") as handle:
                default_storage.save(f"{prefix}/{file_name}", File(handle))
    return ModelVersion.objects.create(kind="reranker", name=name, artifact=prefix, files=files)


@pytest.fixture
def image(tmp_path) -> str:
    path = tmp_path / "warm.jpg"
    Image.new("RGB", (96, 64), (240, 160, 40)).save(path)
    return str(path)


def recommend(image: str, top_k: int) -> tuple[dict, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("recommend", image, "--top-k", str(top_k), "--json", stdout=out, stderr=err)
    return json.loads(out.getvalue()), err.getvalue()


def titles(result: dict) -> list[str]:
    return [t["title"] for t in result["tracks"]]


def test_recommend_uses_the_active_reranker_and_a_rollback_restores_the_previous_one(image) -> None:
    for n in range(12):
        TrackFactory.create(title=f"T{n}", artist=f"A{n}", valence=n / 11, arousal=(11 - n) / 11)
    engine_order, said = recommend(image, 12)
    assert "no reranker" in said
    top5 = titles(recommend(image, 5)[0])
    assert top5 == titles(engine_order)[:5]

    reverse, same = reranker_version("reranker-reverse", -1.0), reranker_version("reranker-same", 1.0)
    services.activate(reverse.pk)
    reversed_result, said = recommend(image, 5)
    assert "reranker reranker-reverse" in said
    assert titles(reversed_result) == titles(engine_order)[::-1][:5]
    # The contract holds: the same keys, the engine's own scores, the engine's mood reading.
    assert reversed_result["mood"] == engine_order["mood"]
    assert set(reversed_result["tracks"][0]) == {"external_id", "title", "artist", "score", "reasons"}

    services.activate(same.pk)
    assert titles(recommend(image, 5)[0]) == top5
    assert services.roll_back("reranker") == reverse
    assert titles(recommend(image, 5)[0]) == titles(engine_order)[::-1][:5]
    services.deactivate("reranker")
    assert titles(recommend(image, 5)[0]) == top5


def test_recommend_and_soundtrack_read_photos_with_the_active_mood_version(image) -> None:
    for i in range(6):
        for j in range(6):
            TrackFactory.create(artist=f"G{i}-{j}", valence=i / 5, arousal=j / 5, energy=j / 5)
    served = ModelVersion.objects.get(kind="mood", status="active")
    other = another_servable_mood(served)

    def soundtrack() -> list[float]:
        out = io.StringIO()
        call_command("soundtrack", image, "--tracks", "3", "--format", "jspf", stdout=out)
        tracks = json.loads(out.getvalue())["playlist"]["track"]
        return [t["extension"][TRACK_EXTENSION]["score"] for t in tracks]

    before, said = recommend(image, 3)
    assert f"mood {served.name}" in said
    scores_before = soundtrack()
    services.activate(other.pk)
    after, said = recommend(image, 3)
    assert f"mood {other.name}" in said
    assert after["mood"] != before["mood"]
    assert soundtrack() != scores_before
    services.roll_back("mood")
    assert recommend(image, 3)[0]["mood"] == before["mood"]
    assert soundtrack() == scores_before


def soundtrack_command(image: str, tracks: int) -> list[dict]:
    out = io.StringIO()
    call_command("soundtrack", image, "--tracks", str(tracks), "--format", "jspf", stdout=out)
    return json.loads(out.getvalue())["playlist"]["track"]


def test_soundtrack_uses_the_active_reranker_and_a_rollback_restores_the_previous_one(image) -> None:
    # Small steps between neighbours in the engine's order (the sequence's step bounds never bind).
    for n in range(24):
        TrackFactory.create(title=f"T{n}", artist=f"A{n}", valence=n / 23, arousal=(23 - n) / 23)
    engine_order = titles(recommend(image, 24)[0])
    plain = soundtrack_command(image, 4)
    plain_titles = [t["title"] for t in plain]
    assert set(plain_titles) <= set(engine_order[:8])

    reverse, same = reranker_version("reranker-reverse", -1.0), reranker_version("reranker-same", 1.0)
    services.activate(reverse.pk)
    reversed_tracks = soundtrack_command(image, 4)
    # The reranker chose: the engine's worst fits now come first. The contract holds: the scores are fit
    # scores on the engine's scale, the same keys as before.
    assert set(t["title"] for t in reversed_tracks) <= set(engine_order[-8:])
    scores = [t["extension"][TRACK_EXTENSION]["score"] for t in reversed_tracks]
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert set(reversed_tracks[0]) == set(plain[0])

    services.activate(same.pk)
    assert [t["title"] for t in soundtrack_command(image, 4)] == plain_titles
    assert services.roll_back("reranker") == reverse
    assert [t["title"] for t in soundtrack_command(image, 4)] == [t["title"] for t in reversed_tracks]
    services.deactivate("reranker")
    assert [t["title"] for t in soundtrack_command(image, 4)] == plain_titles


@pytest.fixture
def grid() -> list[Track]:
    """81 tracks on a 9 x 9 valence/arousal grid, one artist each, energy and tempo following arousal."""
    return [
        TrackFactory.create(
            artist=f"G{i}-{j}", valence=i / 8, arousal=j / 8, energy=j / 8, tempo=80 + 80 * j / 8
        )
        for i in range(9)
        for j in range(9)
    ]


def users_soundtrack(owner, tracks: int = 6) -> Soundtrack:
    photo = PhotoFactory.create(owner=owner, image=ContentFile(jpeg_bytes((250, 200, 90), (96, 64)), "p.jpg"))
    soundtrack = soundtrack_runs.create(owner, [photo], n_tracks=tracks)
    soundtrack_runs.execute(soundtrack.pk, worker="test")
    soundtrack.refresh_from_db()
    assert soundtrack.status == "done", soundtrack.error
    return soundtrack


def chosen_valence(soundtrack: Soundtrack) -> float:
    assert soundtrack.playlist is not None
    ids = list(soundtrack.playlist.entries.values_list("track_id", flat=True))
    return float(np.mean([Track.objects.get(pk=pk).valence for pk in ids]))


def test_a_users_soundtrack_uses_their_own_terms_and_the_rerankers_track_corrections(grid) -> None:
    owner, other = UserFactory.create(), UserFactory.create()
    n = len(user_terms.FEATURES)
    spec = PersonalSpec(1.0, 0.0, np.zeros(n), np.ones(n), ridge=1.0)
    moved = grid[40]  # valence 0.5, arousal 0.5
    version = reranker_version(
        "reranker-personal", 1.0, personal=spec, track_moods=TrackMoods({moved.pk: (0.125, -0.125)})
    )
    # The owner's own terms: low-valence tracks, whatever the photo.
    weights = [0.0] * (n + 1)
    weights[1 + user_terms.FEATURES.index("track_valence")] = -20.0
    UserTerms.objects.create(version=version, user=owner, weights=weights, ratings=40)
    before = {u.pk: chosen_valence(users_soundtrack(u)) for u in (owner, other)}
    assert before[owner.pk] == before[other.pk]  # nothing served yet: the same photo, the same tracks

    services.activate(version.pk)
    mine, theirs = users_soundtrack(owner), users_soundtrack(other)
    assert chosen_valence(mine) < before[owner.pk] - 0.2
    assert chosen_valence(theirs) == before[other.pk]  # no terms of their own: the global order
    # The stored candidates carry the corrected position of the moved track.
    stored = {row[0]: (row[2], row[3]) for row in mine.slots[0]["candidates"]}
    assert stored[moved.pk] == pytest.approx((0.625, 0.375), abs=1e-3)

    services.deactivate("reranker")
    again = users_soundtrack(owner)
    assert chosen_valence(again) == before[owner.pk]
    stored = {row[0]: (row[2], row[3]) for row in again.slots[0]["candidates"]}
    assert stored[moved.pk] == pytest.approx((0.5, 0.5), abs=1e-3)
