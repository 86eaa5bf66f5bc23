"""The engine inside a Django process: models load once per process, the track index follows the catalogue.

The index is rebuilt when its version changes and saved as a versioned directory under ENGINE_INDEX_DIR,
so other worker processes memory-map it instead of building it again. The version is the catalogue's
fingerprint plus a digest of the index format and of what computes the strategies' track vectors (a
retrained heads artifact or another text model gives a new index, not stale vectors).
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import threading
from functools import lru_cache
from pathlib import Path

from django.conf import settings

from catalogue.selectors import active_track_rows, catalogue_fingerprint
from recommender.engine.catalogue_index import FORMAT, TrackCatalogue
from recommender.engine.pipeline import Engine, EngineConfig, get_engine
from recommender.engine.types import TrackRow

logger = logging.getLogger(__name__)
_lock = threading.Lock()
_catalogue: tuple[str, TrackCatalogue] | None = None


@lru_cache(maxsize=1)
def engine() -> Engine:
    return get_engine(EngineConfig.for_encoder(settings.ENGINE_ENCODER, clip_dir=settings.ENGINE_CLIP_DIR))


def engine_version() -> str:
    """Which encoder and mood model produced a result (stored with every run)."""
    current = engine()
    return f"{current.config.encoder}+mood-{current.mood.version}"


def _rows() -> list[TrackRow]:
    return [TrackRow(**row) for row in active_track_rows()]


def index_version() -> str:
    """'<catalogue fingerprint>-<digest>': the digest covers the index format, the approximate-index
    threshold and every strategy's track-vector version."""
    built_by = "\n".join(
        [FORMAT, f"approximate_above={engine().config.approximate_above}", engine().representation_version()]
    )
    return f"{catalogue_fingerprint()}-{hashlib.sha256(built_by.encode()).hexdigest()[:12]}"


def current_catalogue() -> tuple[str, TrackCatalogue]:
    """The track index for the active catalogue as it is now, with its version."""
    global _catalogue
    version = index_version()
    with _lock:
        if _catalogue is not None and _catalogue[0] == version:
            return _catalogue
        index_root = Path(settings.ENGINE_INDEX_DIR)
        directory = index_root / version
        catalogue: TrackCatalogue | None = None
        if (directory / "COMPLETE").exists():
            try:
                catalogue = TrackCatalogue.load(directory)
            except Exception:  # a half-written or old-format index is rebuilt, not trusted
                logger.warning("index %s unreadable; rebuilding", directory, exc_info=True)
        if catalogue is None:
            catalogue = engine().build_catalogue(_rows(), version=version)
            _save(catalogue, index_root, version)
        _catalogue = (version, catalogue)
        return _catalogue


def _save(catalogue: TrackCatalogue, index_root: Path, version: str) -> None:
    """Write to a temporary directory and rename, so a reader never sees half an index."""
    index_root.mkdir(parents=True, exist_ok=True)
    tmp = index_root / f".{version}.{threading.get_ident()}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    catalogue.save(tmp)
    (tmp / "COMPLETE").touch()
    target = index_root / version
    try:
        tmp.rename(target)
    except OSError:  # another process saved the same version first
        shutil.rmtree(tmp, ignore_errors=True)
    for old in index_root.iterdir():
        if old.name not in (version,) and not old.name.startswith("."):
            shutil.rmtree(old, ignore_errors=True)


def reset() -> None:
    """Forget the cached index (tests)."""
    global _catalogue
    with _lock:
        _catalogue = None
