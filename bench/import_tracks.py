#!/usr/bin/env python
"""Benchmark the track importer: a fresh database, the TidyTuesday file imported, then imported again.

Prints one JSON object: rows, unique tracks, seconds and tracks per second for the first import, for a
re-import of the same file (every track unchanged) and for a re-import after every track was altered in
the database (every track updated).

    python bench/import_tracks.py                      # a temporary SQLite file
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres python bench/import_tracks.py

With a PostgreSQL DATABASE_URL the benchmark creates a scratch database (photophone_bench, or --scratch-db)
on that server and drops it afterwards; the database named in the URL is only used to connect.

--worker-mb MB: the admin's import as people meet it. A CSV of about MB megabytes with every column the
importer reads is generated, uploaded through the admin's import page (a signed-in superuser, Django's test
client), and imported by a real Celery worker (solo pool) started for it. Prints the upload request's
seconds (it only stores the file and queues the job), the job's seconds from the upload to "done", rows per
second, and the worker's peak RSS:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres CELERY_BROKER_URL=redis://127.0.0.1:6379/5 \
        python bench/import_tracks.py --worker-mb 50 [--dry-run]

Without CELERY_BROKER_URL the worker uses the embedded (filesystem) broker.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

REPO = Path(__file__).resolve().parent.parent
DEFAULT_FILE = REPO.parent / "shared" / "data" / "spotify_songs" / "spotify_songs.csv"


def _postgres_admin(url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(sql)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--file", type=Path, default=DEFAULT_FILE, help="CSV or JSON Lines file to import")
    parser.add_argument("--scratch-db", default="photophone_bench", help="PostgreSQL scratch database name")
    parser.add_argument(
        "--worker-mb", type=float, help="time the admin import of a generated file of this size on a worker"
    )
    parser.add_argument("--dry-run", action="store_true", help="with --worker-mb: a dry run, not an import")
    args = parser.parse_args()
    if args.worker_mb:
        with scratch_database(args.scratch_db):
            return _run_on_worker(args.worker_mb, dry_run=args.dry_run)
    if not args.file.exists():
        print(f"benchmark file not found: {args.file}", file=sys.stderr)
        return 2
    with scratch_database(args.scratch_db):
        return _run(args.file)


@contextmanager
def scratch_database(name: str, *, postgres: bool | None = None) -> Iterator[None]:
    """Point Django at a database made for the benchmark, and remove it afterwards: a temporary SQLite
    file, or with a PostgreSQL DATABASE_URL (postgres=None: whatever DATABASE_URL says) a database of this
    name on that server. Call before django.setup()."""
    workdir = tempfile.TemporaryDirectory(prefix="photophone-bench-")
    url = os.environ.get("DATABASE_URL", "")
    if postgres is None:
        postgres = url.startswith(("postgres://", "postgresql://"))
    admin_url = ""
    if postgres:
        admin_url = url
        os.environ["DATABASE_URL"] = urlunparse(urlparse(url)._replace(path=f"/{name}"))
        _postgres_admin(admin_url, f'DROP DATABASE IF EXISTS "{name}"')
        _postgres_admin(admin_url, f'CREATE DATABASE "{name}"')
    else:
        os.environ["DATABASE_URL"] = f"sqlite:///{workdir.name}/bench.sqlite3"
    os.environ["PHOTOPHONE_VAR_DIR"] = workdir.name  # keep the settings' side effects out of var/
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(REPO))
    try:
        yield
    finally:
        from django.db import connections

        connections.close_all()
        if admin_url:
            _postgres_admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        workdir.cleanup()


def _run(path: Path) -> int:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from catalogue.importer import ImportReport, import_tracks
    from catalogue.models import Track

    call_command("migrate", "catalogue", verbosity=0)

    def timed(label: str) -> tuple[ImportReport, dict[str, Any]]:
        started = time.perf_counter()
        report = import_tracks(path, source_name=path.name)
        seconds = time.perf_counter() - started
        return report, {
            "seconds": round(seconds, 3),
            "created": report.created,
            "updated": report.updated,
            "unchanged": report.unchanged,
            "tracks_per_second": round(report.tracks / seconds),
            "rows_per_second": round(report.rows / seconds),
        }

    first, first_figures = timed("import")
    _, unchanged_figures = timed("reimport")
    Track.objects.update(energy=None)  # every track now differs from the file
    _, update_figures = timed("update")
    from catalogue.selectors import active_track_rows

    started = time.perf_counter()
    engine_rows = len(active_track_rows())  # what a worker reads to (re)build its index
    read_seconds = time.perf_counter() - started
    result = {
        "database": connection.vendor,
        "file": str(path),
        "rows": first.rows,
        "unique_tracks": first.tracks,
        "rejected": len(first.rejected),
        "duplicate_rows_merged": first.duplicates,
        "tracks_in_db": Track.objects.count(),
        "seconds": first_figures["seconds"],
        "tracks_per_second": first_figures["tracks_per_second"],
        "import": first_figures,
        "reimport_unchanged": unchanged_figures,
        "reimport_update": update_figures,
        "engine_read": {"rows": engine_rows, "seconds": round(read_seconds, 3)},
    }
    print(json.dumps(result, indent=2))
    return 0


COLUMNS = (
    "id,title,artist,album,year,genre,language,tags,danceability,energy,key,loudness,mode,speechiness,"
    "acousticness,instrumentalness,liveness,valence,arousal,tempo,duration_ms,time_signature"
)
GENRES = ("pop", "rock", "rap", "r&b", "latin", "edm", "jazz", "folk")


def write_catalogue_file(path: Path, megabytes: float) -> int:
    """A CSV of about `megabytes` MB of distinct, valid tracks (seeded); returns its data rows."""
    import random

    rng = random.Random(0)
    target = int(megabytes * 1024 * 1024)
    rows = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(COLUMNS + "\n")
        written = len(COLUMNS) + 1
        while written < target:
            r = rng.random
            line = (
                f"bench-{rows:08d},Song number {rows} of the benchmark,Artist {rows % 9973},"
                f"Album {rows % 31337},{1960 + rows % 64},{GENRES[rows % len(GENRES)]},"
                f'{"es" if rows % 5 == 0 else "en"},"night drive;summer {rows % 50}",'
                f"{r():.4f},{r():.4f},{rows % 12},{-20 * r():.3f},{rows % 2},{r():.4f},{r():.4f},{r():.4f},"
                f"{r():.4f},{r():.4f},{r():.4f},{60 + 140 * r():.3f},{120000 + rows % 180000},4\n"
            )
            out.write(line)
            written += len(line.encode())
            rows += 1
    return rows


def _memory_mb(pid: int, field: str = "VmHWM") -> float:
    """The process's peak (VmHWM) or current (VmRSS) resident memory, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def _run_on_worker(megabytes: float, *, dry_run: bool) -> int:
    import django

    os.environ.setdefault("PHOTOPHONE_PRELOAD", "0")
    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    from accounts.models import User
    from catalogue.models import ImportJob, Track
    from tests.worker import Worker

    call_command("migrate", verbosity=0)
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    workdir = Path(os.environ["PHOTOPHONE_VAR_DIR"])
    path = workdir / "bench-catalogue.csv"
    rows = write_catalogue_file(path, megabytes)
    client = Client()
    client.force_login(User.objects.create_superuser("bench", "bench@example.com", "unused"))
    broker = os.environ.get("CELERY_BROKER_URL", "filesystem://")
    worker = Worker(broker, workdir / "worker.log", queues="default", PHOTOPHONE_PRELOAD="0")
    try:
        worker.wait_ready()
        client.get(reverse("admin:catalogue_importjob_add"))  # the first request loads the admin's code
        idle_rss = _memory_mb(worker.process.pid, "VmRSS")
        with path.open("rb") as upload:
            started = time.perf_counter()
            response = client.post(
                reverse("admin:catalogue_importjob_add"), {"file": upload, "dry_run": "on" if dry_run else ""}
            )
            request_seconds = time.perf_counter() - started
        if response.status_code != 302:
            print(f"the upload was refused: {response.status_code}", file=sys.stderr)
            return 1
        job = ImportJob.objects.get()
        while job.status in (ImportJob.Status.QUEUED, ImportJob.Status.RUNNING):
            time.sleep(0.25)
            job.refresh_from_db()
        seconds = time.perf_counter() - started
        peak_rss = _memory_mb(worker.process.pid)
    finally:
        worker.stop()
    if job.status != ImportJob.Status.DONE:
        print(f"the job failed: {job.error}\n{(workdir / 'worker.log').read_text()[-3000:]}", file=sys.stderr)
        return 1
    report = job.report or {}
    result = {
        "database": connection.vendor,
        "broker": broker.split(":", 1)[0],
        "dry_run": dry_run,
        "file_mb": round(path.stat().st_size / 1024 / 1024, 1),
        "rows": report.get("rows", rows),
        "created": report.get("created"),
        "rejected": report.get("rejected_total"),
        "tracks_in_db": Track.objects.count(),
        "request_seconds": round(request_seconds, 3),
        "seconds": round(seconds, 3),
        "import_seconds": report.get("seconds"),
        "rows_per_second": round(report.get("rows", rows) / seconds),
        "worker_idle_rss_mb": idle_rss,
        "worker_peak_rss_mb": peak_rss,
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
