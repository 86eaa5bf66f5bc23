"""Loading a large active catalogue from the database into the engine (an index build): time and peak
memory of the block path the adapter uses (selectors.active_track_blocks -> TrackBlocks of TrackColumns)
against the row path it replaced (one TrackRow per track, from active_track_rows). Prints JSON lines.

    .venv/bin/python bench/catalogue_load.py [--tracks 1000000] [--database sqlite|postgres://...]
                                             [--weights 'va_match=0.667,joint_embedding=0.333']

Creates a scratch database (a SQLite file, or a scratch PostgreSQL database that is dropped afterwards)
with --tracks synthetic tracks (a third annotated, a third with Spotify-style features and valence but
no arousal, a third with both; 40 genres, a few tags each). Then, per path, in a fresh process each
(peak RSS is the process's VmHWM), it reads the catalogue and builds the engine's catalogue index with
the served engine. --weights sets ENGINE_WEIGHTS: by default the shipped defaults, whose joint
embedding gets an approximate index above 50,000 tracks; 'va_match=1' measures the reading and the
catalogue arrays alone. The row path's read (the rows in memory before the build) is reported on its
own too. A warm-up load runs first: it fills the text-embedding store that both paths then read.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from scratch_platform import platform_environment, scratch_postgres  # noqa: E402

BLOCK = 10_000
GENRES = [f"genre {i}" for i in range(40)]
TAGS = ["loud", "calm", "sad", "happy", "live", "remix", "acoustic", "dance"]


def emit(row: dict[str, Any]) -> None:
    print(json.dumps(row), flush=True)


def memory_mb() -> dict[str, int]:
    out = {}
    with open("/proc/self/status") as handle:
        for line in handle:
            key = line.split(":")[0]
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(line.split()[1]) // 1024
    return out


def synthetic_tracks(n: int) -> Iterator[list[dict[str, Any]]]:
    """n synthetic active tracks as field values, BLOCK at a time (never all in memory)."""
    import numpy as np

    rng = np.random.default_rng(7)
    for start in range(0, n, BLOCK):
        size = min(n, start + BLOCK) - start
        va = rng.uniform(0, 1, (size, 2)).tolist()
        features = rng.uniform(0, 1, (size, 6)).tolist()
        block = []
        for j in range(size):
            i = start + j
            kind = i % 3  # 0 annotated, 1 features only, 2 both
            f = features[j] if kind != 0 else [None] * 6
            block.append(
                {
                    "external_id": f"bench-{i}",
                    "title": f"Track {i}",
                    "artist": f"Artist {i // 3}",
                    "genre": GENRES[i % len(GENRES)],
                    "tags": [TAGS[(i + k) % len(TAGS)] for k in range(i % 3)],
                    "valence": va[j][0],  # feature-only tracks: Spotify's valence
                    "arousal": va[j][1] if kind != 1 else None,
                    "energy": f[0],
                    "danceability": f[1],
                    "acousticness": f[2],
                    "tempo": None if f[3] is None else 60 + 120 * f[3],
                    "loudness": None if f[4] is None else -20 + 17 * f[4],
                    "speechiness": None if f[5] is None else 0.3 * f[5],
                    "mode": i % 2 if kind != 0 else None,
                    "key": i % 12 if kind != 0 else None,
                }
            )
        yield block


def insert_tracks(n: int) -> None:
    """n synthetic tracks written past the ORM (its bulk_create took tens of minutes for 1M): PostgreSQL
    COPY, or executemany on SQLite, BLOCK rows at a time; every other column gets its field's default.
    Then the catalogue version moves, as for any write past the ORM."""
    import datetime

    from django.db import connection, transaction

    from catalogue.models import CatalogueVersion, Track

    fields = [f for f in Track._meta.concrete_fields if not f.primary_key]
    columns = [str(f.column) for f in fields]
    now = connection.ops.adapt_datetimefield_value(datetime.datetime.now(datetime.UTC))
    defaults = {
        f.attname: now if f.attname in ("created_at", "updated_at") else f.get_default() for f in fields
    }
    defaults["is_active"] = True

    def values(track: dict[str, Any]) -> list[Any]:
        row = {**defaults, **track, "tags": json.dumps(track["tags"])}
        return [row[f.attname] for f in fields]

    table = Track._meta.db_table
    with transaction.atomic():
        CatalogueVersion.bump(connection.alias)  # first, as the ORM's writes do
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                raw = cursor.cursor  # psycopg 3
                with raw.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    for block in synthetic_tracks(n):
                        for track in block:
                            copy.write_row(values(track))
            else:
                marks = ", ".join(["%s"] * len(columns))
                sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
                for block in synthetic_tracks(n):
                    cursor.executemany(sql, [values(track) for track in block])


def load_worker(path: str) -> None:
    """One load in this process: read the catalogue and build the engine's catalogue index."""
    import django

    django.setup()
    from catalogue.selectors import active_track_blocks, active_track_rows
    from inference import adapter
    from recommender.track_columns import TrackBlocks, TrackColumns
    from recommender.types import TrackRow

    engine = adapter.engine()
    engine.build_catalogue([])  # strategies' models loaded: not part of the load
    before = memory_mb()
    started = time.perf_counter()
    out: dict[str, Any] = {"event": "load", "path": path, "rss_before_mb": before["VmRSS"]}
    if path == "rows":
        rows = [TrackRow(**row) for row in active_track_rows()]
        out["read_s"] = round(time.perf_counter() - started, 2)
        out["rss_after_read_mb"] = memory_mb()["VmRSS"]
        catalogue = engine.build_catalogue(rows)
        del rows
    else:
        # The warm-up reads the first block only: its tracks hold every genre and tag text the others do.
        read = itertools.islice(active_track_blocks(), 1 if path == "warm_up" else None)
        catalogue = engine.build_catalogue(TrackBlocks(TrackColumns(**block) for block in read))
    after = memory_mb()
    out.update(
        {
            "tracks": len(catalogue),
            "positioned": catalogue.positioned_count,
            "load_s": round(time.perf_counter() - started, 2),
            "peak_rss_mb": after["VmHWM"],
            "peak_over_before_mb": after["VmHWM"] - before["VmRSS"],
            "rss_after_mb": after["VmRSS"],
            "representations": {name: list(m.shape) for name, m in catalogue.vectors.items()},
            "approximate": sorted(catalogue.approximate),
        }
    )
    emit(out)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tracks", type=int, default=1_000_000)
    parser.add_argument("--database", default="sqlite", help="'sqlite' or a postgres:// URL (scratch)")
    parser.add_argument("--weights", default="", help="ENGINE_WEIGHTS for the engine (default: shipped)")
    parser.add_argument("--paths", default="blocks,rows")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        load_worker(args.worker)
        return

    scratch = Path(tempfile.mkdtemp(prefix="photophone-bench-catalogue-load-"))
    database = f"sqlite:///{scratch / 'bench.sqlite3'}" if args.database == "sqlite" else args.database
    extra = {"PHOTOPHONE_PRELOAD": "0", "ENGINE_MODEL_DIR": str(scratch / "models"), "LOG_LEVEL": "WARNING"}
    if args.weights:
        extra["ENGINE_WEIGHTS"] = args.weights
    platform_environment(database, "memory://", scratch, **extra)
    if database.startswith("postgres"):
        with scratch_postgres(database):
            measure(args, database)
    else:
        measure(args, database)


