"""The engine's track index, as the admin sees it: its status (from the files under ENGINE_INDEX_DIR) and
a rebuild that a worker runs (catalogue.tasks.rebuild_index, on the default queue).

An index directory is named "<catalogue version>-<digest of what built it>" and holds a COMPLETE marker
once saved (inference.adapter); a builder holds an flock on ".build-<index version>.lock" while it builds.
"""

from __future__ import annotations

import fcntl
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

from catalogue.selectors import active_track_blocks, catalogue_version
from config.celery import publish
from inference import adapter

REBUILD_TASK = "catalogue.tasks.rebuild_index"


@dataclass
class IndexStatus:
    catalogue_version: str
    built: list[str] = field(default_factory=list)  # complete index versions on disk
    building: list[str] = field(default_factory=list)  # versions a process holds the build lock of

    @property
    def up_to_date(self) -> bool:
        return any(version.startswith(f"{self.catalogue_version}-") for version in self.built)

    @property
    def state(self) -> str:
        if self.up_to_date:
            return "up to date"
        if any(version.startswith(f"{self.catalogue_version}-") for version in self.building):
            return "being built"
        return "not built for this catalogue version (the next photo run or a rebuild builds it)"


def status() -> IndexStatus:
    found = IndexStatus(catalogue_version=catalogue_version())
    root = Path(settings.ENGINE_INDEX_DIR)
    if not root.is_dir():
        return found
    for entry in sorted(root.iterdir()):
        if entry.is_dir() and not entry.name.startswith(".") and (entry / "COMPLETE").exists():
            found.built.append(entry.name)
        elif entry.name.startswith(".build-") and entry.name.endswith(".lock") and _is_locked(entry):
            found.building.append(entry.name.removeprefix(".build-").removesuffix(".lock"))
    return found


def _is_locked(path: Path) -> bool:
    """Whether a process holds the build lock (probed with a shared, non-blocking lock, let go at once)."""
    try:
        with path.open("rb") as file:
            try:
                fcntl.flock(file, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(file, fcntl.LOCK_UN)
    except FileNotFoundError:  # the build finished and removed it meanwhile
        return False
    return False


def request_rebuild() -> bool:
    """Queue a build of the index for the current catalogue version; False when the broker is unreachable."""
    return publish(REBUILD_TASK)


def rebuild() -> str:
    """Build (or load) the index for the catalogue as it is now; returns the index version. A no-op build
    when that version is already on disk: what moves the index is the catalogue's version."""
    version, _ = adapter.current_index(catalogue_version(), active_track_blocks)
    return version
