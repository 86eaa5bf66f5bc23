"""Signal for the mood head from ratings (recommender/lab/photo_mood_signal.py): ratings of tracks for a
photo move its reading toward the mood they suggest, a ridge on the embedding carries that to photos nobody
rated, and the gate's rule keeps it only when it helps on photos of themes the fit never saw."""

from __future__ import annotations

import numpy as np

from recommender.lab import photo_mood_signal as pms
from recommender.lab.rerank_training import RatingSet
from recommender.reranker import BASE_FEATURES, Reranker


def world(seed: int = 0, photos: int = 300, d: int = 16):
    """Photos whose reading misses a part of their true valence that their embedding shows."""
    rng = np.random.default_rng(seed)
    embeddings = rng.normal(size=(photos, d))
    truth = np.clip(0.5 + 0.12 * embeddings[:, 0] + 0.12 * embeddings[:, 1], 0, 1)
    valence = np.clip(0.5 + 0.12 * embeddings[:, 1] + 0.03 * rng.normal(size=photos), 0, 1)
    read = np.stack([valence, np.full(photos, 0.5)], axis=1)
    themes = np.arange(photos) // 2
    return embeddings, truth, read, themes


def ratings(truth, read, n: int = 6000, seed: int = 0, mode: str = "truthful") -> RatingSet:
    rng = np.random.default_rng(seed)
    photos = rng.integers(len(truth), size=n)
    track = rng.uniform(size=(n, 2))
    up = (track[:, 0] > 0.5) == (truth[photos] > 0.5)
    up = up != (rng.uniform(size=n) < 0.1)
    if mode == "random":
        up = rng.uniform(size=n) < 0.5
    closeness = 1 - np.abs(track[:, 0] - read[photos, 0])
    return RatingSet(
        engine_scores=closeness,
        strategy_scores={},
        photo_va=read[photos],
        track_va=track,
        labels=up.astype(np.int64),
        groups=np.arange(n),
        times=np.arange(n, dtype=np.float64),
        extra={"photos": photos},
    )


def by_valence_product() -> Reranker:
    coef = np.zeros(len(BASE_FEATURES))
    coef[BASE_FEATURES.index("valence_product")] = 10.0
    return Reranker("t", "logistic", (), np.zeros(len(coef)), np.ones(len(coef)), coef, 0.0)


def score(data: RatingSet) -> np.ndarray:
    reranker = by_valence_product()
    return reranker.score(data.features(()))


def test_ratings_by_the_true_mood_correct_the_reading_of_photos_nobody_rated() -> None:
    embeddings, truth, read, themes = world()
    rated = np.arange(200)  # photos 200.. are never rated
    data = ratings(truth[rated], read[rated])
    judged = pms.learn_and_judge(data, score, embeddings[rated], themes[rated], None)
    assert judged.kept and judged.metrics["gain_lower_bound"] > 0, judged.metrics
    assert judged.correction is not None
    unseen = np.arange(200, 300)
    corrected = judged.correction.apply(read[unseen], embeddings[unseen])
    before = np.corrcoef(read[unseen, 0], truth[unseen])[0, 1]
    after = np.corrcoef(corrected[:, 0], truth[unseen])[0, 1]
    assert after > before + 0.02, (before, after)
    assert np.abs(corrected - read[unseen]).max() <= pms.MAX_SHIFT + 1e-9


def test_random_ratings_are_kept_about_as_rarely_as_the_rule_allows() -> None:
    # The rule is the gate's: a gain with 95% confidence, so about 1 in 20 random draws passes it.
    kept = []
    for seed in range(20):
        embeddings, truth, read, themes = world(seed)
        data = ratings(truth, read, n=3000, seed=seed, mode="random")
        kept.append(pms.learn_and_judge(data, score, embeddings, themes, None, seed).kept)
    assert sum(kept) <= 3, kept