def measure(args: argparse.Namespace, database: str) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    insert_tracks(args.tracks)
    connections.close_all()
    emit(
        {
            "event": "catalogue",
            "tracks": args.tracks,
            "database": database.split(":", 1)[0],
            "insert_s": round(time.perf_counter() - started, 1),
            "weights": args.weights or "shipped defaults",
        }
    )
    results = {}
    # A first load (of the first block) fills the text-embedding store (ENGINE_MODEL_DIR) and exports
    # nothing else: the measured loads then find the same state, whichever comes first.
    for path in ["warm_up", *args.paths.split(",")]:
        done = subprocess.run(
            [sys.executable, __file__, "--worker", path],
            env=os.environ.copy(),
            capture_output=True,
            text=True,
        )
        if done.returncode:
            emit({"event": "error", "path": path, "stderr": done.stderr[-2000:]})
            continue
        result = json.loads(done.stdout.strip().splitlines()[-1])
        if path == "warm_up":
            emit({"event": "warm_up", "load_s": result["load_s"], "peak_rss_mb": result["peak_rss_mb"]})
            continue
        print(json.dumps(result), flush=True)
        results[path] = result
    if {"rows", "blocks"} <= set(results):
        rows, blocks = results["rows"], results["blocks"]
        emit(
            {
                "event": "blocks_vs_rows",
                "tracks": args.tracks,
                "load_s_ratio": round(blocks["load_s"] / max(rows["load_s"], 1e-9), 3),
                "peak_over_before_ratio": round(
                    blocks["peak_over_before_mb"] / max(rows["peak_over_before_mb"], 1), 3
                ),
                "peak_rss_mb": {"blocks": blocks["peak_rss_mb"], "rows": rows["peak_rss_mb"]},
            }
        )


if __name__ == "__main__":
    main()
