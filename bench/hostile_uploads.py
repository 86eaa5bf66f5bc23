#!/usr/bin/env python
"""What decode bombs (small files that declare big images) cost the web process, and then the worker.

Each file goes through the whole request path (middleware, the API view, the upload service) with
Django's test client, in a fresh child process that stands for one web worker, against a temporary SQLite
database and an in-memory broker. Then the uploads the request kept as they came are re-encoded as the
worker does before their run (photos.services.photos.normalise_stored_upload), in the same process.
Prints one JSON object: per kind of bomb, the answers, and for the web and the worker side each the CPU
seconds, the wall seconds and the peak resident memory (VmHWM, reset before each kind) above what the
process held when that kind started; and the CPU totals.

    python bench/hostile_uploads.py                     # this checkout, 3 uploads of each of 8 kinds
    python bench/hostile_uploads.py --repo /tmp/before  # another checkout (e.g. an older commit)
    python bench/hostile_uploads.py --scale 0.2 --per-kind 1   # a quick smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# Run inside the child (in the checkout under test): make the bombs, upload each, measure.
CHILD = r"""
import io, json, os, resource, sys, time
import django
from PIL import Image

django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from accounts.models import User
from photos.models import Photo

SCALE = float(os.environ["BENCH_SCALE"])
PER_KIND = int(os.environ["BENCH_PER_KIND"])


def status_kib(field):
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def reset_peak():
    # Linux: writing 5 to clear_refs resets the peak resident size (VmHWM) to the current one.
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
    except OSError:
        pass
    return status_kib("VmRSS")


def encoded(image, fmt, **options):
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def scaled(size):
    return max(1, int(size[0] * SCALE)), max(1, int(size[1] * SCALE))


def kinds():
    # ~39 megapixels declared (just under the old 40 MP cap) in a small file, and ~23 megapixels (just
    # under the 24 MP cap), which the web request used to decode in full. --scale shrinks both (smoke runs).
    big, under = scaled((7200, 5400)), scaled((6000, 3900))
    blue = Image.new("RGB", big, (90, 140, 200))
    yield "jpeg_39mp_solid", "jpeg_39mp_solid.jpg", encoded(blue, "JPEG", quality=30)
    yield "png_39mp_rgb", "png_39mp_rgb.png", encoded(blue, "PNG", optimize=True)
    yield "png_39mp_1bit", "png_39mp_1bit.png", encoded(Image.new("1", big), "PNG", optimize=True)
    yield "gif_39mp_palette", "gif_39mp_palette.gif", encoded(Image.new("P", big), "GIF")
    translucent = Image.new("RGBA", under, (90, 140, 200, 128))
    yield "png_23mp_rgba", "png_23mp_rgba.png", encoded(translucent, "PNG", optimize=True)
    yield "png_23mp_1bit", "png_23mp_1bit.png", encoded(Image.new("1", under), "PNG", optimize=True)
    flat = Image.new("RGB", under, (90, 140, 200))
    yield "webp_23mp_rgb", "webp_23mp_rgb.webp", encoded(flat, "WEBP")
    yield "tiff_23mp_rgb", "tiff_23mp_rgb.tif", encoded(flat, "TIFF", compression="tiff_deflate")


def measure(step):
    start_rss = reset_peak()
    cpu, wall = time.process_time(), time.perf_counter()
    outcome = step()
    return outcome, {
        "cpu_seconds": round(time.process_time() - cpu, 3),
        "wall_seconds": round(time.perf_counter() - wall, 3),
        "peak_rss_above_start_mb": round((status_kib("VmHWM") - start_rss) / 1024, 1),
    }


user = User.objects.create_user("bench", password="x")
client = Client(HTTP_HOST="localhost")
client.force_login(user)
files = list(kinds())
# One ordinary photo first, so that no kind pays for the first request's imports and connections.
warm = SimpleUploadedFile("warm.jpg", encoded(Image.new("RGB", (64, 48)), "JPEG"))
assert client.post("/api/photos/", {"image": warm}).status_code == 202
results = {}
web_cpu = 0.0
for kind, name, data in files:
    def send():
        codes = []
        for n in range(PER_KIND):
            # A different file each time (a byte appended), so no upload is answered from an earlier one.
            upload = SimpleUploadedFile(name, data + bytes([n]), content_type="application/octet-stream")
            codes.append(client.post("/api/photos/", {"image": upload}).status_code)
        return codes
    codes, web = measure(send)
    web_cpu += web["cpu_seconds"]
    results[kind] = {
        "file_bytes": len(data),
        "uploads": PER_KIND,
        "answers": {str(c): codes.count(c) for c in sorted(set(codes))},
        "web": web,
    }

# The worker's side: the uploads the request kept as they came, re-encoded as a worker does before a run.
try:
    from photos.services.photos import PhotoRejected, normalise_stored_upload
except ImportError:  # a checkout from before the split
    normalise_stored_upload = None
worker_cpu = 0.0
if normalise_stored_upload is not None:
    waiting = {}
    for photo in Photo.objects.all():
        if photo.awaits_normalising:
            waiting.setdefault(photo.original_name, []).append(photo.pk)
    for kind, name, data in files:
        ids = waiting.pop(name, [])
        if not ids:
            continue
        def normalise():
            refused = 0
            for pk in ids:
                try:
                    normalise_stored_upload(pk)
                except PhotoRejected:
                    refused += 1
            return refused
        refused, worker = measure(normalise)
        worker_cpu += worker["cpu_seconds"]
        results[kind]["worker"] = {"photos": len(ids), "refused": refused, **worker}

print(json.dumps({
    "uploads": PER_KIND * len(files),
    "scale": SCALE,
    "web_cpu_seconds": round(web_cpu, 3),
    "worker_cpu_seconds": round(worker_cpu, 3),
    "kinds": results,
}))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, default=REPO, help="the checkout to measure (default: this one)")
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--per-kind", type=int, default=3, help="uploads of each kind (default 3)")
    parser.add_argument("--scale", type=float, default=1.0, help="declared sizes times this (smoke: 0.2)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "PHOTOPHONE_VAR_DIR": tmp,
            "DATABASE_URL": f"sqlite:///{tmp}/bench.sqlite3",
            "CELERY_BROKER_URL": "memory://",
            "PHOTOPHONE_PRELOAD": "0",
            "THROTTLE_UPLOADS": "1000/minute",
            "LOG_LEVEL": "ERROR",
            "PYTHONPATH": str(args.repo.resolve()),
            "BENCH_SCALE": str(args.scale),
            "BENCH_PER_KIND": str(args.per_kind),
        }
        child = subprocess.run(
            [args.python, "-c", CHILD], cwd=args.repo, env=env, capture_output=True, text=True, check=False
        )
    sys.stderr.write(child.stderr[-4000:])
    if child.returncode != 0:
        sys.stderr.write(child.stderr[-4000:])
        return child.returncode
    result = json.loads(child.stdout.strip().splitlines()[-1])
    print(json.dumps({"repo": str(args.repo.resolve()), **result}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
