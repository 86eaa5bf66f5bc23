"""The engine's command-line contracts as the platform runs them: recommend and train."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from PIL import Image

from inference import adapter
from tests.factories import TrackFactory

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _fresh_index() -> None:
    adapter.reset()


@pytest.mark.django_db
def test_recommend_prints_one_json_object_per_image_over_the_whole_catalogue(tmp_path) -> None:
    for n in range(12):
        TrackFactory.create(artist=f"A{n % 4}", valence=n / 11, arousal=(11 - n) / 11)
    TrackFactory.create(valence=None, arousal=None, artist="Unknown mood")  # no position: listed last
    images = []
    for name, colour in (("warm.jpg", (240, 160, 40)), ("dark.png", (20, 20, 40))):
        path = tmp_path / name
        Image.new("RGB", (96, 64), colour).save(path)
        images.append(str(path))
    out = io.StringIO()
    call_command("recommend", *images, "--top-k", "13", "--json", stdout=out)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [line["image"] for line in lines] == images
    for line in lines:
        assert set(line["mood"]) == {"valence", "arousal", "emotions"}
        assert abs(sum(line["mood"]["emotions"].values()) - 1) < 0.01
        tracks = line["tracks"]
        assert len(tracks) == 13  # K may be as large as the catalogue
        assert {"external_id", "title", "artist", "score", "reasons"} <= set(tracks[0])
        scores = [t["score"] for t in tracks]
        assert scores == sorted(scores, reverse=True)
        assert tracks[-1]["artist"] == "Unknown mood"


@pytest.mark.django_db
def test_recommend_reports_unreadable_images(tmp_path) -> None:
    TrackFactory.create()
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"nope")
    err = io.StringIO()
    with pytest.raises(CommandError, match="No image could be read"):
        call_command("recommend", str(bad), "--json", stderr=err)
    assert "bad.jpg: cannot read image" in err.getvalue()


def test_train_says_clearly_when_the_data_is_missing(tmp_path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "train",
            "mood",
            "--emotion6",
            str(tmp_path / "absent"),
            "--out",
            str(tmp_path),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "absent" in result.stderr + result.stdout
