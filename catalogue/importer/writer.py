"""Writing the merged rows: create new tracks, update changed ones, leave unchanged ones alone."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from tqdm import tqdm

from catalogue.models import CatalogueVersion, Track

from .report import DryRunDiff, ReadState

BATCH_SIZE = 1000  # rows per transaction; 1,000 x ~35 columns stays below PostgreSQL's 65,535 parameters


def write(
    state: ReadState,
    *,
    batch_size: int,
    show_progress: bool,
    dry_run: bool = False,
    on_progress: Callable[[str, int, int], None] | None = None,
) -> None:
    """One query and one upsert per batch; counts created, updated and unchanged tracks in the report.

    A batch that creates or changes tracks moves the catalogue version in its transaction; a re-import
    that changes nothing leaves the version (and so the engine's index) as it was. A dry run counts the
    same way, writes nothing, and lists what would change track by track (report.diff).
    """
    report = state.report
    diff = report.diff = DryRunDiff() if dry_run else None
    state.fields.discard("external_id")
    fields = sorted(state.fields)
    ids = list(state.rows)
    with tqdm(total=len(ids), unit="tracks", desc="writing", disable=not show_progress) as bar:
        for start in range(0, len(ids), batch_size):
            batch = ids[start : start + batch_size]
            with transaction.atomic():
                existing = {
                    row[0]: row[1:]
                    for row in Track.objects.filter(external_id__in=batch).values_list("external_id", *fields)
                }
                changed: list[tuple[str, dict[str, Any]]] = []
                for external_id in batch:
                    values = state.rows[external_id]
                    values["source"] = report.source[:300]
                    old = existing.get(external_id)
                    if old is None:
                        report.created += 1
                        if diff is not None:
                            diff.add(external_id, values)
                    elif old == tuple(values.get(name) for name in fields):
                        report.unchanged += 1
                        if diff is not None:
                            diff.keep(external_id, dict(zip(fields, old, strict=True)))
                        continue
                    else:
                        report.updated += 1
                        if diff is not None:
                            diff.change(external_id, dict(zip(fields, old, strict=True)), values)
                    changed.append((external_id, values))
                if changed and not dry_run:
                    CatalogueVersion.bump()  # before the upsert: see CatalogueVersion.bump
                    _upsert(changed, update_fields=fields)
            bar.update(len(batch))
            if on_progress is not None:
                on_progress("writing", start + len(batch), len(ids))


def _upsert(rows: list[tuple[str, dict[str, Any]]], *, update_fields: list[str]) -> None:
    """INSERT ... ON CONFLICT (external_id) DO UPDATE, run with executemany.

    Raw SQL because the ORM's bulk_create(update_conflicts=True) builds ~35 parameters per row in Python
    and SQLite's 999-parameter limit splits it into ~30-row statements: 3x slower. The syntax is the
    same on SQLite and PostgreSQL, the two databases the project supports. updated_at is set here
    because bulk writes bypass auto_now; the catalogue version is the caller's to move.
    """
    model_fields = [f for f in Track._meta.concrete_fields if not f.primary_key]
    names = [f.attname for f in model_fields]
    now = Track._meta.get_field("updated_at").get_db_prep_save(timezone.now(), connection)
    defaults: dict[str, Any] = {f.attname: f.get_default() for f in model_fields}
    defaults.update(created_at=now, updated_at=now)
    tags_field = Track._meta.get_field("tags")  # the only value the driver cannot take as it is
    params = []
    for external_id, values in rows:
        row = {**defaults, **values, "external_id": external_id}
        row["tags"] = tags_field.get_db_prep_save(row["tags"], connection)
        params.append(tuple(row[name] for name in names))
    quote = connection.ops.quote_name
    column = {f.attname: quote(f.column or f.attname) for f in model_fields}
    columns = ", ".join(column[name] for name in names)
    table = quote(Track._meta.db_table)
    on_conflict = f"ON CONFLICT ({quote('external_id')}) DO UPDATE SET " + ", ".join(
        f"{column[name]} = excluded.{column[name]}" for name in [*update_fields, "updated_at"]
    )
    if connection.vendor == "postgresql":
        # Row-by-row statements cost PostgreSQL a round of work each (3x slower): COPY the batch into
        # a temporary table and upsert it with one statement.
        connection.ensure_connection()
        with connection.connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS pg_temp.track_import")
            cursor.execute(
                f"CREATE TEMPORARY TABLE track_import ON COMMIT DROP "
                f"AS SELECT {columns} FROM {table} WITH NO DATA"
            )
            with cursor.copy(f"COPY track_import ({columns}) FROM STDIN") as copy:
                for values_row in params:
                    copy.write_row(values_row)
            cursor.execute(
                f"INSERT INTO {table} ({columns}) SELECT {columns} FROM track_import {on_conflict}"
            )
    else:
        placeholders = ", ".join(["%s"] * len(names))
        sql = f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) {on_conflict}"
        with connection.cursor() as cursor:
            cursor.executemany(sql, params)
