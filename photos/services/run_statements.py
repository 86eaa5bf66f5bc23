"""The statements a worker runs for every photo, written as SQL.

Measured on the 28k-track worker path (bench/serving.py worker): Django's ORM spends 0.6-1.5 ms of CPU
compiling each of these statements, several times what the database spends running them (0.04-0.1 ms
on SQLite), and a run made about ten. Here each is one plain statement that SQLite (3.35+) and
PostgreSQL both run: the claim returns the run and its photo's file name in the same statement, the
result is one conditional update, one multi-row insert and one update (on PostgreSQL one WITH
statement doing all three, without BEGIN and COMMIT round trips). What they do is what the ORM
calls they replace did; tests/photos/test_runs.py covers them on both databases. On PostgreSQL the claim
and the result commit without waiting for the disk (settings.RUN_WRITES_ASYNC_COMMIT): a commit that
waits for its fsync cost about 4 ms here, twice a run.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Field

from photos.models import Feedback, Photo, Run, RunItem

_RUN = Run._meta.db_table
_PHOTO = Photo._meta.db_table
_ITEM = RunItem._meta.db_table
_FEEDBACK = Feedback._meta.db_table


@dataclass(frozen=True)
class ItemRow:
    track_id: int
    rank: int
    score: float
    strategy_scores: dict[str, float]
    reasons: list[str]


def _when(value: datetime) -> Any:
    return connection.ops.adapt_datetimefield_value(value)


def _without_waiting_for_disk() -> str:
    """A FROM item for a run write's UPDATE: on PostgreSQL (with settings.RUN_WRITES_ASYNC_COMMIT) it
    turns synchronous_commit off for the statement's transaction, whose commit then returns without
    waiting for the WAL to reach the disk. Inside the UPDATE rather than a statement of its own, so the
    claim stays one statement in autocommit (a SET LOCAL needed BEGIN, SET and COMMIT round trips too)."""
    if connection.vendor == "postgresql" and settings.RUN_WRITES_ASYNC_COMMIT:
        return "FROM (SELECT set_config('synchronous_commit', 'off', true)) AS no_wait_for_disk "
    return ""


def claim_returning(run_id: int, worker: str, now: datetime, take_over_below: int = 0) -> Run | None:
    """Take a pending run for this worker and count the attempt; the run as claimed (with its photo's
    stored file name as `photo_image`, and as `has_ratings` whether its user has rated any track), or None
    when another worker has it or it is not pending. A running run is taken over too while it has had
    fewer than `take_over_below` attempts (0: never)."""
    fields, converters = _run_columns()
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {_RUN} SET status = %s, started_at = %s, worker = %s, error = '', "
            f"attempts = attempts + 1 {_without_waiting_for_disk()}"
            f"WHERE {_RUN}.id = %s AND (status = %s OR (status = %s AND attempts < %s)) "
            f"RETURNING {', '.join(f'{_RUN}.{field.column}' for field in fields)}, "
            f"(SELECT image FROM {_PHOTO} WHERE {_PHOTO}.id = {_RUN}.photo_id), "
            f"EXISTS (SELECT 1 FROM {_FEEDBACK} WHERE {_FEEDBACK}.user_id = {_RUN}.user_id)",
            [
                Run.Status.RUNNING,
                _when(now),
                worker[:200],
                run_id,
                Run.Status.PENDING,
                Run.Status.RUNNING,
                take_over_below,
            ],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    values = list(row[: len(fields)])
    for i, expression, convert in converters:
        values[i] = convert(values[i], expression, connection)
    run = Run.from_db(connection.alias, [field.attname for field in fields], values)
    run.photo_image, run.has_ratings = row[-2], bool(row[-1])  # type: ignore[attr-defined]
    return run


# Per database vendor: Run's columns and the converters of their values (what Run.objects.raw() looked up
# for every claim, about 0.2 ms).
_columns: dict[str, tuple[list[Field[Any, Any]], list[tuple[int, Any, Any]]]] = {}


def _run_columns() -> tuple[list[Field[Any, Any]], list[tuple[int, Any, Any]]]:
    cached = _columns.get(connection.vendor)
    if cached is None:
        fields = list(Run._meta.concrete_fields)
        converters = []
        for i, field in enumerate(fields):
            column = field.get_col(_RUN)
            for convert in connection.ops.get_db_converters(column) + field.get_db_converters(connection):
                converters.append((i, column, convert))
        cached = _columns[connection.vendor] = (fields, converters)
    return cached


def ratings(user_id: int) -> list[tuple[int, int, float | None, float | None]]:
    """(track, rating, photo valence, photo arousal) of the user's ratings, oldest change first."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT track_id, rating, photo_valence, photo_arousal FROM {_FEEDBACK} "
            f"WHERE user_id = %s ORDER BY updated_at",
            [user_id],
        )
        return list(cursor.fetchall())


