"""Upload -> done latency through the API with a real Celery worker, PostgreSQL and Redis. Prints JSON.

    .venv/bin/python bench/upload_to_done.py [--photos 60] [--catalogue PATH_OR_URL]
    .venv/bin/python bench/upload_to_done.py --load 30 [--clients 8] [--tree DIR]

--load SECONDS: sustained throughput instead, with the compose CPU worker's setup (prefork, concurrency 2,
queues default and inference) and the compose web server (gunicorn -c platform/gunicorn.conf.py):
--clients threads each upload a photo and poll its run (every --poll-ms) until done, again and again,
for SECONDS; it
reports runs/s and the p50/p95 upload -> done latency. --tree measures another checkout (e.g. a worktree
of an older commit) with this script.

Creates (and drops) a scratch PostgreSQL database, loads the demo catalogue, starts one worker (solo pool,
models preloaded) and a gunicorn web server, then uploads Emotion6 photos from ../shared/data (synthetic
photos when it is absent) one at a time over HTTP (POST /api/photos/ with a token) and polls
GET /api/runs/<id>/ every 10 ms until the run is done.
"""

from __future__ import annotations

import argparse
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

# This checkout's, even when --tree measures another one (whose tests/ may not have it).
from scratch_platform import platform_environment, sample_photos, scratch_postgres  # noqa: E402

from tests.worker import celery_worker_command  # noqa: E402


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


def stop_server(web: subprocess.Popen[bytes]) -> None:
    """Terminate the web server; kill it if it has not exited within 15 s (a busy machine)."""
    web.terminate()
    try:
        web.wait(15)
    except subprocess.TimeoutExpired:
        web.kill()
        web.wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--photos", type=int, default=60)
    parser.add_argument("--database", default="postgres://postgres@127.0.0.1:5432/photophone_bench_e2e")
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--catalogue", help="CSV/JSONL to import instead of the demo catalogue")
    parser.add_argument("--load", type=float, default=0, help="seconds of sustained load (throughput mode)")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument(
        "--poll-ms",
        type=float,
        default=100,
        help="how often a load client asks for its run (the page: 300 ms up)",
    )
    parser.add_argument("--tree", type=Path, default=REPO, help="the checkout to measure")
    args = parser.parse_args()
    if args.tree != REPO:
        os.chdir(args.tree)
        sys.path.insert(0, str(args.tree))

    scratch = Path(tempfile.mkdtemp(prefix="photophone-bench-"))
    platform_environment(
        args.database,
        args.broker,
        scratch,
        THROTTLE_UPLOADS="100000/minute",
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
    )
    with scratch_postgres(args.database):
        run(args, scratch)


def run(args: argparse.Namespace, scratch: Path) -> None:
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

    images, source = sample_photos(args.photos)
    if args.load:
        throughput(args, scratch, session, base, images, source, catalogue_tracks)
        return
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
        worker.wait_ready(timeout=900)  # models and the index, on a busy machine too
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
        stop_server(web)
        worker.stop()

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


def throughput(args, scratch, session, base, images, source, catalogue_tracks) -> None:
    """Sustained load with the compose CPU worker's and web server's setup."""
    import threading

    import requests

    tree = Path(args.tree)
    env = {**os.environ, "PHOTOPHONE_PRELOAD": "1", "GUNICORN_BIND": f"127.0.0.1:{args.port}"}
    worker = subprocess.Popen(
        celery_worker_command(sys.executable, "-Q", "default,inference", "--concurrency=2"),
        cwd=tree,
        env=env,
        stdout=open(scratch / "worker.log", "wb"),  # noqa: SIM115 - lives as long as the worker
        stderr=subprocess.STDOUT,
    )
    web = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "platform/gunicorn.conf.py", "config.wsgi:application"],
        cwd=tree,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(scratch / "web.log", "wb"),  # noqa: SIM115 - lives as long as the server
    )
    latencies: list[float] = []
    failed = [0]
    lock = threading.Lock()
    stop_at = [0.0]

    def client(n: int) -> None:
        own = requests.Session()
        own.headers.update(session.headers)
        i = n
        while time.monotonic() < stop_at[0]:
            name, data = images[i % len(images)]
            i += args.clients
            started = time.perf_counter()
            response = own.post(f"{base}/api/photos/", files={"image": (f"{n}-{i}-{name}", data)})
            if response.status_code != 202:
                with lock:
                    failed[0] += 1
                continue
            url = response.headers["Location"]
            while (status := own.get(url).json()["status"]) not in ("done", "failed"):
                time.sleep(args.poll_ms / 1000)
            with lock:
                latencies.append(time.perf_counter() - started)
                failed[0] += status == "failed"

    try:
        deadline = time.monotonic() + 180
        while b" ready." not in (scratch / "worker.log").read_bytes() and time.monotonic() < deadline:
            time.sleep(0.2)
        _wait_for_http(base)
        time.sleep(2)  # the prefork children preload after the parent says ready
        stop_at[0] = time.monotonic() + 3  # warm-up, not counted
        warm = [threading.Thread(target=client, args=(n,)) for n in range(args.clients)]
        for t in warm:
            t.start()
        for t in warm:
            t.join()
        latencies.clear()
        failed[0] = 0
        started = time.monotonic()
        stop_at[0] = started + args.load
        threads = [threading.Thread(target=client, args=(n,)) for n in range(args.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - started
    finally:
        worker.terminate()
        stop_server(web)
        worker.wait(30)
    ms = sorted(x * 1000 for x in latencies)
    print(
        json.dumps(
            {
                "benchmark": "upload_to_done_throughput",
                "tree": str(tree),
                "seconds": round(elapsed, 1),
                "clients": args.clients,
                "poll_ms": args.poll_ms,
                "runs_done": len(ms),
                "failed": failed[0],
                "runs_per_s": round(len(ms) / elapsed, 2),
                "p50_ms": round(statistics.median(ms), 1) if ms else None,
                "p95_ms": round(ms[min(len(ms) - 1, int(0.95 * len(ms)))], 1) if ms else None,
                "photo_source": source,
                "catalogue_tracks": catalogue_tracks,
                "worker": "prefork, concurrency 2, queues default+inference (compose CPU worker)",
                "web": "gunicorn -c platform/gunicorn.conf.py (3 workers x 2 threads)",
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
