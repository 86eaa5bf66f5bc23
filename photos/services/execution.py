"""The worker's side of a run: claim it, analyse its photo, rank the catalogue, store the result.

When the engine batches (ENGINE_BATCH_SIZE > 1, the GPU worker's setting) the worker that picks up one
run also claims up to batch_size - 1 other queued runs, waiting at most ENGINE_BATCH_WAIT_MS for them, and
runs their photos through the models in one pass. Every run is still claimed with its own conditional
update, and written or failed on its own: a photo that cannot be read, or that breaks the analysis, fails
only its run. The other runs' own task messages arrive later and find them claimed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO, cast

import numpy as np
from django.conf import settings
from django.db import IntegrityError
from django.utils import timezone

from catalogue.models import Track
from inference import adapter
from inference.adapter import FeedbackItem, PhotoAnalysis, RankedTrack, describe_photo_mood
from photos.models import ORIGINALS_DIR, Photo, Run
from photos.services import run_statements
from photos.services.filters import track_filter
from photos.services.photos import PhotoRejected, normalise_stored_upload
from photos.services.runs import (
    EMPTY_CATALOGUE_MESSAGE,
    UNEXPECTED_MESSAGE,
    WORKER_LOST_MESSAGE,
    claim,
    fail,
)
from registry import serving as registry_serving

logger = logging.getLogger(__name__)

# After a run's hard time limit, this much more before its holder is taken for gone.
HOLDER_GONE_MARGIN_SECONDS = 5
MISSING_FILE_MESSAGE = "The photo's file is missing; please upload it again."
UNREADABLE_MESSAGE = "The stored photo could not be read; please upload it again."


@dataclass(frozen=True)
class CheckLater:
    """Deliver the run's task again after `seconds` with held_since=`since`: another worker held the run
    (it claimed it in a batch), and if that worker is gone by then the run must not wait for the reaper."""

    seconds: float
    since: str  # the holder's claim: the run's started_at, ISO 8601


def execute(
    run_id: int, worker: str, *, redelivered: bool = False, held_since: str | None = None
) -> CheckLater | None:
    """Run this run (and, when the engine batches, other queued runs with it). `redelivered`: the broker
    sent the task again because the worker that had it was lost (see runs.claim).

    A task that finds its run held by another worker (a GPU worker claims queued runs in batches, ahead of
    their own messages) asks to come back once no task of that worker can still be running (the hard time
    limit after the claim): held_since is that claim's time. If the run is then still running under the
    same claim, its worker was lost, and the run is taken over like a redelivered one."""
    still_held = (
        held_since is not None
        and Run.objects.filter(
            pk=run_id, status=Run.Status.RUNNING, started_at=datetime.fromisoformat(held_since)
        ).exists()
    )
    run = claim(run_id, worker, redelivered=redelivered or still_held)
    if run is None:
        if redelivered or still_held:  # lost its worker MAX_ATTEMPTS times: give up (no-op unless running)
            fail(run_id, WORKER_LOST_MESSAGE)
            return None
        logger.info("run %s already claimed or finished; skipping", run_id)
        return _check_later(run_id)
    config = adapter.engine_config()
    batch = [run]
    if config.batch_size > 1:
        batch += claim_queued(worker, config.batch_size - 1, config.batch_wait_ms / 1000)
    execute_claimed(batch)
    return None


def _check_later(run_id: int) -> CheckLater | None:
    started = Run.objects.filter(pk=run_id, status=Run.Status.RUNNING).values_list("started_at", flat=True)
    since = started.first()
    if since is None:
        return None
    limit = settings.CELERY_TASK_TIME_LIMIT + HOLDER_GONE_MARGIN_SECONDS
    wait = (since - timezone.now()).total_seconds() + limit
    return CheckLater(seconds=max(1.0, wait), since=since.isoformat())


def claim_queued(worker: str, limit: int, wait_seconds: float) -> list[Run]:
    """Claim up to limit runs already handed to the broker, oldest first, waiting at most wait_seconds
    for them to arrive."""
    deadline = time.monotonic() + wait_seconds
    claimed: list[Run] = []
    while True:
        queued = Run.objects.filter(status=Run.Status.PENDING, dispatched_at__isnull=False).order_by(
            "created_at"
        )
        for pk in list(queued.values_list("pk", flat=True)[: limit - len(claimed)]):
            run = claim(pk, worker)
            if run is not None:
                claimed.append(run)
        remaining = deadline - time.monotonic()
        if len(claimed) >= limit or remaining <= 0:
            return claimed
        time.sleep(min(0.005, remaining))


def execute_claimed(runs: Sequence[Run]) -> None:
    """Analyse the claimed runs' photos together, then rank and store each run on its own. Each run
    carries its photo's stored file name as `photo_image` and whether its user rated any track as
    `has_ratings` (see run_statements.claim_returning): a user without ratings costs no read of them."""
    if settings.RUN_FAULT_DELAY_SECONDS:  # fault-injection for the killed-worker tests; 0 in real use
        time.sleep(settings.RUN_FAULT_DELAY_SECONDS)
    storage = Photo._meta.get_field("image").storage
    readable: list[Run] = []
    images = []
    for run in runs:
        try:
            name = run.photo_image  # type: ignore[attr-defined]
            if name.startswith(f"{ORIGINALS_DIR}/"):  # kept as uploaded (a big image): re-encode it first
                name = normalise_stored_upload(run.photo_id)
            with storage.open(name, "rb") as handle:
                images.append(adapter.decode_photo(cast(BinaryIO, handle)))
            readable.append(run)
        except PhotoRejected as exc:
            fail(run.pk, str(exc))
        except FileNotFoundError:
            fail(run.pk, MISSING_FILE_MESSAGE)
        except Exception:
            logger.exception("run %s: the stored photo could not be read", run.pk)
            fail(run.pk, UNREADABLE_MESSAGE)
    if not readable:
        return
    try:
        served = registry_serving.active()
        analyses = served.engine.analyse_each(images)
    except Exception:
        logger.exception("runs %s failed", [r.pk for r in readable])
        for run in readable:
            fail(run.pk, UNEXPECTED_MESSAGE)
        return
    for run, analysis in zip(readable, analyses, strict=True):
        if isinstance(analysis, Exception):
            fail(run.pk, UNEXPECTED_MESSAGE)
        elif served.catalogue.positioned_count == 0:
            fail(run.pk, EMPTY_CATALOGUE_MESSAGE)
        else:
            try:
                shown = served.recommend(
                    analysis,
                    run.top_k,
                    run.user_id,
                    feedback=user_feedback(run.user_id) if run.has_ratings else [],  # type: ignore[attr-defined]
                    mode="lift" if run.mode == Run.Mode.LIFT else "match",
                    context=run.context,
                    mood_override=run.chosen_mood,
                    only=track_filter(run.filters),
                )
                _store_result(run, analysis, shown, adapter.engine_version(), served.catalogue_version)
            except Exception:
                logger.exception("run %s failed", run.pk)
                fail(run.pk, UNEXPECTED_MESSAGE)


def user_feedback(user_id: int) -> list[FeedbackItem]:
    """The user's latest rating per track, with the mood of the photo it was given for."""
    latest: dict[int, FeedbackItem] = {}
    for track_id, rating, valence, arousal in run_statements.ratings(user_id):
        latest[track_id] = FeedbackItem(
            track_id=track_id,
            rating=rating,
            photo_valence=valence if valence is not None else 0.5,
            photo_arousal=arousal if arousal is not None else 0.5,
        )
    return list(latest.values())


