#!/usr/bin/env python
"""What 24 decode bombs (small files that declare big images) cost the web process.

Each file goes through the whole request path (middleware, the API view, the upload service) with
Django's test client, in a fresh child process that stands for one web worker, against a temporary SQLite
database and an in-memory broker. Prints one JSON object: per kind of bomb and in total, the answers,
the CPU seconds, the wall seconds and the process's peak resident memory (VmHWM) above what it held
before the first upload.

    python bench/hostile_uploads.py                     # this checkout
    python bench/hostile_uploads.py --repo /tmp/before  # another checkout (e.g. an older commit)
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


def peak_kib():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def encoded(image, fmt, **options):
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def kinds():
    # ~39 megapixels declared (just under the old 40 MP cap) in a small file, and ~23 megapixels (just
    # under the new 24 MP cap), which still has to be decoded in full.
    big, under = (7200, 5400), (6000, 3900)
    yield "jpeg_39mp_solid", "b.jpg", encoded(Image.new("RGB", big, (90, 140, 200)), "JPEG", quality=30)
    yield "png_39mp_rgb", "b.png", encoded(Image.new("RGB", big, (90, 140, 200)), "PNG", optimize=True)
    yield "png_39mp_1bit", "b.png", encoded(Image.new("1", big), "PNG", optimize=True)
    yield "gif_39mp_palette", "b.gif", encoded(Image.new("P", big), "GIF")
    translucent = Image.new("RGBA", under, (90, 140, 200, 128))
    yield "png_23mp_rgba", "b.png", encoded(translucent, "PNG", optimize=True)
    yield "png_23mp_1bit", "b.png", encoded(Image.new("1", under), "PNG", optimize=True)


user = User.objects.create_user("bench", password="x")
client = Client(HTTP_HOST="localhost")
client.force_login(user)
files = list(kinds())
per_kind = 24 // len(files)
baseline = peak_kib()
results = {}
cpu0, wall0 = time.process_time(), time.perf_counter()
for kind, name, data in files:
    codes = []
    cpu, wall = time.process_time(), time.perf_counter()
    for n in range(per_kind):
        # A different file each time (a byte appended), so no upload is answered from an earlier one.
        upload = SimpleUploadedFile(name, data + bytes([n]), content_type="application/octet-stream")
        answer = client.post("/api/photos/", {"image": upload})
        codes.append(answer.status_code)
    results[kind] = {
        "file_bytes": len(data),
        "uploads": per_kind,
        "answers": {str(c): codes.count(c) for c in sorted(set(codes))},
        "cpu_seconds": round(time.process_time() - cpu, 3),
        "wall_seconds": round(time.perf_counter() - wall, 3),
        "peak_rss_above_start_mb_so_far": round((peak_kib() - baseline) / 1024, 1),
    }
print(json.dumps({
    "uploads": per_kind * len(files),
    "cpu_seconds": round(time.process_time() - cpu0, 3),
    "wall_seconds": round(time.perf_counter() - wall0, 3),
    "peak_rss_above_start_mb": round((peak_kib() - baseline) / 1024, 1),
    "kinds": results,
}))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, default=REPO, help="the checkout to measure (default: this one)")
    parser.add_argument("--python", default=sys.executable)
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
