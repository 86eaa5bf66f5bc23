#!/usr/bin/env python
"""Benchmark what every photo run pays to learn the catalogue's version: the old fingerprint (an aggregate
COUNT/MAX over the active tracks) against the new version read (catalogue.models.CatalogueVersion, one
primary-key read), side by side over the same catalogue.

Prints one JSON object with a result per database: SQLite always (a temporary file), and PostgreSQL as well
when DATABASE_URL points at a PostgreSQL server; each gives the median, mean and 95th percentile of both
reads in milliseconds and the ratio of the medians (old / new).

    python bench/catalogue_version.py
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test python bench/catalogue_version.py
    python bench/catalogue_version.py --copies 36   # about a million tracks (28k x 36)

The catalogue is the TidyTuesday file imported (28k tracks), then copied --copies - 1 more times under other
ids. On PostgreSQL a scratch database (photophone_bench_version, or --scratch-db) is created on that server
and dropped afterwards; the database named in the URL is only used to connect.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from import_tracks import scratch_database  # bench/import_tracks.py, beside this script

REPO = Path(__file__).resolve().parent.parent
DEFAULT_FILE = REPO.parent / "shared" / "data" / "spotify_songs" / "spotify_songs.csv"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--file", type=Path, default=DEFAULT_FILE, help="CSV or JSON Lines file to import")
    parser.add_argument("--copies", type=int, default=1, help="catalogue size: the file's tracks times this")
    parser.add_argument("--repeat", type=int, default=300, help="timed reads of each kind")
    parser.add_argument("--scratch-db", default="photophone_bench_version", help="PostgreSQL scratch db")
    parser.add_argument("--child", help=argparse.SUPPRESS)  # run one database in this process
    args = parser.parse_args()
    if not args.file.exists():
        print(f"benchmark file not found: {args.file}", file=sys.stderr)
        return 2
    if args.child:
        return _child(args)

    url = os.environ.get("DATABASE_URL", "")
    databases = ["sqlite", *(["postgresql"] if url.startswith(("postgres://", "postgresql://")) else [])]
    result: dict[str, Any] = {"file": str(args.file), "copies": args.copies, "repeat": args.repeat}
    for database in databases:
        command = [sys.executable, __file__, *sys.argv[1:], "--child", database]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode:
            print(done.stderr, file=sys.stderr)
            return done.returncode
        result[database] = json.loads(done.stdout)
    print(json.dumps(result, indent=2))
    return 0


def _child(args: argparse.Namespace) -> int:
    with scratch_database(args.scratch_db, postgres=args.child == "postgresql"):
        print(json.dumps(_measure(args.file, args.copies, args.repeat)))
    return 0


def _fingerprint() -> str:
    """The old catalogue.selectors.catalogue_fingerprint(), as it was before the version row."""
    from django.db.models import Count, Max

    from catalogue.models import Track

    stats = Track.objects.filter(is_active=True).aggregate(
        count=Count("id"), last_update=Max("updated_at"), last_id=Max("id")
    )
    last_update = stats["last_update"]
    stamp = last_update.strftime("%Y%m%dT%H%M%S%f") if last_update else "none"
    return f"{stats['count']}-{stats['last_id'] or 0}-{stamp}"


def _copy_catalogue(copies: int) -> None:
    """Copies of every imported track under ids ending '#<n>' (one INSERT ... SELECT each)."""
    from django.db import connection, transaction

    from catalogue.models import CatalogueVersion, Track

    fields = [f for f in Track._meta.concrete_fields if not f.primary_key]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column or f.attname) for f in fields)
    table = quote(Track._meta.db_table)
    for n in range(1, copies):
        selected = ", ".join(
            f"{quote(f.column or f.attname)} || '#{n}'"
            if f.attname == "external_id"
            else quote(f.column or f.attname)
            for f in fields
        )
        with transaction.atomic():
            CatalogueVersion.bump()  # past the ORM: the writer moves the version itself
            with connection.cursor() as cursor:
                cursor.execute(
                    f"INSERT INTO {table} ({columns}) SELECT {selected} FROM {table} "
                    f"WHERE {quote('external_id')} NOT LIKE '%%#%%'"
                )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"VACUUM ANALYZE {table}")


def _timed(read: Callable[[], str], repeat: int) -> dict[str, float]:
    for _ in range(10):  # warm up: connection, statement caches, pages in memory
        read()
    seconds = []
    for _ in range(repeat):
        started = time.perf_counter()
        read()
        seconds.append(time.perf_counter() - started)
    ms = sorted(s * 1000 for s in seconds)
    return {
        "median_ms": round(statistics.median(ms), 4),
        "mean_ms": round(statistics.fmean(ms), 4),
        "p95_ms": round(ms[int(0.95 * (len(ms) - 1))], 4),
    }


def _measure(path: Path, copies: int, repeat: int) -> dict[str, Any]:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from catalogue.importer import import_tracks
    from catalogue.models import Track
    from catalogue.selectors import catalogue_version

    call_command("migrate", "catalogue", verbosity=0)
    import_tracks(path, source_name=path.name)
    _copy_catalogue(copies)
    old = _timed(_fingerprint, repeat)
    new = _timed(catalogue_version, repeat)
    return {
        "database": connection.vendor,
        "active_tracks": Track.objects.filter(is_active=True).count(),
        "old_fingerprint": old,
        "new_version_read": new,
        "ratio_median_old_over_new": round(old["median_ms"] / new["median_ms"], 1),
        "version": catalogue_version(),
    }


if __name__ == "__main__":
    raise SystemExit(main())