def finish(
    run: Run, result: dict[str, Any], items: Sequence[ItemRow], embedding: bytes, embedding_model: str
) -> bool:
    """Mark the run done with its result and items, and keep the photo's embedding, when this worker
    still holds the run (a reaped run stays failed). All or nothing: on PostgreSQL one statement (a
    transaction by itself: no BEGIN and COMMIT round trips; inside a caller's transaction, a savepoint),
    on SQLite, which has no data-modifying WITH, a transaction of three. IntegrityError when an item's
    track is gone (nothing written). True when written."""
    columns = list(result)
    values = [
        json.dumps(value) if isinstance(value, dict | list) else value
        for value in (_when(v) if isinstance(v, datetime) else v for v in result.values())
    ]
    assignments = ", ".join(f"{column} = %s" for column in columns)
    rows = [
        (item.track_id, item.rank, item.score, json.dumps(item.strategy_scores), json.dumps(item.reasons))
        for item in items
    ]
    done = (
        f"UPDATE {_RUN} SET status = %s, {assignments} {_without_waiting_for_disk()}"
        f"WHERE {_RUN}.id = %s AND status = %s"
    )
    done_params = [Run.Status.DONE, *values, run.pk, Run.Status.RUNNING]
    if connection.vendor == "postgresql":
        if connection.in_atomic_block:
            with transaction.atomic():
                return _finish_in_one_statement(run, done, done_params, rows, embedding, embedding_model)
        return _finish_in_one_statement(run, done, done_params, rows, embedding, embedding_model)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(done, done_params)
        if cursor.rowcount != 1:
            return False
        if rows:
            cursor.execute(
                f"INSERT INTO {_ITEM} (run_id, track_id, rank, score, strategy_scores, reasons) VALUES "
                + ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(rows)),
                [value for row in rows for value in (run.pk, *row)],
            )
        cursor.execute(
            f"UPDATE {_PHOTO} SET embedding = %s, embedding_model = %s WHERE id = %s",
            [embedding, embedding_model, run.photo_id],
        )
    return True


def _finish_in_one_statement(
    run: Run,
    done: str,
    done_params: list[Any],
    rows: list[tuple[int, int, float, str, str]],
    embedding: bytes,
    embedding_model: str,
) -> bool:
    """finish() on PostgreSQL: the run's update, its items and the photo's embedding in one WITH
    statement; the items and the embedding are written only when the run's update matched."""
    items = ""
    item_params: list[Any] = []
    if rows:
        items = (
            f"items AS (INSERT INTO {_ITEM} (run_id, track_id, rank, score, strategy_scores, reasons) "
            f"SELECT done.id, v.* FROM done, (VALUES "
            + ", ".join(["(%s::bigint, %s::integer, %s::double precision, %s::jsonb, %s::jsonb)"] * len(rows))
            + ") AS v), "
        )
        item_params = [value for row in rows for value in row]
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH done AS ({done} RETURNING {_RUN}.id, {_RUN}.photo_id), {items}"
            f"photo AS (UPDATE {_PHOTO} SET embedding = %s, embedding_model = %s FROM done "
            f"WHERE {_PHOTO}.id = done.photo_id) "
            f"SELECT count(*) FROM done",
            [*done_params, *item_params, embedding, embedding_model],
        )
        return bool(cursor.fetchone()[0])
