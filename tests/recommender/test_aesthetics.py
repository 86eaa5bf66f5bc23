"""Whole-image aesthetics: colour -> V/A (Valdez & Mehrabian) and the "aesthetics" strategy."""

from __future__ import annotations

import itertools

import numpy as np
from PIL import Image

from recommender.colour import colour_stats
from recommender.pipeline import Engine, EngineConfig
from recommender.strategies import AestheticsMatch
from recommender.strategies.aesthetics import aesthetic_mood
from tests.recommender.helpers import grid_rows, make_photo


def _hsv_image(saturation: float, value: float, hue: float = 0.08) -> Image.Image:
    h, s, v = round(hue * 255), round(saturation * 255), round(value * 255)
    return Image.new("HSV", (64, 48), (h, s, v)).convert("RGB")


def test_brighter_means_higher_valence() -> None:
    valences = [aesthetic_mood(colour_stats(_hsv_image(0.4, v))).valence for v in (0.2, 0.4, 0.6, 0.8)]
    assert all(a < b for a, b in itertools.pairwise(valences))


def test_more_saturated_means_higher_arousal() -> None:
    arousals = [aesthetic_mood(colour_stats(_hsv_image(s, 0.6))).arousal for s in (0.1, 0.3, 0.5, 0.7, 0.9)]
    assert all(a < b for a, b in itertools.pairwise(arousals))


def test_busy_texture_adds_arousal() -> None:
    rng = np.random.default_rng(0)
    flat = np.full((48, 64, 3), 120, dtype=np.uint8)
    noisy = np.clip(120 + rng.normal(0, 60, size=(48, 64, 1)), 0, 255).astype(np.uint8).repeat(3, axis=2)
    calm = aesthetic_mood(colour_stats(Image.fromarray(flat)))
    busy = aesthetic_mood(colour_stats(Image.fromarray(noisy)))
    assert busy.arousal > calm.arousal
    assert busy.texture == "busy, high-contrast" and calm.texture == "soft, smooth"


def test_aesthetics_strategy_scores_in_range_with_reasons() -> None:
    photo = make_photo(0.5, 0.5)
    photo.colour = colour_stats(_hsv_image(0.9, 0.95))
    engine = Engine(EngineConfig(fusion_weights=(("aesthetics", 1.0),)), strategies=[AestheticsMatch()])
    catalogue = engine.build_catalogue(grid_rows())
    ranked = engine.recommend(photo, catalogue, top_k=10)
    assert len(ranked) == 10
    for r in ranked:
        assert 0.0 <= r.strategy_scores["aesthetics"] <= 1.0
        reason = next(t for t in r.reasons if "aesthetic V/A" in t)
        assert reason.startswith("bright, saturated colours") and "joyful and lively music" in reason
    scores = [r.strategy_scores["aesthetics"] for r in ranked]
    assert scores == sorted(scores, reverse=True)


def test_lift_mode_aims_at_least_as_pleasant_as_the_target() -> None:
    photo = make_photo(0.2, 0.5)
    photo.colour = colour_stats(_hsv_image(0.1, 0.15))  # dark and muted: low aesthetic valence
    catalogue = Engine(strategies=[AestheticsMatch()]).build_catalogue(grid_rows())
    rows = np.arange(len(catalogue))
    match = AestheticsMatch().score(photo, (0.2, 0.5), catalogue, rows).scores
    lifted = AestheticsMatch().score(photo, (0.75, 0.5), catalogue, rows).scores
    happy = np.asarray(catalogue.va)[:, 0] > 0.7
    assert lifted[happy].mean() > match[happy].mean()
