"""The one place where Django reaches the engine (recommender/, plain Python).

Engine settings come from Django settings (themselves from the environment) and nowhere else; every Django
process gets the same engine, the same audio analyser and the same track index through these functions.

The index is rebuilt when its version changes and saved as a versioned directory under ENGINE_INDEX_DIR,
so other worker processes memory-map it instead of building it again. The version is the catalogue's
version plus a digest of the index format and of what computes the strategies' track vectors (a
retrained heads artifact or another text model gives a new index, not stale vectors).

This module imports no Django app: callers pass the catalogue's version and a way to read its tracks (in
blocks of columns: catalogue.selectors.active_track_blocks).
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import logging
import shutil
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings

from recommender.audio_analysis import (
    MIN_SECONDS,
    AudioAnalyser,
    AudioError,
    AudioReading,
    embedding_to_bytes,
)
from recommender.catalogue_index import FORMAT, TrackCatalogue
from recommender.config import EFFICIENTNET_LITE0, active_artifact
from recommender.describe import (
    describe_photo_mood,
    photo_arousal_for_words,
    photo_arousal_from_words,
    plain_reason,
    strategy_label,
)
from recommender.heads.model import DEFAULT_HEADS_DIR, load_heads, rank_photos_for_track
from recommender.model_cache import MODELS
from recommender.photo_inputs import decode_photo
from recommender.pipeline import Engine, EngineConfig, get_engine, lift_target
from recommender.ranking import Ranking
from recommender.reranker import Reranker, pool_size, reordered_head, rerank
from recommender.track_columns import TrackBlocks, TrackColumns
from recommender.types import FeedbackItem, PhotoAnalysis, RankedTrack, TrackFilter, TrackRow

__all__ = [  # what Django code may use of the engine, besides the functions below
    "MIN_SECONDS",
    "AudioError",
    "AudioReading",
    "Engine",
    "FeedbackItem",
    "PhotoAnalysis",
    "RankedTrack",
    "Ranking",
    "Reranker",
    "TrackCatalogue",
    "TrackFilter",
    "decode_photo",
    "describe_photo_mood",
    "embedding_to_bytes",
    "lift_target",
    "photo_arousal_for_words",
    "photo_arousal_from_words",
    "plain_reason",
    "pool_size",
    "reordered_head",
    "rerank",
    "strategy_label",
]

logger = logging.getLogger(__name__)
_lock = threading.Lock()
_index: tuple[str, TrackCatalogue] | None = None

# The active catalogue in blocks of columns, each a mapping of TrackColumns's fields.
TrackSource = Callable[[], Iterable[Mapping[str, Any]]]
# Encoder embeddings of real photos, (m, d) float32 (photos.selectors.recent_photo_embeddings).
PhotoEmbeddingSource = Callable[[], np.ndarray]
# Where every index build reads them unless its caller gives its own: the photos app, which sits above
# the catalogue app that also builds indexes, registers its reader at startup (PhotosConfig.ready).
_calibration_photos: PhotoEmbeddingSource | None = None
# Artifact directories by kind ("mood", "heads", "reranker") the model registry marks active: see
# serve_artifacts.
_served_artifacts: dict[str, str] = {}


def engine_config() -> EngineConfig:
    """The served engine's configuration: settings.ENGINE (from the ENGINE_* environment variables), with
    the mood and heads artifacts given to serve_artifacts where settings.ENGINE has the shipped default
    (an ENGINE_MOOD_ARTIFACT or ENGINE_HEADS_ARTIFACT setting pins its artifact) and the encoder is the
    default one the registry's versions are trained on."""
    config: EngineConfig = settings.ENGINE
    if config.encoder != EFFICIENTNET_LITE0:
        return config
    chosen: dict[str, Any] = {
        f"{kind}_artifact": path
        for kind, path in _served_artifacts.items()
        if kind in ("mood", "heads") and getattr(config, f"{kind}_artifact") == _shipped_artifact(kind)
    }
    return replace(config, **chosen) if chosen else config


@functools.cache
def _shipped_artifact(kind: str) -> str:
    return str(active_artifact(kind))


def serve_artifacts(artifacts: Mapping[str, str]) -> None:
    """Serve these artifact directories by kind (the model registry's active versions) from the next call
    on; a kind left out goes back to settings.ENGINE's artifact (for "reranker": no reranking)."""
    _served_artifacts.clear()
    _served_artifacts.update(artifacts)


def served_reranker() -> Reranker | None:
    """The reranker given to serve_artifacts (loaded once per directory through the model cache)."""
    directory = _served_artifacts.get("reranker")
    if directory is None:
        return None
    return MODELS.get("reranker", lambda: Reranker.load(directory), artifact=directory)


def engine() -> Engine:
    """The process's engine for the served configuration (its models come from the model cache)."""
    return get_engine(engine_config())


