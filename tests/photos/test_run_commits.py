"""A worker's run writes on PostgreSQL commit without waiting for the disk (settings.RUN_WRITES_ASYNC_COMMIT),
and only those writes; the claim stays one statement on both databases."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from photos.models import Run
from photos.services import run_statements
from tests.factories import RunFactory, TrackFactory

pytestmark = pytest.mark.django_db


def _synchronous_commit() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        return str(cursor.fetchone()[0])


def _running_run() -> Run:
    run = RunFactory.create()
    claimed = run_statements.claim_returning(run.pk, "worker-a", timezone.now())
    assert claimed is not None
    return claimed


def _postgresql_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("synchronous_commit is a PostgreSQL setting (CI runs the suite on PostgreSQL)")


# The test runs inside one transaction, so a transaction-local setting made by the code under test is still
# in force when the test reads it back.


def test_the_claim_commits_without_waiting_for_the_disk_on_postgresql() -> None:
    _postgresql_only()
    assert _synchronous_commit() == "on"
    _running_run()
    assert _synchronous_commit() == "off"


def test_the_result_commits_without_waiting_for_the_disk_on_postgresql(settings) -> None:
    _postgresql_only()
    settings.RUN_WRITES_ASYNC_COMMIT = False
    run = _running_run()
    assert _synchronous_commit() == "on"  # the setting off: the claim waited for the disk
    settings.RUN_WRITES_ASYNC_COMMIT = True
    result = {"valence": 0.4, "arousal": 0.6, "emotions": {"joy": 1.0}, "finished_at": timezone.now()}
    assert run_statements.finish(run, result, [], b"", "test")
    assert _synchronous_commit() == "off"
    run.refresh_from_db()
    assert run.status == Run.Status.DONE and run.valence == 0.4


def test_with_the_setting_off_every_run_write_waits_for_the_disk(settings) -> None:
    _postgresql_only()
    settings.RUN_WRITES_ASYNC_COMMIT = False
    run = _running_run()
    result = {"valence": 0.4, "finished_at": timezone.now()}
    assert run_statements.finish(run, result, [], b"", "test")
    assert _synchronous_commit() == "on"


def test_the_claim_is_one_statement() -> None:
    run = RunFactory.create()
    with CaptureQueriesContext(connection) as queries:
        assert run_statements.claim_returning(run.pk, "worker-a", timezone.now()) is not None
    assert [q["sql"].split()[0] for q in queries.captured_queries] == ["UPDATE"]


def _items(n: int) -> list[run_statements.ItemRow]:
    from catalogue.models import Track

    tracks = TrackFactory.create_batch(n) if Track.objects.count() < n else list(Track.objects.all()[:n])
    return [
        run_statements.ItemRow(t.pk, rank, 1.0 / rank, {"va_match": 0.5}, [f"reason {rank}", "another"])
        for rank, t in enumerate(tracks, start=1)
    ]


def test_the_result_is_written_whole() -> None:
    run = _running_run()
    items = _items(3)
    result = {
        "valence": 0.25,
        "emotions": {"joy": 0.5},
        "descriptors": ["warm"],
        "finished_at": timezone.now(),
    }
    assert run_statements.finish(run, result, items, b"\x01\x02", "enc+mood")
    run.refresh_from_db()
    assert run.status == Run.Status.DONE and run.valence == 0.25 and run.emotions == {"joy": 0.5}
    assert run.descriptors == ["warm"]
    stored = list(
        run.items.order_by("rank").values_list("track_id", "rank", "score", "strategy_scores", "reasons")
    )
    assert stored == [(i.track_id, i.rank, i.score, i.strategy_scores, i.reasons) for i in items]
    run.photo.refresh_from_db()
    assert bytes(run.photo.embedding or b"") == b"\x01\x02" and run.photo.embedding_model == "enc+mood"


def test_a_run_this_worker_no_longer_holds_gets_nothing_written() -> None:
    run = _running_run()
    Run.objects.filter(pk=run.pk).update(status=Run.Status.FAILED)  # reaped meanwhile
    result = {"valence": 0.25, "finished_at": timezone.now()}
    assert not run_statements.finish(run, result, _items(2), b"\x01", "enc")
    run.refresh_from_db()
    assert run.status == Run.Status.FAILED and run.valence is None and not run.items.exists()
    run.photo.refresh_from_db()
    assert not run.photo.embedding


@pytest.mark.django_db(transaction=True)
def test_on_postgresql_the_result_is_one_statement_outside_a_transaction() -> None:
    _postgresql_only()
    run, items = _running_run(), _items(2)
    with CaptureQueriesContext(connection) as queries:
        assert run_statements.finish(run, {"valence": 0.5, "finished_at": timezone.now()}, items, b"", "x")
    assert [q["sql"].split()[0] for q in queries.captured_queries] == ["WITH"]
    assert Run.objects.get(pk=run.pk).items.count() == 2


def test_the_claimed_run_has_every_field_as_the_orm_reads_it() -> None:
    run = RunFactory.create(
        context="by the sea", chosen_valence=0.2, chosen_arousal=0.7, filters={"genres": ["rock"]}, top_k=7
    )
    claimed = run_statements.claim_returning(run.pk, "worker-a", timezone.now())
    assert claimed is not None
    stored = Run.objects.get(pk=run.pk)
    for field in Run._meta.concrete_fields:
        assert getattr(claimed, field.attname) == getattr(stored, field.attname), field.name
    assert claimed.started_at is not None and claimed.started_at.tzinfo is not None
    assert claimed.filters == {"genres": ["rock"]} and claimed.chosen_mood == (0.2, 0.7)
    assert claimed.photo_image == stored.photo.image.name  # type: ignore[attr-defined]
    assert claimed._state.adding is False and claimed._state.db == connection.alias


def test_the_claim_says_whether_the_user_has_rated_anything() -> None:
    from photos.models import Feedback, RunItem

    first = _running_run()
    assert first.has_ratings is False  # type: ignore[attr-defined]
    item = RunItem.objects.create(run=first, track=TrackFactory.create(), rank=1, score=0.5)
    Feedback.objects.create(user=first.user, item=item, track=item.track, rating=1)
    second = RunFactory.create(photo=first.photo, user=first.user)
    claimed = run_statements.claim_returning(second.pk, "worker-a", timezone.now())
    assert claimed is not None and claimed.has_ratings is True  # type: ignore[attr-defined]
    other = _running_run()  # another user's run
    assert other.has_ratings is False  # type: ignore[attr-defined]
