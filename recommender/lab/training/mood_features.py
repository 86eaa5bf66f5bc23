"""Mood-model inputs for a list of photo files, under test-time views, cached outside the repository.

A view is how the photo is shown to the encoder: "plain" (as served), "flip" (mirrored left-right),
"crop" (the central 80%, enlarged back). The cache key covers the encoder, the view and the file list,
so Emotion6 and OASIS share one code path (train_mood_multi, the evaluation).
"""

from __future__ import annotations

import hashlib
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from recommender.colour import COLOUR_KEYS
from recommender.encoder_factory import make_encoder
from recommender.photo_inputs import PhotoFeatures, extract
from recommender.threads import configure_threads

VIEWS: tuple[str, ...] = ("plain", "flip", "crop")
CROP_SHARE = 0.8
SECOND = ("second_embeddings", "second_stages", "second_logits")  # a pair's second network, as saved


def view(image: Image.Image, name: str) -> Image.Image:
    if name == "plain":
        return image
    if name == "flip":
        return ImageOps.mirror(image)
    if name == "crop":
        w, h = image.size
        dw, dh = round(w * (1 - CROP_SHARE) / 2), round(h * (1 - CROP_SHARE) / 2)
        return image.crop((dw, dh, w - dw, h - dh)).resize((w, h), Image.Resampling.BILINEAR)
    raise ValueError(f"unknown view {name!r}; known: {', '.join(VIEWS)}")


def _key(encoder: str, name: str, paths: Sequence[Path]) -> str:
    text = "|".join([encoder, name, "views-v1", *(str(Path(p).resolve()) for p in paths)])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def photo_features(
    paths: Sequence[Path], encoder: str, cache_dir: Path, name: str = "plain", tag: str = "photos"
) -> PhotoFeatures:
    """Every photo's encoder parts under view `name` (computed once, then read from cache_dir)."""
    cache = cache_dir / f"{tag}-{encoder}-{name}-{_key(encoder, name, paths)}.npz"
    if cache.is_file():
        with np.load(cache) as saved:
            return PhotoFeatures(
                saved["embeddings"],
                [dict(zip(COLOUR_KEYS, row, strict=True)) for row in saved["colour"].tolist()],
                saved.get("logits"),
                saved.get("stages"),
                tuple(saved[k] for k in SECOND) if SECOND[0] in saved else None,
            )
    configure_threads()
    model = make_encoder(encoder, runtime="onnx")  # as served; same outputs as torch, ~3x faster
    parts: list[PhotoFeatures] = []
    t0 = time.perf_counter()
    for start in range(0, len(paths), 32):
        images = []
        for p in paths[start : start + 32]:
            with Image.open(p) as im:
                images.append(view(im.convert("RGB"), name))
        parts.append(extract(model, images))
        print(f"features {tag}/{name}: {start + len(images)}/{len(paths)}", file=sys.stderr, end="\r")
    print(
        f"\nfeatures {tag}/{name}: {len(paths)} photos in {time.perf_counter() - t0:.1f} s", file=sys.stderr
    )
    out = PhotoFeatures(
        np.concatenate([f.embeddings for f in parts]),
        [c for f in parts for c in f.colour],
        None if parts[0].logits is None else np.concatenate([f.logits for f in parts]),
        None if parts[0].stages is None else np.concatenate([f.stages for f in parts]),
        None
        if parts[0].second is None
        else tuple(np.concatenate([f.second[i] for f in parts]) for i in range(3)),  # type: ignore[index,arg-type]
    )
    arrays = {
        "embeddings": out.embeddings,
        "colour": np.array([[c[k] for k in COLOUR_KEYS] for c in out.colour]),
    }
    if out.logits is not None:
        arrays["logits"] = out.logits
    if out.stages is not None:
        arrays["stages"] = out.stages
    if out.second is not None:
        arrays.update(zip(SECOND, out.second, strict=True))
    cache_dir.mkdir(parents=True, exist_ok=True)
    np.savez(cache, **arrays)  # type: ignore[arg-type]
    return out
