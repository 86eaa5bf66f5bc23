from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from inference import adapter
from recommender.lab.rerank_offline import OfflineEval
from registry import serving


@pytest.fixture(autouse=True)
def _shipped_versions(db) -> None:
    """The shipped artifacts as migration 0002 registers them: a transactional test elsewhere (the
    integration tests) empties every table at its end, rows made by migrations included."""
    from registry.services import register_shipped

    register_shipped()


@pytest.fixture(autouse=True)
def _fresh(settings, tmp_path) -> Iterator[None]:
    """Each test serves from its own registry cache, with no engine or served versions left from another."""
    settings.REGISTRY_CACHE_DIR = tmp_path / "registry-cache"
    adapter.reset()
    serving.forget()
    yield
    adapter.reset()
    serving.forget()


def synthetic_offline_evaluation(
    strategies: tuple[str, ...] = ("emotion", "va_match"), photos: int = 120, seed: int = 1
) -> OfflineEval:
    """An offline evaluation of the world tests/registry/test_training.py rates in: uniform photo and
    track moods, strategies that see the closeness of the two through noise, and a track truly relevant
    when it shares the photo's quadrant."""
    rng = np.random.default_rng(seed)
    photo_va = rng.uniform(size=(photos, 2))
    catalogue = rng.uniform(size=(200, 2))

    def quadrant(va: np.ndarray) -> np.ndarray:
        return (va[..., 0] > 0.5) * 2 + (va[..., 1] > 0.5)

    rows, engine = [], []
    scores: dict[str, list[np.ndarray]] = {s: [] for s in strategies}
    for p in range(photos):
        closeness = 1 - np.hypot(*(catalogue - photo_va[p]).T) / np.sqrt(2)
        noisy = {s: np.clip(closeness + rng.normal(0, 0.3, len(closeness)), 0, 1) for s in strategies}
        fused = np.mean([noisy[s] for s in strategies], axis=0)
        top = np.argsort(-fused, kind="stable")[:50]
        rows.append(top)
        engine.append(fused[top])
        for s in strategies:
            scores[s].append(noisy[s][top])
    at = np.array(rows)
    photo_class = quadrant(photo_va)
    return OfflineEval(
        strategies,
        np.array(engine),
        {s: np.array(v) for s, v in scores.items()},
        photo_va,
        photo_va,
        catalogue[at],
        quadrant(catalogue[at]) == photo_class[:, None],
        np.array([(quadrant(catalogue) == c).sum() for c in photo_class]),
        photo_class,
        np.array([f"theme {p // 3}" for p in range(photos)]),
    )


@pytest.fixture(autouse=True)
def _offline_evaluation(settings, tmp_path) -> None:
    """The gate judges on an offline evaluation of the tests' own world (the shipped one is of OASIS
    photos against the demo catalogue, served by the default strategies)."""
    settings.RERANKER_OFFLINE_EVALUATION = tmp_path / "offline-eval"
    synthetic_offline_evaluation().save(settings.RERANKER_OFFLINE_EVALUATION, {"test": True})
