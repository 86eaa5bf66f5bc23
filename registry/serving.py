"""What a worker serves: the registry's active version of each kind, picked up without a restart.

active() is the one home of "rank with the registry's active versions", shared by the photo runs'
worker, `manage.py recommend` and the soundtracks (the command and the web's worker task): the engine with
the active mood and heads, the index with the active reranker's track corrections, and the reranker with
the user's own terms (for a user's run; the commands personalise nothing).

use_active_versions() runs before every photo run: a primary-key read of RegistryState (in active(), one
statement with the catalogue's version); only when its number moved does it read the active versions and
hand their artifact directories to the engine (inference.adapter.serve_artifacts). A trained version's
files live in media storage and are copied to a local cache directory the first time a process serves them
(and again when a file there went missing); a version whose files cannot be had leaves the process serving
what it served before, with a log line.

A reranker version may carry corrections of tracks' mood positions (runs rank with a corrected copy of
the index: with_track_moods) and per-user terms (read per run for the run's user: Served.user_weights;
they are rows beside the account, so a deleted account's terms are gone with it).
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import connection

from catalogue.models import CatalogueVersion
from catalogue.selectors import active_track_blocks
from inference import adapter
from inference.adapter import Engine, PhotoAnalysis, RankedTrack, Reranker, TrackCatalogue
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


def use_active_versions(number: int | None = None) -> None:
    """Serve the active versions as committed now (a primary-key read when nothing changed; none when
    the caller read the registry's number)."""
    global _served_number
    number = RegistryState.current() if number is None else number
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


@dataclass(frozen=True)
class Served:
    """The registry's active versions as one use reads them (a batch of photo runs, a command, a
    soundtrack), so that its photos are read and ranked by the same versions."""

    engine: Engine
    catalogue_version: str
    catalogue: TrackCatalogue  # with the reranker's corrections of tracks' positions, when it has some
    reranker: Reranker | None
    reranker_id: int | None  # its registry row (per-user terms hang on it)

    def user_weights(self, user_id: int | None) -> np.ndarray | None:
        """The user's own terms for this reranker, when it has per-user terms and the user has some (the
        row goes with the account)."""
        if self.reranker is None or self.reranker.personal is None or user_id is None:
            return None
        if self.reranker_id is None:
            return None
        terms = UserTerms.objects.filter(version_id=self.reranker_id, user_id=user_id)
        weights = terms.values_list("weights", flat=True).first()
        return None if weights is None else np.asarray(weights, dtype=np.float64)

    def recommend(
        self, analysis: PhotoAnalysis, top_k: int, user_id: int | None = None, **options: Any
    ) -> Sequence[RankedTrack]:
        """The top_k for the photo: the engine's ranking (options: its feedback, mode, context, ...)
        reordered by the reranker, with the user's own terms where they have some."""
        size = adapter.pool_size(top_k) if self.reranker is not None else top_k
        ranking = self.engine.recommend(analysis, self.catalogue, top_k=size, **options)
        if self.reranker is None:
            return ranking
        weights = self.user_weights(user_id)
        return adapter.rerank(ranking, analysis.va, self.catalogue, self.reranker, top_k, weights)

    def ranked_scores(
        self, analysis: PhotoAnalysis, limit: int, head: int, user_id: int | None = None, **options: Any
    ) -> tuple[np.ndarray, np.ndarray]:
        """A long ranking for the photo as arrays (the scored tracks' ids, best first, and their scores),
        its first `head` tracks in the reranker's order (recommender.reranker.reordered_head), for a
        caller that chooses among many candidates by score (a soundtrack)."""
        ranking = self.engine.recommend(analysis, self.catalogue, top_k=limit, **options)
        ids = ranking.track_ids[: ranking.scored]
        if self.reranker is None:
            return ids, ranking.scores[: ranking.scored]
        weights = self.user_weights(user_id)
        scores = adapter.reordered_head(ranking, head, analysis.va, self.catalogue, self.reranker, weights)
        order = np.argsort(-scores, kind="stable")
        return ids[order], scores[order]


def active() -> Served:
    """The active versions as committed now, with the index of the active catalogue."""
    registry_number, catalogue_now = _versions_now()
    use_active_versions(registry_number)
    version, catalogue = adapter.current_index(catalogue_now, active_track_blocks)
    reranker = adapter.served_reranker()
    return Served(
        adapter.engine(),
        version,
        with_track_moods(catalogue),
        reranker,
        _served_ids.get("reranker") if reranker is not None else None,
    )


def _versions_now() -> tuple[int, str]:
    """The registry's number and the active catalogue's version (catalogue.selectors.catalogue_version),
    as committed now: the two primary-key reads before every photo run, in one statement."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT registry.number, catalogue.number, catalogue.changed_at FROM (SELECT 1) AS one "
            f"LEFT JOIN {RegistryState._meta.db_table} AS registry ON registry.id = %s "
            f"LEFT JOIN {CatalogueVersion._meta.db_table} AS catalogue ON catalogue.id = %s",
            [RegistryState.ROW, CatalogueVersion.ROW],
        )
        registry_number, *catalogue = cursor.fetchone()
    return int(registry_number or 0), CatalogueVersion.from_row(catalogue)


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
