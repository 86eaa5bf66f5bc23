"""Photo files in media storage. One file per content hash (photos/ab/abcdef....jpg), shared by every Photo
row of that hash (the same photo uploaded by several users): the file goes when its last row is deleted
(once the deletion commits), and files that no row names (an upload whose transaction rolled back, a
crash between writing the file and the row) are swept once they are older than
settings.PHOTO_ORPHAN_AFTER_SECONDS.

Writing a file and naming it in a row (store_photo) and checking a file is unnamed and removing it happen
under one lock per file name, so a removal never takes the file of a photo being stored at the same time.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.files.storage import Storage
from django.db import connection, transaction
from django.utils import timezone

from photos.models import Photo

logger = logging.getLogger(__name__)

PHOTO_DIR = "photos"


def storage() -> Storage:
    return Photo._meta.get_field("image").storage


def lock_file_name(name: str) -> None:
    """Hold the lock on this file name until the current transaction ends (call inside atomic())."""
    if connection.vendor == "postgresql":
        key = int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])
    # SQLite: every transaction takes the write lock when it begins (BEGIN IMMEDIATE, config/settings.py),
    # which serialises these transactions already.


def remove_if_unreferenced(name: str) -> bool:
    """Delete the file unless a Photo row names it; True when it was deleted."""
    if not name:
        return False
    with transaction.atomic():
        lock_file_name(name)
        if Photo.objects.filter(image=name).exists():
            return False
        storage().delete(name)
    return True


def remove_when_deleted(sender: Any, instance: Photo, **_: Any) -> None:
    """post_delete of a Photo, however it is deleted (the site, the API, the admin, an account's
    cascade): its file goes once the deletion commits, unless another row still names it."""
    name = instance.image.name
    if name:
        transaction.on_commit(lambda: remove_if_unreferenced(name))


def _files(directory: str) -> Iterator[str]:
    directories, files = storage().listdir(directory)
    for file in files:
        yield f"{directory}/{file}"
    for sub in directories:
        yield from _files(f"{directory}/{sub}")


def sweep_orphans(older_than_seconds: int | None = None, *, dry_run: bool = False) -> dict[str, int]:
    """Delete the photo files that no Photo row names and that were last written more than
    older_than_seconds ago (default settings.PHOTO_ORPHAN_AFTER_SECONDS). Returns what it saw and did."""
    after = settings.PHOTO_ORPHAN_AFTER_SECONDS if older_than_seconds is None else older_than_seconds
    cutoff = timezone.now() - timedelta(seconds=after)
    files = storage()
    counts = {"files": 0, "orphans": 0, "removed": 0}
    if not files.exists(PHOTO_DIR):
        return counts
    batch: list[str] = []

    def settle(names: list[str]) -> None:
        named = set(Photo.objects.filter(image__in=names).values_list("image", flat=True))
        for name in names:
            if name in named or files.get_modified_time(name) >= cutoff:
                continue
            counts["orphans"] += 1
            if not dry_run and remove_if_unreferenced(name):
                counts["removed"] += 1
        names.clear()

    for name in _files(PHOTO_DIR):
        counts["files"] += 1
        batch.append(name)
        if len(batch) >= 500:
            settle(batch)
    settle(batch)
    if counts["removed"]:
        logger.info("removed %d photo files no photo uses", counts["removed"])
    return counts
