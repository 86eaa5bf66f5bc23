"""What the platform benches (serving, upload_to_done, soundtrack_export) set up the same way: a scratch
PostgreSQL database, the environment a Django process of theirs runs in, and sample photos.

Imported by the bench scripts as a sibling module (they run as `python bench/<name>.py`).
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
EMOTION6_IMAGES = REPO.parent / "shared" / "data" / "emotion6" / "images"


def _split(url: str) -> tuple[str, str]:
    """(the server's maintenance-database URL, the database name) of a postgres:// URL."""
    server, name = url.rsplit("/", 1)
    return f"{server}/postgres", name


def recreate_postgres(url: str) -> None:
    """Drop the database at url if it exists and create it empty."""
    import psycopg

    admin, name = _split(url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_postgres(url: str) -> None:
    """Drop the database at url, closing whatever connections still hold it."""
    import psycopg

    admin, name = _split(url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def scratch_postgres(url: str) -> Iterator[str]:
    """A fresh, empty database at url for the block; dropped afterwards (Django's connections closed
    first when Django is set up)."""
    recreate_postgres(url)
    try:
        yield url
    finally:
        _close_django_connections()
        drop_postgres(url)


def postgres_answers(url: str) -> bool:
    """Whether the PostgreSQL server of url accepts a connection within 2 s."""
    try:
        import psycopg

        psycopg.connect(_split(url)[0], connect_timeout=2).close()
        return True
    except Exception:
        return False


def platform_environment(database: str, broker: str, scratch: Path, **extra: str) -> None:
    """Point this process (and the workers and servers it starts) at the scratch database, broker, media
    and index folders; set before django.setup()."""
    os.environ.update(
        {
            "DATABASE_URL": database,
            "CELERY_BROKER_URL": broker,
            "MEDIA_ROOT": str(scratch / "media"),
            "ENGINE_INDEX_DIR": str(scratch / "index"),
            "DJANGO_SETTINGS_MODULE": "config.settings",
            **extra,
        }
    )


def sample_photos(n: int) -> tuple[list[tuple[str, bytes]], str]:
    """n (file name, JPEG bytes) spread over Emotion6 (../shared/data), or made-up ones when it is absent;
    and which of the two."""
    if EMOTION6_IMAGES.is_dir():
        files = sorted(EMOTION6_IMAGES.rglob("*.jpg"))
        files = files[:: max(1, len(files) // n)][:n]
        return [(f.name, f.read_bytes()) for f in files], "emotion6"
    from PIL import Image

    out = []
    for i in range(n):
        buffer = io.BytesIO()
        Image.new("RGB", (320, 240), ((i * 37) % 256, (i * 91) % 256, (i * 53) % 256)).save(buffer, "JPEG")
        out.append((f"synthetic-{i}.jpg", buffer.getvalue()))
    return out, "synthetic (../shared/data absent)"


def _close_django_connections() -> None:
    try:
        from django.db import connections

        connections.close_all()
    except Exception:  # Django not set up: nothing to close
        pass
