"""Celery tasks: thin wrappers over the services."""

from __future__ import annotations

import os
import socket

from celery import shared_task

from playlists.services import soundtrack_runs


# A 50-photo soundtrack over a large catalogue takes longer than a photo run: its own limits.
@shared_task(name=soundtrack_runs.SOUNDTRACK_TASK, soft_time_limit=600, time_limit=660)
def build_soundtrack(soundtrack_id: int) -> None:
    soundtrack_runs.execute(soundtrack_id, worker=f"{socket.gethostname()}:{os.getpid()}")


@shared_task(name="playlists.tasks.reap_soundtracks")
def reap_soundtracks() -> dict[str, int]:
    return soundtrack_runs.reap()
