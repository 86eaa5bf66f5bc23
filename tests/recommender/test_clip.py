"""The CLIP encoder, tested with a tiny random CLIP model saved by the test (no real weights here)."""

from __future__ import annotations

import json
import string
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from django.test import override_settings
from PIL import Image
from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPTokenizer

from inference import adapter
from recommender.catalogue_index import TrackCatalogue
from recommender.clip import (
    SCENE_PROMPTS,
    ZERO_SHOT_MOOD_VERSION,
    ClipDirectoryError,
    ClipEncoder,
    ZeroShotMood,
)
from recommender.colour import COLOUR_KEYS
from recommender.encoder_factory import make_encoder
from recommender.encoders import CLIP, EFFICIENTNET_LITE0, ImageEncoder
from recommender.lab.training import train_mood
from recommender.mood import MoodModel
from recommender.photo_inputs import extract
from recommender.pipeline import Engine, EngineConfig
from recommender.types import IMAGE_EMOTIONS

PROJECTION_DIM = 16


def save_tiny_clip(directory: Path) -> Path:
    """A random CLIP (hidden 32, 2 layers, 2 heads, 32 px images, 8 px patches), letter-level tokenizer."""
    directory.mkdir(parents=True, exist_ok=True)
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for suffix in ("", "</w>"):
        for c in string.ascii_lowercase:
            vocab[c + suffix] = len(vocab)
    (directory / "vocab.json").write_text(json.dumps(vocab))
    (directory / "merges.txt").write_text("#version: 0.2\n")
    CLIPTokenizer(
        str(directory / "vocab.json"), str(directory / "merges.txt"), model_max_length=77
    ).save_pretrained(directory)
    tiny = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2}
    text = {**tiny, "vocab_size": len(vocab), "max_position_embeddings": 77}
    text |= {"bos_token_id": 0, "eos_token_id": 1, "pad_token_id": 1}
    vision = {**tiny, "image_size": 32, "patch_size": 8}
    torch.manual_seed(0)
    config = CLIPConfig(text_config=text, vision_config=vision, projection_dim=PROJECTION_DIM)
    CLIPModel(config).save_pretrained(directory)
    CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}).save_pretrained(
        directory
    )
    return directory


@pytest.fixture(scope="module")
def clip_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_clip(tmp_path_factory.mktemp("clip"))


@pytest.fixture(scope="module")
def encoder(clip_dir: Path) -> ClipEncoder:
    return ClipEncoder(clip_dir, batch_size=2)


def photos(n: int, seed: int = 0) -> list[Image.Image]:
    rng = np.random.default_rng(seed)
    return [Image.fromarray(rng.integers(0, 256, size=(40 + 7 * i, 56, 3), dtype=np.uint8)) for i in range(n)]


def test_make_encoder_loads_clip_from_the_directory(clip_dir: Path) -> None:
    enc = make_encoder(CLIP, clip_dir=str(clip_dir))
    assert isinstance(enc, ClipEncoder)
    assert isinstance(enc, ImageEncoder)
    assert (enc.name, enc.dim) == (CLIP, PROJECTION_DIM)


def test_embeddings_are_normalised_batched_and_deterministic(encoder: ClipEncoder, clip_dir: Path) -> None:
    images = photos(5)
    emb = encoder.encode(images)
    assert emb.shape == (5, PROJECTION_DIM) and emb.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(emb, encoder.encode(images))
    one_batch = ClipEncoder(clip_dir, batch_size=16).encode(images)  # batching does not change results
    np.testing.assert_allclose(emb, one_batch, atol=1e-5)
    np.testing.assert_allclose(encoder.encode(images[2:3])[0], emb[2], atol=1e-5)
    assert encoder.encode([]).shape == (0, PROJECTION_DIM)
    assert len({row.tobytes() for row in emb}) == 5  # different photos, different embeddings


def test_zero_shot_gives_distributions_over_the_right_labels(encoder: ClipEncoder) -> None:
    emb = encoder.encode(photos(3))
    zs = encoder.zero_shot(emb)
    assert zs.emotions.shape == (3, len(IMAGE_EMOTIONS))
    assert zs.scenes.shape == (3, len(SCENE_PROMPTS))
    for probs in (zs.emotions, zs.scenes):
        assert (probs >= 0).all()
        np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-9)
    labels = encoder.scene_labels(emb, k=4)
    assert len(labels) == 3
    for row, probs in zip(labels, zs.scenes, strict=True):
        assert len(row) == 4
        assert all(name in SCENE_PROMPTS for name, _ in row)
        assert [p for _, p in row] == sorted((p for _, p in row), reverse=True)
        assert row[0][1] == pytest.approx(probs.max())


def test_zero_shot_mood_matches_the_prompts(encoder: ClipEncoder) -> None:
    images = photos(4)
    mood = ZeroShotMood.from_encoder(encoder)
    assert isinstance(mood, MoodModel)
    assert mood.version == ZERO_SHOT_MOOD_VERSION and mood.card["encoder"] == CLIP
    feats = extract(encoder, images)
    pred = mood.predict(feats.mood_inputs())
    np.testing.assert_allclose(pred.emotions, encoder.zero_shot(feats.embeddings).emotions, atol=1e-9)
    # valence is p("pleasant") of the pleasant/unpleasant pair
    logits = encoder.logit_scale * feats.embeddings.astype(np.float64) @ encoder.valence_text.T
    p_pleasant = np.exp(logits[:, 1]) / np.exp(logits).sum(axis=1)
    np.testing.assert_allclose(pred.valence, p_pleasant, atol=1e-6)
    assert ((pred.arousal >= 0) & (pred.arousal <= 1)).all()


