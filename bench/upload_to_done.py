"""Upload -> done latency through the API with a real Celery worker, PostgreSQL and Redis. Prints JSON.

    .venv/bin/python bench/upload_to_done.py [--photos 60] [--database postgres://postgres@127.0.0.1:5432/photophone_bench]

Creates (and drops) a scratch PostgreSQL database, loads the demo catalogue, starts one worker (solo pool,
models preloaded), uploads Emotion6 photos from ../shared/data (synthetic photos when it is absent) one at a
time through POST /api/photos/ and polls GET /api/runs/<id>/ every 10 ms until the run is done.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def photos(n: int) -> tuple[list[tuple[str, bytes]], str]:
    folder = REPO.parent / "shared" / "data" / "emotion6" / "images"
    if folder.is_dir():
        files = sorted(folder.rglob("*.jpg"))[:: max(1, len(list(folder.rglob("*.jpg"))) // n)][:n]
        return [(f.name, f.read_bytes()) for f in files], "emotion6"
    from PIL import Image

    out = []
    for i in range(n):
        buffer = io.BytesIO()
        Image.new("RGB", (320, 240), ((i * 37) % 256, (i * 91) % 256, (i * 53) % 256)).save(buffer, "JPEG")
        out.append((f"synthetic-{i}.jpg", buffer.getvalue()))
    return out, "synthetic (../shared/data absent)"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--photos", type=int, default=60)
    parser.add_argument("--database", default="postgres://postgres@127.0.0.1:5432/photophone_bench_e2e")
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/14")
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="photophone-bench-"))
    os.environ.update(
        {
            "DATABASE_URL": args.database,
            "CELERY_BROKER_URL": args.broker,
            "MEDIA_ROOT": str(scratch / "media"),
            "ENGINE_INDEX_DIR": str(scratch / "index"),
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "THROTTLE_UPLOADS": "100000/minute",
        }
    )
    import psycopg

    dbname = args.database.rsplit("/", 1)[1]
    admin_url = args.database.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{dbname}"')
        conn.execute(f'CREATE DATABASE "{dbname}"')

    import django

    django.setup()
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.core.management import call_command
    from rest_framework.test import APIClient

    from accounts.models import User
    from catalogue.models import Track
    from config.celery import app as celery_app
    from tests.worker import Worker

    call_command("migrate", verbosity=0)
    call_command("load_demo", verbosity=0)
    celery_app.control.purge()
    catalogue_tracks = Track.objects.filter(is_active=True).count()
    user = User.objects.create_user("bench", password="bench-password-123")
    api = APIClient()
    api.force_authenticate(user)

    images, source = photos(args.photos)
    worker = Worker(args.broker, scratch / "worker.log")
    latencies: list[float] = []
    failed = 0
    try:
        worker.wait_ready()
        # One warm-up photo: the first query of a fresh process pays for connections.
        for index, (name, data) in enumerate([images[0], *images]):
            started = time.perf_counter()
            response = api.post("/api/photos/", {"image": SimpleUploadedFile(f"{index}-{name}", data)})
            run_id = response.json()["id"]
            while True:
                status = api.get(f"/api/runs/{run_id}/").json()["status"]
                if status in ("done", "failed"):
                    break
                time.sleep(0.01)
            if index == 0:
                continue
            latencies.append(time.perf_counter() - started)
            failed += status == "failed"
    finally:
        worker.stop()
        from django.db import connections

        connections.close_all()
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{dbname}"')

    latencies.sort()
    ms = [x * 1000 for x in latencies]
    print(
        json.dumps(
            {
                "benchmark": "upload_to_done",
                "photos": len(ms),
                "photo_source": source,
                "catalogue_tracks": catalogue_tracks,
                "failed_runs": failed,
                "p50_ms": round(statistics.median(ms), 1),
                "p95_ms": round(ms[min(len(ms) - 1, int(0.95 * len(ms)))], 1),
                "max_ms": round(ms[-1], 1),
                "mean_ms": round(statistics.mean(ms), 1),
                "target_p95_ms": 1000,
                "database": "postgresql",
                "broker": "redis",
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
