"""Photo analysis latency of the default engine (encoder + colour statistics + mood heads), and what reading
faces adds (the engine reads them only when a face-using strategy, aesthetics, is configured).

    python bench/photo_analysis.py [--photos 64] [--batch 8] [--threads N] [--encoders NAME,NAME]

Prints one JSON object: per-photo latency (p50/p95/mean ms) and photos/s, single-photo and batched,
on real Emotion6 photos from ../shared/data (or synthetic images, with a note, when that is absent).
Model loading is timed separately and excluded from the per-photo figures.

--encoders also compares the encoder options (ENGINE_ENCODER values, each with its shipped mood model and
ONNX Runtime as served, on --threads threads, default 1 as a command): one photo at a time, each photo
through every option in turn, so a noisy neighbour hits them alike; a second JSON object with each
option's figures and its mean's ratio to the first option's.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from recommender.pipeline import Engine, EngineConfig  # noqa: E402

EMOTION6 = REPO_ROOT.parent / "shared" / "data" / "emotion6" / "images"


def load_photos(n: int) -> tuple[list[Image.Image], str]:
    paths = sorted(EMOTION6.glob("*/*.jpg"))
    if paths:
        step = max(1, len(paths) // n)
        images = []
        for p in paths[::step][:n]:
            with Image.open(p) as im:
                images.append(im.convert("RGB"))
        return images, f"Emotion6 photos from {EMOTION6} (about 320 px)"
    rng = np.random.default_rng(0)
    images = [Image.fromarray(rng.integers(0, 256, (240, 320, 3), dtype=np.uint8)) for _ in range(n)]
    return images, f"synthetic 320x240 noise images: Emotion6 not found at {EMOTION6}"


def summary(per_photo_ms: list[float]) -> dict[str, float]:
    ordered = sorted(per_photo_ms)
    return {
        "p50_ms": round(statistics.median(ordered), 2),
        "p95_ms": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 2),
        "mean_ms": round(statistics.fmean(ordered), 2),
        "photos_per_s": round(1000.0 / statistics.fmean(ordered), 1),
    }


def compare_encoders(names: list[str], photos: int, threads: int) -> None:
    import tempfile

    images, source = load_photos(photos)
    engines, load_s = {}, {}
    with tempfile.TemporaryDirectory() as models:
        for name in names:
            t0 = time.perf_counter()
            engines[name] = Engine(EngineConfig.for_encoder(name, threads=threads, model_dir=models))
            engines[name].analyse(images[0])  # exports (first use) and loads the encoder and the mood model
            load_s[name] = round(time.perf_counter() - t0, 2)
        times: dict[str, list[float]] = {name: [] for name in names}
        for im in images:
            for name, engine in engines.items():
                t = time.perf_counter()
                engine.analyse(im)
                times[name].append((time.perf_counter() - t) * 1000)
    base = statistics.fmean(times[names[0]])
    print(
        json.dumps(
            {
                "benchmark": "photo analysis per encoder option, one photo at a time, interleaved",
                "photos": len(images),
                "source": source,
                "threads": threads,
                "options": {
                    name: {
                        "mood_model": engines[name].mood.version,
                        "first_use_s": load_s[name],
                        **summary(times[name]),
                        "mean_vs_first": round(statistics.fmean(times[name]) / base, 2),
                    }
                    for name in names
                },
            },
            indent=2,
        ),
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--photos", type=int, default=64)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: every CPU available)")
    parser.add_argument("--encoders", default="", help="encoder options to compare, comma-separated")
    args = parser.parse_args()
    if args.encoders:
        compare_encoders(args.encoders.split(","), args.photos, args.threads or 1)
        return

    images, source = load_photos(args.photos)
    t0 = time.perf_counter()
    engine = Engine(EngineConfig(threads=args.threads or None))
    engine.analyse(images[0])  # loads encoder (traced and frozen) and mood model
    load_s = time.perf_counter() - t0
    for im in images[:5]:  # warm-up
        engine.analyse(im)

    # Side by side, photo by photo: the default engine and one that also reads faces.
    with_faces = Engine(
        replace(engine.config, strategies=(*engine.config.strategies, "aesthetics")),
        encoder=engine.encoder,
        mood=engine.mood,
    )
    with_faces.analyse(images[0])  # loads the face detector and emotion model
    single: list[float] = []
    single_with_faces: list[float] = []
    faces_found = 0
    for im in images:
        t = time.perf_counter()
        engine.analyse(im)
        single.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        faces_found += with_faces.analyse(im).faces.count > 0
        single_with_faces.append((time.perf_counter() - t) * 1000)

    batched: list[float] = []
    for start in range(0, len(images), args.batch):
        chunk = images[start : start + args.batch]
        t = time.perf_counter()
        engine.analyse_batch(chunk)
        batched.extend([(time.perf_counter() - t) * 1000 / len(chunk)] * len(chunk))

    encoder = engine.encoder
    print(
        json.dumps(
            {
                "benchmark": "photo analysis (encoder + colour + mood heads)",
                "encoder": encoder.name,
                "jit": bool(getattr(encoder, "jit", False)),
                "mood_model": engine.mood.version,
                "photos": len(images),
                "source": source,
                "torch_threads": torch.get_num_threads(),
                "cpu_count": os.cpu_count(),
                "model_load_s": round(load_s, 2),
                "single": summary(single),
                "single_with_faces": summary(single_with_faces),
                "photos_with_faces": faces_found,
                f"batched_{args.batch}": summary(batched),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