def _store_result(
    run: Run,
    analysis: PhotoAnalysis,
    ranking: Sequence[RankedTrack],
    engine_version: str,
    catalogue_version: str,
) -> None:
    ranked = list(ranking)  # builds each shown track's reasons once
    result = {
        "valence": analysis.valence,
        "arousal": analysis.arousal,
        "emotions": {k: round(float(v), 4) for k, v in analysis.emotions.items()},
        "descriptors": list(analysis.descriptors),
        "mood_summary": describe_photo_mood(analysis.valence, analysis.arousal),
        "engine_version": engine_version,
        "catalogue_version": catalogue_version,
        "finished_at": timezone.now(),
    }
    embedding = np.asarray(analysis.embedding, dtype=np.float32).tobytes()

    def write(tracks: list[RankedTrack]) -> None:
        items = [
            run_statements.ItemRow(
                track_id=r.track_id,
                rank=rank,
                score=float(r.score),
                strategy_scores={k: round(float(v), 4) for k, v in r.strategy_scores.items()},
                reasons=list(r.reasons),
            )
            for rank, r in enumerate(tracks, start=1)
        ]
        run_statements.finish(run, result, items, embedding, engine_version)

    try:
        write(ranked)
    except IntegrityError:
        # A track was deleted after the index this run used was read (its version moves on with the
        # delete, so the next run uses a new index): keep the ranking without it.
        existing = set(Track.objects.filter(pk__in=[r.track_id for r in ranked]).values_list("pk", flat=True))
        write([r for r in ranked if r.track_id in existing])
