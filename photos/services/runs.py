"""Photo runs: create, dispatch to a worker, claim, fail, retry, reap (the worker's side: execution.py)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.models import User
from catalogue.selectors import active_track_blocks, catalogue_version
from config.celery import publish
from inference import adapter
from inference.adapter import TrackCatalogue
from photos.models import Photo, Run
from photos.services import filters as run_filters
from photos.services import run_statements

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
MAX_ATTEMPTS = 3  # a run whose worker is lost is taken over by another worker until this many attempts
RUN_TASK = "photos.tasks.run_recommendation"  # sent by name: tasks.py imports this module


def ranking_index() -> tuple[str, TrackCatalogue]:
    """The engine's index over the active catalogue as it is now, with its version. The catalogue's version
    is read first (one primary-key read) and the rows only when that version has no index yet."""
    return adapter.current_index(catalogue_version(), active_track_blocks)


def create_run(
    photo: Photo,
    user: User,
    *,
    mode: str | None = None,
    top_k: int | None = None,
    context: str = "",
    mood: tuple[float, float] | None = None,
    filters: Mapping[str, Any] | None = None,
) -> Run:
    """Create a pending run and hand it to a worker once the transaction commits. mood: a (valence,
    arousal) the user chose (photo scale, 0-1), matched instead of the photo's own; filters: which tracks
    it may recommend (see filters.clean). ValueError, and no run, when either makes no sense."""
    if mood is not None and not all(0.0 <= value <= 1.0 for value in mood):
        raise ValueError("a chosen mood's valence and arousal must each be between 0 and 1")
    chosen = {"chosen_valence": mood[0], "chosen_arousal": mood[1]} if mood is not None else {}
    run = Run.objects.create(
        **chosen,
        filters=run_filters.clean(filters or {}),
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


def claim(run_id: int, worker: str, *, redelivered: bool = False) -> Run | None:
    """Take a pending run for this worker and count the attempt: the run as claimed, or None when another
    worker has it or it is not pending. Only one worker can win (a conditional update).

    A redelivered task message means the worker that held the run was lost mid-run (late acknowledgement
    and reject-on-worker-lost, config/settings.py): its run, still `running`, is taken over, unless it has
    had MAX_ATTEMPTS attempts already (a photo that kills its worker every time must not do so forever)."""
    take_over_below = MAX_ATTEMPTS if redelivered else 0
    return run_statements.claim_returning(run_id, worker, timezone.now(), take_over_below)


def fail(run_id: int, message: str, *, only_if_running: bool = True) -> None:
    runs = Run.objects.filter(pk=run_id)
    runs = runs.filter(status=Run.Status.RUNNING) if only_if_running else runs.exclude(status=Run.Status.DONE)
    runs.update(status=Run.Status.FAILED, error=message, finished_at=timezone.now())


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
