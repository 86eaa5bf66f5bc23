"""Retraining: gather the ratings, train a reranker candidate, judge it, store it, activate it if it passed.

Only ratings that still exist are read: deleting a photo or an account deletes its runs and their ratings
(cascades), so they never reach a later training run. Ratings of tracks taken out of the catalogue since
(inactive) are skipped and counted in the version's data snapshot. A user's ratings enter the global
model and the track corrections only in aggregate with everyone's, and the user's own terms (stored
beside the account, registry.learners).

Training code comes from recommender.lab (not the serving path, so it is imported here directly rather
than through inference.adapter, which serves).
"""

from __future__ import annotations

import logging
import tempfile
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from catalogue.selectors import active_track_rows
from config.celery import publish
from inference.adapter import Reranker
from photos.models import Feedback
from recommender.lab import rerank_offline, rerank_training
from recommender.reranker import SCORE_KEY
from recommender.tracks import track_position
from recommender.types import TrackRow
from registry import learners, services
from registry.models import ModelVersion

logger = logging.getLogger(__name__)

RETRAIN_TASK = "registry.tasks.retrain"
STOPPED_MESSAGE = (
    "The training run stopped before it finished (its worker was killed or lost); nothing changed."
)


def start_retraining(*, queue: bool = True) -> ModelVersion:
    """A new reranker version in `training`, handed to the training queue once this transaction commits
    (unless queue is False: the caller trains it itself with retrain())."""
    with transaction.atomic():
        version = ModelVersion.objects.create(
            kind=ModelVersion.Kind.RERANKER,
            name=f"reranker-new-{timezone.now():%Y%m%d%H%M%S%f}",
            status=ModelVersion.Status.TRAINING,
            progress_note="queued",
        )
        version.name = f"reranker-{version.pk}"
        version.save(update_fields=["name"])
        if queue:
            transaction.on_commit(lambda: publish(RETRAIN_TASK, version.pk))
    return version


def start_if_new_ratings() -> ModelVersion | None:
    """beat's entry: retrain when ratings arrived since the last reranker version and none is training."""
    if ModelVersion.objects.filter(
        kind=ModelVersion.Kind.RERANKER, status=ModelVersion.Status.TRAINING
    ).exists():
        return None
    last = (
        ModelVersion.objects.filter(kind=ModelVersion.Kind.RERANKER)
        .exclude(status=ModelVersion.Status.TRAINING)
        .order_by("-created_at")
        .first()
    )
    newer = Feedback.objects.all()
    if last is not None:
        newer = newer.filter(updated_at__gt=last.created_at)
    return start_retraining() if newer.exists() else None


def fail_stopped_training() -> int:
    """Mark failed the training runs whose worker died: started ones whose heartbeat stopped
    (TRAINING_HEARTBEAT_STALE_SECONDS), and queued ones never started (TRAINING_STALE_AFTER_SECONDS)."""
    now = timezone.now()
    silent = now - timedelta(seconds=settings.TRAINING_HEARTBEAT_STALE_SECONDS)
    never_started = now - timedelta(seconds=settings.TRAINING_STALE_AFTER_SECONDS)
    return (
        ModelVersion.objects.filter(status=ModelVersion.Status.TRAINING)
        .filter(Q(heartbeat_at__lt=silent) | Q(heartbeat_at__isnull=True, created_at__lt=never_started))
        .update(status=ModelVersion.Status.FAILED, reason=STOPPED_MESSAGE, finished_at=now)
    )


class Heartbeat:
    """While the with-block runs, a thread moves the version's heartbeat_at on every `every` seconds: it
    stops when the process dies (a killed worker), which is what fail_stopped_training looks for. A hung
    training keeps beating until Celery's hard time limit kills its process."""

    def __init__(self, version_id: int, every: float) -> None:
        self.version_id, self.every = version_id, every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{version_id}", daemon=True)

    def beat(self) -> None:
        ModelVersion.objects.filter(pk=self.version_id).update(heartbeat_at=timezone.now())

    def __enter__(self) -> Heartbeat:
        self.beat()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.every):
                try:
                    self.beat()
                except Exception:  # a database hiccup: the next beat tries again
                    logger.warning("heartbeat of version %s failed", self.version_id, exc_info=True)
        finally:
            connection.close()  # this thread's own connection


def _progress(version_id: int, percent: int, note: str) -> None:
    ModelVersion.objects.filter(pk=version_id).update(progress=percent, progress_note=note[:200])