def test_engine_analyses_a_photo_with_clip_and_zero_shot_mood(
    clip_dir: Path, catalogue: TrackCatalogue
) -> None:
    engine = Engine(EngineConfig.for_encoder(CLIP, clip_dir=str(clip_dir)))
    photo = engine.analyse(photos(1)[0])
    assert engine.mood.version == ZERO_SHOT_MOOD_VERSION  # the default artifact is for EfficientNet
    assert photo.embedding.shape == (PROJECTION_DIM,)
    assert 0.0 <= photo.valence <= 1.0 and 0.0 <= photo.arousal <= 1.0
    assert list(photo.emotions) == list(IMAGE_EMOTIONS)
    assert sum(photo.emotions.values()) == pytest.approx(1.0)
    assert len(photo.labels) == 5 and all(name in SCENE_PROMPTS for name, _ in photo.labels)
    ranked = engine.recommend(photo, catalogue, top_k=3)
    assert len(ranked) == 3


def fake_emotion6(root: Path, per_class: int = 5) -> Path:
    rng = np.random.default_rng(1)
    lines = ["[image_filename]\t[valence]\t[arousal]\t[prob. anger]\t..."]
    for k, emotion in enumerate(IMAGE_EMOTIONS):
        (root / "images" / emotion).mkdir(parents=True)
        for j in range(per_class):
            name = f"{emotion}/{j}.jpg"
            Image.fromarray(rng.integers(0, 256, size=(36, 48, 3), dtype=np.uint8)).save(
                root / "images" / name
            )
            dist = np.full(7, 0.05)
            dist[k] = 0.7
            va = rng.uniform(1, 9, size=2)
            lines.append("\t".join([name, *(f"{x:.3f}" for x in va), *(f"{x:.3f}" for x in dist)]))
    (root / "ground_truth.txt").write_text("\n".join(lines) + "\n")
    return root


def test_a_trained_clip_mood_head_is_preferred(clip_dir: Path, tmp_path: Path) -> None:
    data = fake_emotion6(tmp_path / "emotion6")
    head = tmp_path / "mood-clip"
    argv = ["--emotion6", str(data), "--out", str(head), "--cache", str(tmp_path / "cache")]
    argv += ["--encoder", CLIP, "--clip-dir", str(clip_dir), "--folds", "2", "--version", "mood-clip-test"]
    assert train_mood.main(argv) == 0
    trained = MoodModel.load(head)
    assert trained.card["encoder"] == CLIP and trained.input_dim == PROJECTION_DIM + len(COLOUR_KEYS)

    engine = Engine(replace(EngineConfig.for_encoder(CLIP, clip_dir=str(clip_dir)), mood_artifact=str(head)))
    assert engine.mood.version == "mood-clip-test" and not isinstance(engine.mood, ZeroShotMood)
    assert engine.analyse(photos(1)[0]).labels  # zero-shot scene labels come with a trained head too


def test_train_mood_clip_needs_a_directory(tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        train_mood.main(["--emotion6", str(tmp_path), "--out", str(tmp_path / "o"), "--encoder", CLIP])


@pytest.mark.parametrize("state", ["unset", "missing", "empty", "incomplete"])
def test_a_missing_or_incomplete_directory_gives_a_clear_error(state: str, tmp_path: Path) -> None:
    directory = {"unset": "", "missing": str(tmp_path / "nope")}.get(state, str(tmp_path))
    if state == "incomplete":
        (tmp_path / "config.json").write_text("{}")
    with pytest.raises(ClipDirectoryError, match="must hold a saved CLIP model") as info:
        make_encoder(CLIP, clip_dir=directory)
    message = str(info.value)
    assert "ENGINE_CLIP_DIR=" in message and "docs/clip.md" in message
    if state == "incomplete":
        problem = message.split("Problem: ")[1]
        assert (
            problem.startswith("missing weights") and "tokenizer" in problem and "config.json," not in problem
        )


def test_the_default_encoder_stays_efficientnet() -> None:
    config = EngineConfig()
    assert config.encoder == EFFICIENTNET_LITE0 and config.clip_dir == ""
    with pytest.raises(ValueError, match="known: clip, efficientnet-lite0"):
        make_encoder("no-such-encoder")


def test_the_environment_selects_clip_and_django_passes_it_on(clip_dir: Path) -> None:
    served = EngineConfig.from_environment({"ENGINE_ENCODER": CLIP, "ENGINE_CLIP_DIR": str(clip_dir)})
    assert (served.encoder, served.clip_dir) == (CLIP, str(clip_dir))
    assert served.strategies == ("va_match", "emotion") and not served.faces  # mood-only defaults
    adapter.reset()
    try:
        with override_settings(ENGINE=served):
            config = adapter.engine().config
        assert config == served
    finally:
        adapter.reset()
