"""The worker path's cheaper computations give exactly (bit for bit) what the plain ones they replaced gave:
colour statistics on separate planes, the encoder's ONNX input made in numpy, which tracks have a vector
(once per catalogue), and a photo's joint-space projection reused within a request. Whole runs before and
after are compared by bench/serving.py (`identical_results`)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from recommender import catalogue_index
from recommender.catalogue_index import TrackCatalogue
from recommender.colour import ANALYSIS_SIDE, colour_stats
from recommender.encoders import EfficientNetLiteEncoder
from recommender.strategies.base import dot_rows
from recommender.strategies.joint_embedding import VECTORS, JointEmbedding

from .helpers import grid_rows, make_photo


def reference_colour_stats(image: Image.Image) -> dict[str, float]:
    """colour_stats as it was written first: one (h, w, 3) array, channels as strided views."""
    img = image.convert("RGB")
    w, h = img.size
    scale = ANALYSIS_SIDE / max(w, h)
    if scale < 1:
        img = img.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.Resampling.BILINEAR)
    rgb = np.asarray(img, dtype=np.float32) / 255.0
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    luma = 0.299 * r + 0.587 * g + 0.114 * b
    cmax, cmin = rgb.max(axis=-1), rgb.min(axis=-1)
    saturation = np.where(cmax > 1e-6, (cmax - cmin) / np.maximum(cmax, 1e-6), 0.0)
    rg, yb = r - g, 0.5 * (r + g) - b
    colourfulness = float(
        np.sqrt(rg.std() ** 2 + yb.std() ** 2) + 0.3 * np.sqrt(rg.mean() ** 2 + yb.mean() ** 2)
    )
    gx, gy = np.abs(np.diff(luma, axis=1)), np.abs(np.diff(luma, axis=0))
    grad = np.sqrt(gx[:-1, :] ** 2 + gy[:, :-1] ** 2) if gx.size and gy.size else np.zeros((1, 1), np.float32)
    return {
        "brightness": float(luma.mean()),
        "saturation": float(saturation.mean()),
        "contrast": float(luma.std()),
        "warmth": float((r - b).mean()),
        "colourfulness": colourfulness,
        "edge_density": float((grad > 0.1).mean()),
        "texture": float(grad.mean()),
        "dark_fraction": float((luma < 0.2).mean()),
        "bright_fraction": float((luma > 0.8).mean()),
    }


def varied_images() -> list[Image.Image]:
    rng = np.random.default_rng(7)
    images = [
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
        for h, w in ((240, 320), (320, 213), (97, 128), (128, 97), (1000, 37), (50, 50))
    ]
    smooth = np.linspace(0, 255, 300 * 200, dtype=np.float64).reshape(200, 300)
    images.append(Image.fromarray(np.stack([smooth, smooth[::-1], 255 - smooth], axis=2).astype(np.uint8)))
    images += [
        Image.new("RGB", (1, 1), (10, 200, 30)),
        Image.new("RGB", (1, 60), (255, 0, 0)),
        Image.new("RGB", (60, 1), (0, 0, 0)),
        images[0].convert("L"),
        images[1].convert("RGBA"),
        images[2].convert("P"),
    ]
    return images


def test_colour_statistics_are_the_same_numbers_as_before() -> None:
    for image in varied_images():
        assert colour_stats(image) == reference_colour_stats(image), (image.mode, image.size)


@pytest.fixture(scope="module")
def encoder() -> EfficientNetLiteEncoder:
    return EfficientNetLiteEncoder(jit=False)  # torch: its preprocess is the reference


def test_the_onnx_input_made_in_numpy_is_the_torch_input(encoder: EfficientNetLiteEncoder) -> None:
    images = varied_images()
    torch_input = np.ascontiguousarray(encoder.preprocess(images).numpy())
    numpy_input = encoder.preprocess_nchw(images)
    assert numpy_input.flags.c_contiguous and numpy_input.dtype == np.float32
    assert numpy_input.shape == (len(images), 3, encoder.image_size, encoder.image_size)
    assert np.array_equal(numpy_input, torch_input)
    assert encoder.preprocess_nchw([]).shape == (0, 3, encoder.image_size, encoder.image_size)


def test_which_tracks_have_a_vector_is_what_each_request_computed(monkeypatch) -> None:
    monkeypatch.setattr(catalogue_index, "_SEEN_CHUNK", 7)  # several chunks, one of them partial
    rng = np.random.default_rng(3)
    matrix = rng.standard_normal((30, 8)).astype(np.float32)
    matrix[[0, 6, 7, 29]] = 0.0  # no vector: the strategy abstains for these tracks
    catalogue = TrackCatalogue.build(grid_rows(10, 3))
    catalogue.vectors["v"] = matrix
    seen = catalogue.vector_seen("v")
    for rows in (np.arange(30), np.array([0, 1, 6, 7, 12, 29]), np.array([], dtype=np.int64)):
        before = dot_rows(np.abs(matrix), np.ones(8, np.float32), rows) > 1e-6
        assert np.array_equal(seen[rows], before)
    assert catalogue.vector_seen("v") is seen  # once per catalogue


def test_a_photo_is_projected_once_per_request_and_again_when_it_changes() -> None:
    strategy = JointEmbedding()
    rng = np.random.default_rng(5)
    photo = make_photo(0.6, 0.4)
    photo.embedding = rng.standard_normal(strategy.model.embedding_dim).astype(np.float32)
    first = strategy.project(photo)
    expected = strategy.model.project_photos(photo.embedding[None, :])[0]
    assert np.array_equal(first, expected)
    assert strategy.project(photo) is first
    with pytest.raises(ValueError):
        first[0] = 1.0  # shared between the search and the scores: read-only
    other = make_photo(0.6, 0.4)
    other.embedding = photo.embedding.copy()  # equal values, another photo: projected afresh
    assert strategy.project(other) is not first
    assert np.array_equal(strategy.project(other), first)


def test_the_joint_scores_are_unchanged_for_a_catalogue_with_vectorless_tracks() -> None:
    strategy = JointEmbedding()
    catalogue = TrackCatalogue.build(grid_rows(10, 3))
    tracks = np.random.default_rng(4).standard_normal((30, 128)).astype(np.float32)
    tracks /= np.linalg.norm(tracks, axis=1, keepdims=True)
    tracks[[2, 5]] = 0.0  # tracks the projection cannot see
    catalogue.vectors[VECTORS] = tracks
    photo = make_photo(0.3, 0.7)
    photo.embedding = (
        np.random.default_rng(2).standard_normal(strategy.model.embedding_dim).astype(np.float32)
    )
    candidates = np.array([0, 2, 4, 5, 9, 17])
    result = strategy.score(photo, (0.3, 0.7), catalogue, candidates)
    query = strategy.model.project_photos(photo.embedding[None, :])[0].astype(np.float32)
    seen = dot_rows(np.abs(tracks), np.ones(tracks.shape[1], np.float32), candidates) > 1e-6
    cosine = dot_rows(tracks, query, candidates)
    expected = np.where(seen, np.clip((cosine + 1.0) / 2.0, 0.0, 1.0), 0.0)
    assert np.array_equal(result.scores, expected)
    assert result.seen is not None and list(result.seen) == [True, False, True, False, True, True]
