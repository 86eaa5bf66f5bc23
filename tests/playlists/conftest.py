from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from inference import adapter
from tests.factories import TrackFactory
from tests.integration.conftest import broker  # noqa: F401 - the browser test's real services
from tests.integration.test_browser import browser_page  # noqa: F401


@pytest.fixture(autouse=True)
def _fresh_index() -> None:
    adapter.reset()


@pytest.fixture
def smooth_catalogue() -> list:
    """81 tracks on a 9 x 9 valence/arousal grid, one artist each, energy and tempo following arousal."""
    tracks = []
    for i in range(9):
        for j in range(9):
            valence, arousal = i / 8, j / 8
            tracks.append(
                TrackFactory.create(
                    artist=f"Grid artist {i}-{j}",
                    valence=valence,
                    arousal=arousal,
                    energy=arousal,
                    tempo=80 + 80 * arousal,
                    duration_ms=180_000 + 1000 * j,
                    musicbrainz_recording_id=f"{i:08d}-0000-4000-8000-{j:012d}" if (i + j) % 2 else "",
                )
            )
    return tracks


@pytest.fixture
def photo_files(tmp_path) -> list[str]:
    paths = []
    for name, colour in (
        ("beach.jpg", (250, 200, 90)),
        ("night.png", (15, 15, 40)),
        ("fire.jpg", (220, 40, 20)),
    ):
        path = tmp_path / name
        Image.new("RGB", (160, 120), colour).save(path)
        paths.append(str(path))
    return paths


def write_bytes(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)
