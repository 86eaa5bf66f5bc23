"""Playlists and soundtracks at scale, with a real Celery worker, PostgreSQL and Redis. Prints JSON.

    .venv/bin/python bench/soundtrack_export.py [--tracks 30000] [--photos 50] [--length 100]

Creates (and drops) a scratch PostgreSQL database with --tracks synthetic tracks (valence, arousal,
energy, tempo and the other Spotify-style features drawn at random; three tracks per artist), stores
--photos photos (Emotion6 photos from ../shared/data, synthetic ones when it is absent) for one user,
starts one worker (solo pool, models and the index loaded before it says ready), then:

- soundtrack: one soundtrack of --length tracks for the photos in order, from the moment it is queued
  to the moment its playlist is written (seconds end to end on the worker), and when the photos were
  analysed (progress 50%);
- export: a 1,000-track playlist written as JSPF, XSPF and M3U8 (median of 5, milliseconds, bytes);
- import: the JSPF and XSPF exports imported back (matched by catalogue id), milliseconds.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from scratch_platform import platform_environment, sample_photos, scratch_postgres  # noqa: E402


def synthetic_tracks(n: int) -> list:
    import numpy as np

    from catalogue.models import Track

    rng = np.random.default_rng(7)
    va = rng.uniform(0, 1, (n, 2))
    return [
        Track(
            external_id=f"bench-{i}",
            title=f"Track {i}",
            artist=f"Artist {i // 3}",
            genre=("pop", "rock", "edm", "latin", "r&b", "rap")[i % 6],
            valence=float(va[i, 0]),
            arousal=float(va[i, 1]),
            energy=float(np.clip(va[i, 1] + rng.normal(0, 0.1), 0, 1)),
            tempo=float(70 + 110 * va[i, 1] + rng.normal(0, 8)),
            danceability=float(rng.uniform(0.2, 0.9)),
            acousticness=float(rng.uniform(0, 1)),
            instrumentalness=float(rng.uniform(0, 1) ** 3),
            liveness=float(rng.uniform(0.05, 0.4)),
            speechiness=float(rng.uniform(0.02, 0.3)),
            loudness=float(rng.uniform(-14, -3)),
            mode=int(rng.integers(0, 2)),
            key=int(rng.integers(0, 12)),
            duration_ms=int(rng.uniform(150_000, 300_000)),
            musicbrainz_recording_id=f"{i:08x}-0000-4000-8000-000000000000" if i % 2 else "",
        )
        for i in range(n)
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tracks", type=int, default=30_000)
    parser.add_argument("--photos", type=int, default=50)
    parser.add_argument("--length", type=int, default=100, help="tracks in the soundtrack")
    parser.add_argument("--database", default="postgres://postgres@127.0.0.1:5432/photophone_bench_playlists")
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/13")
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="photophone-bench-playlists-"))
    platform_environment(args.database, args.broker, scratch, LOG_LEVEL="WARNING")
    with scratch_postgres(args.database):
        result = run(args, scratch)
    print(json.dumps(result, indent=2))


def run(args: argparse.Namespace, scratch: Path) -> dict[str, object]:
    import django

    django.setup()
    from django.core.management import call_command

    from accounts.models import User
    from catalogue.models import Track
    from config.celery import app as celery_app
    from photos.services.photos import store_photo
    from playlists.formats import FORMATS, export
    from playlists.models import Soundtrack
    from playlists.services import playlists as playlist_service
    from playlists.services import soundtrack_runs
    from playlists.services.documents import playlist_document
    from playlists.services.imports import import_playlist
    from tests.worker import Worker

    result: dict[str, object] = {"catalogue_tracks": args.tracks}
    worker = None
    try:
        call_command("migrate", verbosity=0)
        started = time.perf_counter()
        Track.objects.bulk_create(synthetic_tracks(args.tracks), batch_size=5000)
        result["catalogue_load_s"] = round(time.perf_counter() - started, 2)
        user = User.objects.create_user("bench", password="bench-password-123")
        files, source = sample_photos(args.photos)
        photos = [store_photo(user, io.BytesIO(data), name) for name, data in files]
        result["photos"] = {"count": len(photos), "source": source}

        celery_app.conf.broker_url = args.broker
        celery_app.control.purge()
        started = time.perf_counter()
        worker = Worker(args.broker, scratch / "worker.log")
        worker.wait_ready(timeout=900)
        result["worker_ready_s"] = round(time.perf_counter() - started, 2)  # models + the 30k index

        started = time.perf_counter()
        soundtrack = soundtrack_runs.create(user, photos, n_tracks=args.length, title="Bench")
        analysed_at = None
        while True:
            soundtrack.refresh_from_db()
            elapsed = time.perf_counter() - started
            if analysed_at is None and soundtrack.progress >= 50:
                analysed_at = elapsed
            if soundtrack.is_finished or elapsed > 900:
                break
            time.sleep(0.05)
        assert soundtrack.status == Soundtrack.Status.DONE, soundtrack.error
        assert soundtrack.playlist is not None
        result["soundtrack"] = {
            "photos": len(photos),
            "tracks": soundtrack.playlist.entries.count(),
            "queued_to_done_s": round(elapsed, 2),
            "photos_analysed_after_s": round(analysed_at or elapsed, 2),
            "steps_beyond_bounds": len(soundtrack.off_bounds),
            "distinct_artists": soundtrack.playlist.entries.values("artist").distinct().count(),
        }
        worker.stop()
        worker = None

        playlist = playlist_service.create(user, "Thousand")
        playlist_service.add_tracks(playlist, user, list(Track.objects.order_by("?")[:1000]))
        exports: dict[str, object] = {}
        texts = {}
        for fmt in FORMATS:
            times = []
            for _ in range(5):
                started = time.perf_counter()
                texts[fmt] = export(playlist_document(playlist), fmt)
                times.append(time.perf_counter() - started)
            exports[fmt] = {
                "ms_median": round(statistics.median(times) * 1000, 1),
                "bytes": len(texts[fmt].encode()),
            }
        result["export_1000_tracks"] = exports
        imports = {}
        for fmt in ("jspf", "xspf"):
            started = time.perf_counter()
            imported = import_playlist(user, texts[fmt].encode(), f"thousand.{fmt}")
            imports[fmt] = {
                "ms": round((time.perf_counter() - started) * 1000, 1),
                "matched": imported.matched,
                "unmatched": len(imported.unmatched),
            }
        result["import_1000_tracks"] = imports
    finally:
        if worker is not None:
            worker.stop()
    return result


if __name__ == "__main__":
    main()
