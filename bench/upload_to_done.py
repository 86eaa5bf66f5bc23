"""Upload -> done latency through the API with a real Celery worker, PostgreSQL and Redis. Prints JSON.

    .venv/bin/python bench/upload_to_done.py [--photos 60] [--catalogue PATH_OR_URL]

Creates (and drops) a scratch PostgreSQL database, loads the demo catalogue, starts one worker (solo pool,
models preloaded) and a gunicorn web server, then uploads Emotion6 photos from ../shared/data (synthetic
photos when it is absent) one at a time over HTTP (POST /api/photos/ with a token) and polls
GET /api/runs/<id>/ every 10 ms until the run is done.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
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


def _wait_for_http(base: str, timeout: float = 60) -> None:
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            requests.get(f"{base}/accounts/login/", timeout=30)
            return
        except (requests.ConnectionError, requests.Timeout):
            time.sleep(0.2)
    raise TimeoutError("the web server did not start")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--photos", type=int, default=60)
    parser.add_argument("--database", default="postgres://postgres@127.0.0.1:5432/photophone_bench_e2e")
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--catalogue", help="CSV/JSONL to import instead of the demo catalogue")
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
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
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
    import requests
    from django.core.management import call_command
    from rest_framework.authtoken.models import Token

    from accounts.models import User
    from catalogue.models import Track
    from config.celery import app as celery_app
    from tests.worker import Worker

    call_command("migrate", verbosity=0)
    if args.catalogue:
        call_command("import_tracks", args.catalogue, "--no-progress", verbosity=0)
    else:
        call_command("load_demo", verbosity=0)
    celery_app.control.purge()
    catalogue_tracks = Track.objects.filter(is_active=True).count()
    user = User.objects.create_user("bench", password="bench-password-123")
    session = requests.Session()
    session.headers["Authorization"] = f"Token {Token.objects.create(user=user).key}"
    base = f"http://127.0.0.1:{args.port}"

    images, source = photos(args.photos)
    worker = Worker(args.broker, scratch / "worker.log")
    web = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-b",
            f"127.0.0.1:{args.port}",
            "-w",
            "2",
            "config.wsgi:application",
        ],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=open(scratch / "web.log", "wb"),  # noqa: SIM115 - lives as long as the server
    )
    latencies: list[float] = []
    failed = 0
    try:
        worker.wait_ready()
        _wait_for_http(base)
        # One warm-up photo: the first query of a fresh process pays for connections.
        for index, (name, data) in enumerate([images[0], *images]):
            started = time.perf_counter()
            response = session.post(f"{base}/api/photos/", files={"image": (f"{index}-{name}", data)})
            response.raise_for_status()
            run_url = response.headers["Location"]
            while True:
                status = session.get(run_url).json()["status"]
                if status in ("done", "failed"):
                    break
                time.sleep(0.01)
            if index == 0:
                continue
            latencies.append(time.perf_counter() - started)
            failed += status == "failed"
    finally:
        web.terminate()
        web.wait(10)
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
