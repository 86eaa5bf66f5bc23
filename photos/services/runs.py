"""Photo runs: create, dispatch to a worker, execute, fail, retry, reap."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import BinaryIO, cast

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.models import User
from catalogue.models import Track
from catalogue.selectors import active_track_rows, catalogue_version
from config.celery import publish
from inference import adapter
from inference.adapter import FeedbackItem, PhotoAnalysis, RankedTrack, TrackCatalogue, describe_mood
from photos.models import Feedback, Photo, Run, RunItem

logger = logging.getLogger(__name__)

BROKER_DOWN_MESSAGE = (
    "The recommendation service is not reachable right now. Your photo is saved; "
    "it will be processed as soon as the service is back."
)
WORKER_LOST_MESSAGE = "The worker processing this photo stopped before it finished. Please try again."
NO_WORKER_MESSAGE = "No worker picked up this photo in time. Please try again in a moment."
UNEXPECTED_MESSAGE = "Something went wrong while analysing this photo. Please try again."
EMPTY_CATALOGUE_MESSAGE = "The catalogue has no active tracks with a mood yet; ask an admin to import some."
MAX_TOP_K = 100
RUN_TASK = "photos.tasks.run_recommendation"  # sent by name: tasks.py imports this module


def ranking_index() -> tuple[str, TrackCatalogue]:
    """The engine's index over the active catalogue as it is now, with its version. The catalogue's version
    is read first (one primary-key read) and the rows only when that version has no index yet."""
    return adapter.current_index(catalogue_version(), active_track_rows)


def create_run(
    photo: Photo, user: User, *, mode: str | None = None, top_k: int | None = None, context: str = ""
) -> Run:
    """Create a pending run and hand it to a worker once the transaction commits."""
    run = Run.objects.create(
        photo=photo,
        user=user,
        mode=mode or user.default_mode,
        top_k=max(1, min(top_k or settings.RECOMMEND_TOP_K, MAX_TOP_K)),
        context=context[:500],
    )
    transaction.on_commit(lambda: dispatch(run.pk))
    return run


def dispatch(run_id: int) -> bool:
    """Send the run to the broker. False (and the run stays pending) when the broker is unreachable."""
    if not publish(RUN_TASK, run_id):
        return False
    Run.objects.filter(pk=run_id).update(dispatched_at=timezone.now())
    return True


def claim(run_id: int, worker: str) -> bool:
    """Take a pending run for this worker. Only one worker can win (a conditional update)."""
    claimed = Run.objects.filter(pk=run_id, status=Run.Status.PENDING).update(
        status=Run.Status.RUNNING,
        started_at=timezone.now(),
        worker=worker[:200],
        error="",
    )
    return claimed == 1


def fail(run_id: int, message: str, *, only_if_running: bool = True) -> None:
    runs = Run.objects.filter(pk=run_id)
    runs = runs.filter(status=Run.Status.RUNNING) if only_if_running else runs.exclude(status=Run.Status.DONE)
    runs.update(status=Run.Status.FAILED, error=message, finished_at=timezone.now())


def user_feedback(user_id: int) -> list[FeedbackItem]:
    """The user's latest rating per track, with the mood of the photo it was given for."""
    latest: dict[int, FeedbackItem] = {}
    rows = (
        Feedback.objects.filter(user_id=user_id)
        .order_by("updated_at")
        .values_list("track_id", "rating", "photo_valence", "photo_arousal")
    )
    for track_id, rating, valence, arousal in rows:
        latest[track_id] = FeedbackItem(
            track_id=track_id,
            rating=rating,
            photo_valence=valence if valence is not None else 0.5,
            photo_arousal=arousal if arousal is not None else 0.5,
        )
    return list(latest.values())


def execute(run_id: int, worker: str) -> None:
    """The worker's side of a run: claim it, analyse the photo, rank tracks, store the result."""
    if not claim(run_id, worker):
        logger.info("run %s already claimed or finished; skipping", run_id)
        return
    run = Run.objects.select_related("photo").get(pk=run_id)
    Run.objects.filter(pk=run_id).update(attempts=run.attempts + 1)
    try:
        if settings.RUN_FAULT_DELAY_SECONDS:  # fault-injection for the killed-worker tests; 0 in real use
            time.sleep(settings.RUN_FAULT_DELAY_SECONDS)
        with run.photo.image.open("rb") as handle:
            image = adapter.decode_photo(cast(BinaryIO, handle))
        engine = adapter.engine()
        analysis = engine.analyse(image)
        version, catalogue = ranking_index()
        if catalogue.positioned_count == 0:
            fail(run_id, EMPTY_CATALOGUE_MESSAGE)
            return
        ranked = engine.recommend(
            analysis,
            catalogue,
            top_k=run.top_k,
            feedback=user_feedback(run.user_id),
            mode="lift" if run.mode == Run.Mode.LIFT else "match",
            context=run.context,
        )
        _store_result(run, analysis, ranked, adapter.engine_version(), version)
    except FileNotFoundError:
        fail(run_id, "The photo's file is missing; please upload it again.")
    except Exception:
        logger.exception("run %s failed", run_id)
        fail(run_id, UNEXPECTED_MESSAGE)


