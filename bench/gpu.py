"""The engine on a GPU: photos/s and ms per photo at batch 1, 8, 32 and 128, agreement with the CPU, memory.

    python bench/gpu.py [--device auto|cuda|cpu] [--photos 256] [--batches 1,8,32,128] [--reference 64]

Prints one JSON object per line as it goes (flushed), then a summary line:
- {"device": ...}: what torch sees (GPU name, CUDA version, precision, faiss-gpu or not);
- {"batch": B, ...}: photos/s and ms per photo for the encoder + mood + labels (Engine.analyse_batch) at
  batch B over --photos photos, after a warm-up pass, and the peak GPU memory;
- {"agreement": ...}: the GPU's valence, arousal and emotions against the CPU engine (fp32, ONNX Runtime)
  on --reference photos (max and mean absolute difference), and the overlap of their top-10 tracks over
  a catalogue (the TidyTuesday songs when ../shared/data is there, else 20k synthetic tracks).

Photos: Emotion6 from ../shared/data when present (it is not carried to a device machine), else made-up
photos with smooth colour fields and shapes, the same on every run (seeded). On a machine without CUDA it
runs the same code on the CPU, so it can be checked anywhere; its figures then say "cpu".
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from recommender.catalogue_index import TrackCatalogue  # noqa: E402
from recommender.config import EngineConfig  # noqa: E402
from recommender.pipeline import Engine  # noqa: E402
from recommender.types import TrackRow  # noqa: E402

SHARED = REPO_ROOT.parent / "shared" / "data"


def emit(record: dict[str, object]) -> None:
    print(json.dumps(record), flush=True)


def load_photos(count: int) -> tuple[list[Image.Image], str]:
    folder = SHARED / "emotion6" / "images"
    paths = sorted(folder.rglob("*.jpg"))[:count] if folder.is_dir() else []
    if len(paths) >= count:
        return [Image.open(p).convert("RGB") for p in paths], "emotion6"
    rng = np.random.default_rng(0)
    photos = []
    for _ in range(count):
        base = rng.integers(0, 255, 3)
        y, x = np.mgrid[0:240, 0:320]
        field = base + 60 * np.stack(
            [np.sin(x / rng.uniform(20, 80)), np.cos(y / rng.uniform(20, 80)), 0 * x], -1
        )
        image = Image.fromarray(np.clip(field, 0, 255).astype(np.uint8))
        draw = ImageDraw.Draw(image)
        for _ in range(3):
            x0, y0 = int(rng.integers(0, 240)), int(rng.integers(0, 180))
            draw.ellipse((x0, y0, x0 + 60, y0 + 50), fill=tuple(int(c) for c in rng.integers(0, 255, 3)))
        photos.append(image)
    return photos, "synthetic"


def load_catalogue(engine: Engine) -> tuple[TrackCatalogue, str]:
    songs = SHARED / "spotify_songs" / "spotify_songs.csv"
    if songs.exists():
        from recommender.lab.datasets import load_spotify_songs

        rows = [t.row for t in load_spotify_songs(songs)]
        return engine.build_catalogue(rows), "tidytuesday"
    rng = np.random.default_rng(1)
    rows = [
        TrackRow(track_id=i, artist=f"Artist {i % 4000}", title=f"Track {i}", valence=v, arousal=a)
        for i, (v, a) in enumerate(rng.uniform(0, 1, size=(20_000, 2)), start=1)
    ]
    return engine.build_catalogue(rows), "synthetic"


def describe_device(engine: Engine) -> dict[str, object]:
    import faiss
    import torch

    info: dict[str, object] = {"device": engine.device, "torch": torch.__version__}
    if engine.device == "cuda":
        props = torch.cuda.get_device_properties(0)
        info |= {
            "gpu": props.name,
            "gpu_memory_gb": round(props.total_memory / 2**30, 1),
            "cuda": torch.version.cuda,
        }
    encoder = engine.encoder
    info |= {
        "encoder_runtime": getattr(encoder, "runtime", "?"),
        "precision": getattr(encoder, "precision", "fp32"),
        "faiss_gpu": hasattr(faiss, "StandardGpuResources"),
    }
    return info


def time_batches(engine: Engine, photos: list[Image.Image], batch: int) -> dict[str, object]:
    import torch

    engine.encoder.batch_size = batch  # type: ignore[attr-defined]  # one forward pass per batch
    cuda = engine.device == "cuda"
    engine.analyse_batch(photos[:batch])  # warm-up: kernels, cuDNN autotuning
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    per_batch = []
    started = time.perf_counter()
    for start in range(0, len(photos) - batch + 1, batch):
        t0 = time.perf_counter()
        engine.analyse_batch(photos[start : start + batch])
        if cuda:
            torch.cuda.synchronize()
        per_batch.append(time.perf_counter() - t0)
    total = time.perf_counter() - started
    done = len(per_batch) * batch
    record: dict[str, object] = {
        "batch": batch,
        "photos": done,
        "photos_per_s": round(done / total, 1),
        "ms_per_photo": round(1000 * total / done, 3),
        "ms_per_batch_p50": round(1000 * statistics.median(per_batch), 2),
    }
    if cuda:
        record["peak_gpu_memory_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    return record


def agreement(gpu: Engine, cpu: Engine, photos: list[Image.Image]) -> dict[str, object]:
    a, b = gpu.analyse_batch(photos), cpu.analyse_batch(photos)
    dv = np.array([abs(x.valence - y.valence) for x, y in zip(a, b, strict=True)])
    da = np.array([abs(x.arousal - y.arousal) for x, y in zip(a, b, strict=True)])
    de = np.array(
        [max(abs(x.emotions[k] - y.emotions[k]) for k in x.emotions) for x, y in zip(a, b, strict=True)]
    )
    catalogue, source = load_catalogue(cpu)
    overlaps, same_first = [], 0
    for x, y in zip(a, b, strict=True):
        top_gpu = [r.track_id for r in gpu.recommend(x, catalogue, top_k=10)]
        top_cpu = [r.track_id for r in cpu.recommend(y, catalogue, top_k=10)]
        overlaps.append(len(set(top_gpu) & set(top_cpu)) / 10)
        same_first += top_gpu[0] == top_cpu[0]
    return {
        "agreement": f"{gpu.device} vs cpu fp32",
        "photos": len(photos),
        "catalogue": source,
        "tracks": len(catalogue),
        "valence_abs_diff_max": round(float(dv.max()), 5),
        "valence_abs_diff_mean": round(float(dv.mean()), 5),
        "arousal_abs_diff_max": round(float(da.max()), 5),
        "emotion_abs_diff_max": round(float(de.max()), 5),
        "top10_overlap_mean": round(float(np.mean(overlaps)), 4),
        "top10_overlap_min": round(float(np.min(overlaps)), 2),
        "same_first_track": round(same_first / len(photos), 4),
    }


def vector_searches(engine: Engine, photos: list[Image.Image]) -> dict[str, object]:
    """The catalogue's representation searches (k = the candidate pool) on the CPU, then on the GPU
    (faiss-gpu, TrackCatalogue.use_gpu): ms per search and how many of the CPU's rows the GPU found."""
    catalogue, source = load_catalogue(engine)
    k = engine.config.candidate_pool
    record: dict[str, object] = {"searches": source, "tracks": len(catalogue), "k": k}
    for name, matrix in catalogue.vectors.items():
        dim = matrix.shape[1]
        rng = np.random.default_rng(0)
        q = rng.standard_normal((len(photos), dim)).astype(np.float32)
        q /= np.linalg.norm(q, axis=1, keepdims=True)
        started = time.perf_counter()
        cpu_rows = [catalogue.search_vectors(name, x, k)[0] for x in q]
        record[f"{name}_cpu_ms"] = round(1000 * (time.perf_counter() - started) / len(q), 3)
        if not catalogue.use_gpu():
            record["gpu_search"] = "not available (faiss without GPU support, or no GPU)"
            continue
        catalogue.search_vectors(name, q[0], k)  # warm-up
        started = time.perf_counter()
        gpu_rows = [catalogue.search_vectors(name, x, k)[0] for x in q]
        record[f"{name}_gpu_ms"] = round(1000 * (time.perf_counter() - started) / len(q), 3)
        shared = [len(np.intersect1d(a, b)) / max(1, len(a)) for a, b in zip(cpu_rows, gpu_rows, strict=True)]
        record[f"{name}_gpu_vs_cpu_rows"] = round(float(np.mean(shared)), 4)
        catalogue.on_gpu.clear()  # the next representation's CPU figure without the GPU
    return record


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--device", default="auto", choices=["auto", "cuda", "cpu"])
    parser.add_argument("--photos", type=int, default=256)
    parser.add_argument("--batches", default="1,8,32,128")
    parser.add_argument("--reference", type=int, default=64, help="photos compared with the CPU engine")
    args = parser.parse_args()

    base = EngineConfig.from_environment()
    engine = Engine(
        replace(base, device=args.device, runtime="torch" if args.device != "cpu" else base.runtime)
    )
    emit(describe_device(engine))
    photos, source = load_photos(args.photos)
    emit({"photos": len(photos), "source": source})
    summary = {}
    for batch in [int(b) for b in args.batches.split(",")]:
        if batch > len(photos):
            continue
        record = time_batches(engine, photos, batch)
        summary[batch] = record["ms_per_photo"]
        emit(record)
    cpu = Engine(replace(base, device="cpu"))
    emit(agreement(engine, cpu, photos[: args.reference]))
    emit(vector_searches(engine, photos[: args.reference]))
    emit({"summary": "ms per photo by batch", "device": engine.device, "ms_per_photo": summary})


if __name__ == "__main__":
    main()
