"""The engine turns real photos' encoder embeddings into the queries its approximate indexes calibrate on."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from recommender.heads.track_inputs import l2_rows
from recommender.lab.training.train_heads import train
from recommender.pipeline import Engine, EngineConfig
from recommender.strategies.feature_prediction import VECTORS as FEATURE_VECTORS
from recommender.strategies.feature_prediction import FeaturePrediction
from recommender.strategies.joint_embedding import VECTORS as JOINT_VECTORS
from recommender.strategies.joint_embedding import JointEmbedding
from recommender.strategies.va_match import VAMatch
from tests.recommender.helpers import make_photo
from tests.recommender.test_heads import EMBED_DIM, TINY, synthetic_photos, synthetic_tracks


@pytest.fixture(scope="module")
def artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("heads") / "heads-test"
    train(synthetic_photos(60), synthetic_tracks(90), out, TINY, encoder="synthetic", version="heads-test")
    return out


def engine_with(artifact: Path, approximate_above: int = 50_000) -> Engine:
    config = EngineConfig(
        fusion_weights=(("va_match", 0.4), ("feature_prediction", 0.3), ("joint_embedding", 0.3)),
        candidate_pool=5,
        approximate_above=approximate_above,
    )
    return Engine(config, strategies=[VAMatch(), FeaturePrediction(artifact), JointEmbedding(artifact)])


def test_the_queries_are_what_the_strategies_search_with_for_those_photos(artifact: Path) -> None:
    engine = engine_with(artifact)
    embeddings = np.random.default_rng(0).standard_normal((6, EMBED_DIM)).astype(np.float32)
    queries = engine.calibration_queries(embeddings)
    assert set(queries) == {FEATURE_VECTORS, JOINT_VECTORS}
    features, joint = engine.strategies[1], engine.strategies[2]
    assert isinstance(features, FeaturePrediction) and isinstance(joint, JointEmbedding)
    for i, embedding in enumerate(embeddings):
        photo = make_photo(0.5, 0.5)
        photo.embedding = embedding
        photo.colour = {}  # not stored with a photo: the training mean stands in, as in photo_inputs
        assert np.allclose(queries[JOINT_VECTORS][i], joint.project(photo), atol=1e-6)
        assert np.allclose(
            queries[FEATURE_VECTORS][i], l2_rows(features.predict(photo)[None, :])[0], atol=1e-6
        )


def test_no_photos_or_another_encoders_give_no_queries_and_the_build_still_works(
    artifact: Path, caplog: pytest.LogCaptureFixture
) -> None:
    engine = engine_with(artifact)
    assert engine.calibration_queries(None) == {}
    assert engine.calibration_queries(np.zeros((0, EMBED_DIM), np.float32)) == {}
    with caplog.at_level(logging.WARNING, logger="recommender.pipeline"):
        assert engine.calibration_queries(np.ones((5, EMBED_DIM + 3), np.float32)) == {}
    assert any("do not fit" in r.getMessage() for r in caplog.records)
    rows = [t.row for t in synthetic_tracks(40, seed=5)]
    wrong = np.ones((80, EMBED_DIM + 3), np.float32)
    catalogue = engine.build_catalogue(rows, photo_embeddings=wrong)
    assert catalogue.vectors[JOINT_VECTORS].shape == (40, EMBED_DIM)


def test_a_large_catalogue_built_with_photos_calibrates_each_index_on_their_queries(artifact: Path) -> None:
    engine = engine_with(artifact, approximate_above=100)
    rows = [t.row for t in synthetic_tracks(400, seed=6)]
    photos = np.random.default_rng(1).standard_normal((60, EMBED_DIM)).astype(np.float32)
    catalogue = engine.build_catalogue(rows, photo_embeddings=photos)
    for name in (FEATURE_VECTORS, JOINT_VECTORS):
        info = catalogue.approximate_info[name]
        assert info["calibrated_on"] == "given queries" and info["calibration_queries"] == 60
    without = engine.build_catalogue(rows)
    assert without.approximate_info[JOINT_VECTORS]["calibrated_on"] == "perturbed catalogue rows"