def _store_result(
    run: Run,
    analysis: PhotoAnalysis,
    ranking: Sequence[RankedTrack],
    engine_version: str,
    catalogue_version: str,
) -> None:
    ranked = list(ranking)  # builds each shown track's reasons once
    existing = set(Track.objects.filter(pk__in=[r.track_id for r in ranked]).values_list("pk", flat=True))
    items = [
        RunItem(
            run=run,
            track_id=r.track_id,
            rank=rank,
            score=float(r.score),
            strategy_scores={k: round(float(v), 4) for k, v in r.strategy_scores.items()},
            reasons=list(r.reasons),
        )
        for rank, r in enumerate((r for r in ranked if r.track_id in existing), start=1)
    ]
    with transaction.atomic():
        # Only the worker that holds the run may finish it (a reaped run stays failed).
        updated = Run.objects.filter(pk=run.pk, status=Run.Status.RUNNING).update(
            status=Run.Status.DONE,
            valence=analysis.valence,
            arousal=analysis.arousal,
            emotions={k: round(float(v), 4) for k, v in analysis.emotions.items()},
            descriptors=list(analysis.descriptors),
            mood_summary=describe_mood(analysis.valence, analysis.arousal),
            engine_version=engine_version,
            catalogue_version=catalogue_version,
            finished_at=timezone.now(),
        )
        if updated:
            RunItem.objects.filter(run=run).delete()
            RunItem.objects.bulk_create(items)
            Photo.objects.filter(pk=run.photo_id).update(
                embedding=np.asarray(analysis.embedding, dtype=np.float32).tobytes(),
                embedding_model=engine_version,
            )


def retry(run: Run) -> bool:
    """Put a failed run (or one whose worker is gone) back in the queue. False when it is neither."""
    with transaction.atomic():
        _record_stale(Run.objects.filter(pk=run.pk), timezone.now())
        updated = Run.objects.filter(pk=run.pk, status=Run.Status.FAILED).update(
            status=Run.Status.PENDING,
            error="",
            dispatched_at=None,
            started_at=None,
            finished_at=None,
        )
        if updated:
            transaction.on_commit(lambda: dispatch(run.pk))
    return bool(updated)


@dataclass(frozen=True)
class StaleRule:
    """A run in `status` whose `since` timestamp is older than settings.<after_setting> seconds has lost its
    worker: it is shown as failed with `message` at once, and the beat records that (reap_stale_runs)."""

    status: str
    since: str
    after_setting: str
    message: str

    def cutoff(self, now: datetime) -> datetime:
        return now - timedelta(seconds=getattr(settings, self.after_setting))

    def applies(self, run: Run, now: datetime) -> bool:
        since = getattr(run, self.since)
        return run.status == self.status and since is not None and since < self.cutoff(now)

    def matching(self, now: datetime) -> Q:
        return Q(status=self.status, **{f"{self.since}__lt": self.cutoff(now)})


STALE_RULES = (
    StaleRule(Run.Status.RUNNING, "started_at", "RUN_STALE_AFTER_SECONDS", WORKER_LOST_MESSAGE),
    StaleRule(Run.Status.PENDING, "dispatched_at", "RUN_PENDING_TIMEOUT_SECONDS", NO_WORKER_MESSAGE),
)


def as_seen_now(run: Run) -> Run:
    """The run as a reader should see it: failed, with the reason, when its worker is gone, even before
    the beat has recorded it. Writes nothing (the instance is changed in memory only)."""
    now = timezone.now()
    for rule in STALE_RULES:
        if rule.applies(run, now):
            run.status, run.error = Run.Status.FAILED, rule.message
            break
    return run


def _record_stale(runs: QuerySet[Run], now: datetime) -> int:
    return sum(
        runs.filter(rule.matching(now)).update(status=Run.Status.FAILED, error=rule.message, finished_at=now)
        for rule in STALE_RULES
    )


def reap_stale_runs() -> dict[str, int]:
    """Periodic (the beat): record the runs whose worker is gone, re-send runs the broker never got."""
    now = timezone.now()
    failed = _record_stale(Run.objects.all(), now)
    undispatched = Run.objects.filter(
        status=Run.Status.PENDING,
        dispatched_at__isnull=True,
        created_at__lt=now - timedelta(seconds=settings.RUN_REDISPATCH_AFTER_SECONDS),
    ).values_list("pk", flat=True)
    resent = sum(dispatch(pk) for pk in list(undispatched))
    return {"failed": failed, "resent": resent}


def user_message(run: Run) -> str:
    """What the run page says about a run that is not done."""
    if run.status == Run.Status.FAILED:
        return run.error or UNEXPECTED_MESSAGE
    if run.status == Run.Status.PENDING and run.dispatched_at is None:
        return BROKER_DOWN_MESSAGE
    if run.status == Run.Status.PENDING:
        return "Waiting for a worker…"
    if run.status == Run.Status.RUNNING:
        return "Listening to your photo…"
    return ""
