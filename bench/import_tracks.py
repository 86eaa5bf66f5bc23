#!/usr/bin/env python
"""Benchmark the track importer: a fresh database, the TidyTuesday file imported, then imported again.

Prints one JSON object: rows, unique tracks, seconds and tracks per second for the first import, for a
re-import of the same file (every track unchanged) and for a re-import after every track was altered in
the database (every track updated).

    python bench/import_tracks.py                      # a temporary SQLite file
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres python bench/import_tracks.py

With a PostgreSQL DATABASE_URL the benchmark creates a scratch database (photophone_bench, or --scratch-db)
on that server and drops it afterwards; the database named in the URL is only used to connect.
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
    args = parser.parse_args()
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


if __name__ == "__main__":
    raise SystemExit(main())
