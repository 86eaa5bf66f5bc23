from __future__ import annotations

import numpy as np
from PIL import Image

from recommender.colour import COLOUR_KEYS, colour_stats, colour_vector, describe_colour


def solid(rgb: tuple[int, int, int], size: int = 300) -> Image.Image:
    return Image.new("RGB", (size, size), rgb)


def test_bright_image_is_brighter_than_dark() -> None:
    bright = colour_stats(solid((235, 235, 225)))
    dark = colour_stats(solid((20, 22, 25)))
    assert bright["brightness"] > 0.85
    assert dark["brightness"] < 0.1
    assert "bright" in describe_colour(bright)
    assert "dark" in describe_colour(dark)


def test_warm_vs_cool() -> None:
    warm = colour_stats(solid((230, 140, 60)))
    cool = colour_stats(solid((60, 120, 220)))
    assert warm["warmth"] > 0.5 > 0 > cool["warmth"]
    assert "warm" in describe_colour(warm)
    assert "cool" in describe_colour(cool)


def test_grey_is_muted_and_stripes_are_textured() -> None:
    grey = colour_stats(solid((128, 128, 128)))
    assert grey["saturation"] == 0.0
    assert grey["colourfulness"] < 1e-6
    assert grey["edge_density"] == 0.0
    assert "muted" in describe_colour(grey)

    stripes = np.zeros((200, 200, 3), dtype=np.uint8)
    stripes[:, (np.arange(200) // 10) % 2 == 0] = 255
    busy = colour_stats(Image.fromarray(stripes))
    assert busy["edge_density"] > 0.2
    assert busy["contrast"] > 0.3


def test_colourful_image_scores_higher_than_grey() -> None:
    rng = np.random.default_rng(1)
    noise = Image.fromarray(rng.integers(0, 256, size=(100, 100, 3), dtype=np.uint8))
    assert colour_stats(noise)["colourfulness"] > colour_stats(solid((120, 110, 100)))["colourfulness"] + 0.1


def test_vector_follows_key_order_and_large_images_are_downscaled() -> None:
    stats = colour_stats(solid((200, 100, 50), size=2000))
    vec = colour_vector(stats)
    assert vec.shape == (len(COLOUR_KEYS),)
    assert vec[COLOUR_KEYS.index("brightness")] == np.float32(stats["brightness"])
