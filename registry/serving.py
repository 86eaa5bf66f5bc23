"""What a worker serves: the registry's active version of each kind, picked up without a restart.

use_active_versions() runs before every photo run: one primary-key read of RegistryState; only when its
number moved does it read the active versions and hand their artifact directories to the engine
(inference.adapter.serve_artifacts). A trained version's files live in media storage and are copied to a
local cache directory the first time a process serves them (and again when a file there went missing);
a version whose files cannot be had leaves the process serving what it served before, with a log line.

A reranker version may carry corrections of tracks' mood positions (runs rank with a corrected copy of
the index: with_track_moods) and per-user terms (read per run for the run's user: user_weights; they
are rows beside the account, so a deleted account's terms are gone with it).
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from django.conf import settings
from django.core.files.storage import default_storage

from inference import adapter
from inference.adapter import PhotoAnalysis, RankedTrack, TrackCatalogue
from registry.models import ModelVersion, RegistryState, UserTerms

logger = logging.getLogger(__name__)

_served_number: int | None = None
_served: dict[str, str] = {}
_served_names: dict[str, str] = {}
_served_ids: dict[str, int] = {}
# The catalogue index with the served reranker's track corrections: (index, reranker version, corrected).
_corrected: tuple[TrackCatalogue, str, TrackCatalogue] | None = None


def local_artifact_dir(version: ModelVersion) -> Path:
    """A local directory holding the version's files: the repository directory of a shipped artifact, else
    a cache copy of its files in media storage (fetched when absent)."""
    if version.in_repository:
        directory = Path(settings.BASE_DIR) / version.artifact
        if not directory.is_dir():
            raise FileNotFoundError(f"{directory} is missing")
        return directory
    directory = Path(settings.REGISTRY_CACHE_DIR) / version.kind / version.name
    if all((directory / name).exists() for name in version.files):
        return directory
    logger.info("fetching %s from media storage into %s", version.name, directory)
    tmp = directory.with_name(f".{directory.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name in version.files:
        with (
            default_storage.open(f"{version.artifact}/{name}", "rb") as source,
            open(tmp / name, "wb") as target,
        ):
            shutil.copyfileobj(source, target)
    shutil.rmtree(directory, ignore_errors=True)
    tmp.rename(directory)
    return directory


def use_active_versions() -> None:
    """Serve the active versions as committed now (a primary-key read when nothing changed)."""
    global _served_number
    number = RegistryState.current()
    if number == _served_number:
        return
    chosen: dict[str, str] = {}
    names: dict[str, str] = {}
    ids: dict[str, int] = {}
    for version in ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE):
        try:
            chosen[version.kind] = str(local_artifact_dir(version))
            names[version.kind] = version.name
            ids[version.kind] = version.pk
        except Exception as exc:
            logger.error(
                "%s %s cannot be served (%s); serving the previous %s",
                version.kind,
                version.name,
                exc,
                version.kind,
            )
            if version.kind in _served:
                chosen[version.kind] = _served[version.kind]
                names[version.kind] = _served_names[version.kind]
                ids[version.kind] = _served_ids[version.kind]
    adapter.serve_artifacts(chosen)
    _served.clear()
    _served.update(chosen)
    _served_names.clear()
    _served_names.update(names)
    _served_ids.clear()
    _served_ids.update(ids)
    _served_number = number
    logger.info("serving registry v%s: %s", number, chosen)


def served_versions() -> str:
    """The registry versions this process serves, e.g. "mood mood-v3, heads heads-v1, no reranker"."""
    said = [f"{kind} {_served_names[kind]}" for kind in ModelVersion.Kind.values if kind in _served_names]
    if ModelVersion.Kind.RERANKER not in _served_names:
        said.append("no reranker")
    return ", ".join(said)


def forget() -> None:
    """Read the registry again at the next run (tests)."""
    global _served_number, _corrected
    _served_number = None
    _served.clear()
    _served_names.clear()
    _served_ids.clear()
    _corrected = None


def ranking_size(top_k: int) -> int:
    """How many tracks to ask the engine for: more than top_k when a reranker will choose among them."""
    return adapter.pool_size(top_k) if adapter.served_reranker() is not None else top_k


def with_track_moods(catalogue: TrackCatalogue) -> TrackCatalogue:
    """The index to rank with: the served reranker's corrections of tracks' positions applied (a copy made
    once per index and reranker version), or the index itself when it has none."""
    global _corrected
    reranker = adapter.served_reranker()
    if reranker is None or reranker.track_moods is None:
        return catalogue
    if _corrected is None or _corrected[0] is not catalogue or _corrected[1] != reranker.version:
        _corrected = (catalogue, reranker.version, reranker.track_moods.apply(catalogue))
    return _corrected[2]


def user_weights(user_id: int | None) -> np.ndarray | None:
    """The user's own terms for the served reranker, when it has per-user terms and the user has some
    (the row goes with the account)."""
    reranker = adapter.served_reranker()
    version_id = _served_ids.get("reranker")
    if reranker is None or reranker.personal is None or user_id is None or version_id is None:
        return None
    terms = UserTerms.objects.filter(version_id=version_id, user_id=user_id)
    weights = terms.values_list("weights", flat=True).first()
    return None if weights is None else np.asarray(weights, dtype=np.float64)


def rerank(
    ranked: Sequence[RankedTrack],
    analysis: PhotoAnalysis,
    catalogue: TrackCatalogue,
    top_k: int,
    user_id: int | None = None,
) -> Sequence[RankedTrack]:
    """The engine's ranking reordered by the active reranker (with the user's own terms where they have
    some), cut to top_k (unchanged without one)."""
    reranker = adapter.served_reranker()
    if reranker is None:
        return ranked
    weights = user_weights(user_id)
    return adapter.rerank(ranked, analysis.va, catalogue, reranker, top_k, weights)  # type: ignore[arg-type]
