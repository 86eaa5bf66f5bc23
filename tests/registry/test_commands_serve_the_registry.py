"""`manage.py recommend` and `manage.py soundtrack` serve the registry's active versions, as the worker
does: an activation changes what they use, a rollback restores it (their DESIGN.md section 5 output is
unchanged)."""

from __future__ import annotations

import io
import json
import tempfile
from pathlib import Path

import numpy as np
import pytest
from django.core.files import File
from django.core.files.storage import default_storage
from django.core.management import call_command
from PIL import Image

from recommender.reranker import BASE_FEATURES, Reranker
from registry import services
from registry.models import ModelVersion
from tests.factories import TrackFactory, another_servable_mood

pytestmark = pytest.mark.django_db
TRACK_EXTENSION = "https://photophone.app/jspf/track"


def reranker_version(name: str, engine_weight: float) -> ModelVersion:
    """A candidate reranker in media storage that scores by engine_weight x the engine's score alone
    (-1: the engine's order reversed)."""
    coef = np.zeros(len(BASE_FEATURES))
    coef[0] = engine_weight
    reranker = Reranker(name, "logistic", (), np.zeros(len(coef)), np.ones(len(coef)), coef, 0.0)
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
