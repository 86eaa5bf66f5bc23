"""Recommendation runs: create, dispatch to a worker, execute, fail, retry, reap."""

from __future__ import annotations

import logging
import time
from datetime import timedelta

import numpy as np
from celery import current_app as celery_app  # the project app (config/__init__.py makes it current)
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from PIL import Image

from accounts.models import User
from catalogue.models import Track
from recommender import runtime
from recommender.engine.describe import describe_mood
from recommender.engine.types import FeedbackItem, PhotoAnalysis, RankedTrack
from recommender.models import Feedback, Photo, Recommendation, RecommendationItem

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
RUN_TASK = "recommender.tasks.run_recommendation"  # sent by name: tasks.py imports this module


def create_run(
    photo: Photo, user: User, *, mode: str | None = None, top_k: int | None = None, context: str = ""
) -> Recommendation:
    """Create a pending run and hand it to a worker once the transaction commits."""
    run = Recommendation.objects.create(
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
    try:
        celery_app.send_task(RUN_TASK, args=[run_id])
    except Exception:
        logger.warning("broker unreachable; run %s stays pending", run_id, exc_info=True)
        return False
    Recommendation.objects.filter(pk=run_id).update(dispatched_at=timezone.now())
    return True


def claim(run_id: int, worker: str) -> bool:
    """Take a pending run for this worker. Only one worker can win (a conditional update)."""
    claimed = Recommendation.objects.filter(pk=run_id, status=Recommendation.Status.PENDING).update(
        status=Recommendation.Status.RUNNING,
        started_at=timezone.now(),
        worker=worker[:200],
        error="",
    )
    return claimed == 1


def fail(run_id: int, message: str, *, only_if_running: bool = True) -> None:
    runs = Recommendation.objects.filter(pk=run_id)
    if only_if_running:
        runs = runs.filter(status=Recommendation.Status.RUNNING)
    else:
        runs = runs.exclude(status=Recommendation.Status.DONE)
    runs.update(status=Recommendation.Status.FAILED, error=message, finished_at=timezone.now())


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
    run = Recommendation.objects.select_related("photo").get(pk=run_id)
    Recommendation.objects.filter(pk=run_id).update(attempts=run.attempts + 1)
    try:
        if settings.RUN_FAULT_DELAY_SECONDS:  # fault-injection for the killed-worker tests; 0 in real use
            time.sleep(settings.RUN_FAULT_DELAY_SECONDS)
        with run.photo.image.open("rb") as handle:
            image = Image.open(handle)
            image.load()
        engine = runtime.engine()
        analysis = engine.analyse(image)
        version, catalogue = runtime.current_catalogue()
        if catalogue.positioned_count == 0:
            fail(run_id, EMPTY_CATALOGUE_MESSAGE)
            return
        ranked = engine.recommend(
            analysis,
            catalogue,
            top_k=run.top_k,
            feedback=user_feedback(run.user_id),
            mode="lift" if run.mode == Recommendation.Mode.LIFT else "match",
            context=run.context,
        )
        _store_result(run, analysis, ranked, runtime.engine_version(), version)
    except FileNotFoundError:
        fail(run_id, "The photo's file is missing; please upload it again.")
    except Exception:
        logger.exception("run %s failed", run_id)
        fail(run_id, UNEXPECTED_MESSAGE)


def _store_result(
    run: Recommendation,
    analysis: PhotoAnalysis,
    ranked: list[RankedTrack],
    engine_version: str,
    catalogue_version: str,
) -> None:
    existing = set(Track.objects.filter(pk__in=[r.track_id for r in ranked]).values_list("pk", flat=True))
    items = [
        RecommendationItem(
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
        updated = Recommendation.objects.filter(pk=run.pk, status=Recommendation.Status.RUNNING).update(
            status=Recommendation.Status.DONE,
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
            RecommendationItem.objects.filter(run=run).delete()
            RecommendationItem.objects.bulk_create(items)
            Photo.objects.filter(pk=run.photo_id).update(
                embedding=np.asarray(analysis.embedding, dtype=np.float32).tobytes(),
                embedding_model=engine_version,
            )


def retry(run: Recommendation) -> bool:
    """Put a failed run back in the queue. False when the run is not failed."""
    with transaction.atomic():
        updated = Recommendation.objects.filter(pk=run.pk, status=Recommendation.Status.FAILED).update(
            status=Recommendation.Status.PENDING,
            error="",
            dispatched_at=None,
            started_at=None,
            finished_at=None,
        )
        if updated:
            transaction.on_commit(lambda: dispatch(run.pk))
    return bool(updated)


def refresh(run: Recommendation) -> Recommendation:
    """Mend a run that is stuck: fail it when its worker died, re-send it when the broker was down."""
    now = timezone.now()
    if (
        run.status == Recommendation.Status.RUNNING
        and run.started_at
        and now - run.started_at > timedelta(seconds=settings.RUN_STALE_AFTER_SECONDS)
    ):
        fail(run.pk, WORKER_LOST_MESSAGE)
        run.refresh_from_db()
    elif (
        run.status == Recommendation.Status.PENDING
        and run.dispatched_at is not None
        and now - run.dispatched_at > timedelta(seconds=settings.RUN_PENDING_TIMEOUT_SECONDS)
    ):
        fail(run.pk, NO_WORKER_MESSAGE, only_if_running=False)
        run.refresh_from_db()
    elif (
        run.status == Recommendation.Status.PENDING
        and run.dispatched_at is None
        and now - run.created_at > timedelta(seconds=settings.RUN_REDISPATCH_AFTER_SECONDS)
    ):
        dispatch(run.pk)
        run.refresh_from_db()
    return run


def reap_stale_runs() -> dict[str, int]:
    """Periodic: fail runs whose worker died, re-send runs the broker never got."""
    now = timezone.now()
    failed = Recommendation.objects.filter(
        status=Recommendation.Status.RUNNING,
        started_at__lt=now - timedelta(seconds=settings.RUN_STALE_AFTER_SECONDS),
    ).update(status=Recommendation.Status.FAILED, error=WORKER_LOST_MESSAGE, finished_at=now)
    failed += Recommendation.objects.filter(
        status=Recommendation.Status.PENDING,
        dispatched_at__lt=now - timedelta(seconds=settings.RUN_PENDING_TIMEOUT_SECONDS),
    ).update(status=Recommendation.Status.FAILED, error=NO_WORKER_MESSAGE, finished_at=now)
    undispatched = Recommendation.objects.filter(
        Q(status=Recommendation.Status.PENDING),
        Q(dispatched_at__isnull=True),
        Q(created_at__lt=now - timedelta(seconds=settings.RUN_REDISPATCH_AFTER_SECONDS)),
    ).values_list("pk", flat=True)
    resent = sum(dispatch(pk) for pk in list(undispatched))
    return {"failed": failed, "resent": resent}


def user_message(run: Recommendation) -> str:
    """What the run page says about a run that is not done."""
    if run.status == Recommendation.Status.FAILED:
        return run.error or UNEXPECTED_MESSAGE
    if run.status == Recommendation.Status.PENDING and run.dispatched_at is None:
        return BROKER_DOWN_MESSAGE
    if run.status == Recommendation.Status.PENDING:
        return "Waiting for a worker…"
    if run.status == Recommendation.Status.RUNNING:
        return "Listening to your photo…"
    return ""