def gather_ratings() -> tuple[rerank_training.RatingSet, dict[str, Any]]:
    """Every stored rating of an active track, with the scores and moods the reranker learns from."""
    positions: dict[int, tuple[float, float]] = {}
    for row in active_track_rows():
        pos = track_position(TrackRow(**row))
        positions[row["track_id"]] = (pos[0], pos[1]) if pos else (np.nan, np.nan)
    rows = Feedback.objects.order_by("updated_at", "pk").values_list(
        "track_id",
        "rating",
        "photo_valence",
        "photo_arousal",
        "updated_at",
        "item__run_id",
        "item__score",
        "item__strategy_scores",
        "user_id",
    )
    kept: list[tuple[Any, ...]] = []
    skipped = 0
    for rating in rows.iterator(chunk_size=5000):
        if rating[0] not in positions:
            skipped += 1
        else:
            kept.append(rating)
    names = sorted({k for r in kept for k in (r[7] or {}) if k != SCORE_KEY})
    data = rerank_training.RatingSet(
        engine_scores=np.array([r[6] for r in kept], dtype=np.float64),
        strategy_scores={
            n: np.array([(r[7] or {}).get(n, np.nan) for r in kept], dtype=np.float64) for n in names
        },
        photo_va=np.array([(_or_half(r[2]), _or_half(r[3])) for r in kept], dtype=np.float64).reshape(-1, 2),
        track_va=np.array([positions[r[0]] for r in kept], dtype=np.float64).reshape(-1, 2),
        labels=np.array([1 if r[1] > 0 else 0 for r in kept], dtype=np.int64),
        groups=np.array([r[5] for r in kept], dtype=np.int64),
        times=np.array([r[4].timestamp() for r in kept], dtype=np.float64),
        extra={
            "users": np.array([r[8] for r in kept], dtype=np.int64),
            "track_ids": np.array([r[0] for r in kept], dtype=np.int64),
        },
    )
    snapshot = {
        "datasets": ["ratings (photos.Feedback)"],
        "ratings_used": len(kept),
        "ratings_up_to": kept[-1][4].isoformat() if kept else None,
        "skipped_inactive_tracks": skipped,
        "seed": rerank_training.SEED,
        "held_out_share": rerank_training.HELD_OUT,
    }
    return data, snapshot


def retrain(version_id: int) -> ModelVersion:
    """Train version_id (a `training` reranker): on any error it ends `failed` with the reason, and the
    active versions keep serving."""
    claimed = ModelVersion.objects.filter(
        pk=version_id, status=ModelVersion.Status.TRAINING, started_at__isnull=True
    ).update(started_at=timezone.now())
    version = ModelVersion.objects.get(pk=version_id)
    if not claimed:  # finished, or a worker has it (the broker delivered the task again while it trains)
        logger.info("%s is %s and already started; skipping", version.name, version.status)
        return version
    try:
        with Heartbeat(version.pk, settings.TRAINING_HEARTBEAT_SECONDS):
            return _train(version)
    except BaseException as exc:  # includes Celery's soft time limit
        reason = f"Training failed: {type(exc).__name__}: {exc}"[:1000]
        logger.exception("%s failed", version.name)
        ModelVersion.objects.filter(pk=version.pk).update(
            status=ModelVersion.Status.FAILED, reason=reason, finished_at=timezone.now()
        )
        if not isinstance(exc, Exception):
            raise
        version.refresh_from_db()
        return version


def _train(version: ModelVersion) -> ModelVersion:
    _progress(version.pk, 5, "reading ratings")
    data, snapshot = gather_ratings()
    ModelVersion.objects.filter(pk=version.pk).update(data_snapshot=snapshot)
    active_version = ModelVersion.objects.filter(
        kind=ModelVersion.Kind.RERANKER, status=ModelVersion.Status.ACTIVE
    ).first()
    active = None
    if active_version is not None:
        from registry.serving import local_artifact_dir

        active = Reranker.load(local_artifact_dir(active_version))
    outcome = rerank_training.train_and_judge(
        data,
        active,
        version.name,
        offline_evaluation(),
        progress=lambda p, note: _progress(version.pk, p, note),
    )
    if outcome.reranker is None:
        raise ValueError(outcome.reason)
    _progress(version.pk, 80, "learning track corrections and per-user terms")
    learned = learners.learn_beside_global(outcome, data)
    _progress(version.pk, 90, "storing the artifact")
    prefix = f"registry/reranker/{version.name}"
    with tempfile.TemporaryDirectory() as tmp:
        files = outcome.reranker.save(Path(tmp))
        for name in files:
            default_storage.delete(f"{prefix}/{name}")
            with open(Path(tmp) / name, "rb") as handle:
                default_storage.save(f"{prefix}/{name}", File(handle))
    learners.store_user_terms(version.pk, learned)
    ModelVersion.objects.filter(pk=version.pk).update(
        status=ModelVersion.Status.CANDIDATE,
        artifact=prefix,
        files=files,
        metrics=outcome.metrics,
        reason=outcome.reason and f"Kept as a candidate: {outcome.reason}",
        progress=100,
        progress_note="done",
        finished_at=timezone.now(),
    )
    if outcome.passed:
        services.activate(version.pk)
    version.refresh_from_db()
    return version


def offline_evaluation() -> rerank_offline.OfflineEval | rerank_offline.Unavailable:
    """The gate's fixed offline evaluation (settings.RERANKER_OFFLINE_EVALUATION, shipped in the
    repository), or why it cannot be had: the gate then keeps every candidate a candidate."""
    try:
        return rerank_offline.load(settings.RERANKER_OFFLINE_EVALUATION)
    except rerank_offline.Unavailable as exc:
        logger.error("the reranker gate's offline evaluation is unavailable: %s", exc)
        return exc


def _or_half(value: float | None) -> float:
    return 0.5 if value is None else float(value)