def engine_version() -> str:
    """Which encoder and mood model produced a result (stored with every run)."""
    current = engine()
    return f"{current.config.encoder}+mood-{current.mood.version}"


def unload_idle_models() -> None:
    """Start unloading models idle for ENGINE_IDLE_UNLOAD_SECONDS (when set) in the background."""
    MODELS.start_idle_reaper(engine_config().idle_unload_seconds)


def audio_analyser() -> AudioAnalyser:
    return MODELS.get("vibenet", AudioAnalyser)


def photos_for_track(
    track: Mapping[str, Any], embeddings: list[np.ndarray], reference: Iterable[Mapping[str, Any]] = ()
) -> list[tuple[int, float]]:
    """Music -> photo in Emo-CLIM's joint space: (position in embeddings, fit 0-1), best first. Embeddings
    of another size (another encoder made them) cannot be compared and are left out. reference: a sample of
    the catalogue's tracks, against which each photo's fit is taken (see rank_photos_for_track)."""
    heads = load_heads(str(DEFAULT_HEADS_DIR))
    usable = [i for i, e in enumerate(embeddings) if len(e) == heads.embedding_dim]
    if not usable:
        return []
    photos = np.stack([embeddings[i] for i in usable])
    others = [TrackRow(**row) for row in reference]
    order, scores = rank_photos_for_track(heads, TrackRow(**track), photos, others)
    return [(usable[int(i)], float(scores[int(i)])) for i in order]


def index_version(catalogue_version: str) -> str:
    """'<catalogue version>-<digest>': the digest covers the index format, the approximate-index
    threshold and every strategy's track-vector version."""
    built_by = "\n".join(
        [FORMAT, f"approximate_above={engine().config.approximate_above}", engine().representation_version()]
    )
    return f"{catalogue_version}-{hashlib.sha256(built_by.encode()).hexdigest()[:12]}"


def calibrate_with(photo_embeddings: PhotoEmbeddingSource | None) -> None:
    """Set where index builds read real photos' embeddings (None: calibrate on perturbed tracks)."""
    global _calibration_photos
    _calibration_photos = photo_embeddings


def current_index(
    catalogue_version: str, tracks: TrackSource, photo_embeddings: PhotoEmbeddingSource | None = None
) -> tuple[str, TrackCatalogue]:
    """The track index for this catalogue version, with its full version: from memory, from disk (another
    process built it), or built from tracks() and saved. photo_embeddings() (read only for a build; by
    default the source set by calibrate_with): real photos' encoder embeddings, whose queries calibrate
    the approximate searches of a large catalogue
    (Engine.calibration_queries); without them, or too few, they are calibrated on perturbed tracks.

    One process builds a version while the others wait for it; a process that still holds the previous
    version keeps answering with it meanwhile instead of waiting."""
    global _index
    version = index_version(catalogue_version)
    with _lock:
        if _index is not None and _index[0] == version:
            return _index
        index_root = Path(settings.ENGINE_INDEX_DIR)
        index_root.mkdir(parents=True, exist_ok=True)
        with open(index_root / f".build-{version}.lock", "a+b") as lock_file:
            try:
                fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if _index is not None:
                    logger.info("index %s is being built by another process; serving %s", version, _index[0])
                    return _index
                fcntl.flock(lock_file, fcntl.LOCK_EX)  # wait for the builder, then load what it saved
            try:
                catalogue = _load_saved(index_root / version)
                if catalogue is None:
                    blocks = TrackBlocks(TrackColumns(**block) for block in tracks())
                    source = photo_embeddings or _calibration_photos
                    photos = source() if source is not None else None
                    catalogue = engine().build_catalogue(blocks, version=version, photo_embeddings=photos)
                    _save(catalogue, index_root, version)
            finally:
                fcntl.flock(lock_file, fcntl.LOCK_UN)
        if engine().device == "cuda" and catalogue.use_gpu():
            logger.info("index %s: the track searches run on the GPU", version)
        _index = (version, catalogue)
        return _index


def _load_saved(directory: Path) -> TrackCatalogue | None:
    if not (directory / "COMPLETE").exists():
        return None
    try:
        return TrackCatalogue.load(directory)
    except Exception:  # a half-written or old-format index is rebuilt, not trusted
        logger.warning("index %s unreadable; rebuilding", directory, exc_info=True)
        return None


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
        if old.name.startswith(".build-") and old.name != f".build-{version}.lock":
            old.unlink(missing_ok=True)
        elif old.name != version and not old.name.startswith("."):
            shutil.rmtree(old, ignore_errors=True)


def forget_index() -> None:
    """Drop the index held in memory (the next call loads or builds it again)."""
    global _index
    with _lock:
        _index = None


def reset() -> None:
    """Forget the cached engine and index and the served artifacts (tests, settings changes)."""
    forget_index()
    _served_artifacts.clear()
    MODELS.clear()
