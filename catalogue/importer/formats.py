"""Reading records: CSV (with a header line) and JSON Lines; each record goes to rows.accept."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator

from .columns import (
    KNOWN_COLUMNS,
    RELEASE_DATE,
    TAG_COLUMNS,
    check_required,
    normalise_column,
    note_columns,
    plan_columns,
)
from .report import ImportFileError, ReadState
from .rows import accept
from .sources import LineReader


def read_csv(lines: LineReader, state: ReadState, name: str) -> Iterator[None]:
    """Yields once per data row read (for progress). Line numbers: the header is line 1, and a record with
    a quoted multi-line field is reported by the line it starts on."""
    text_lines = iter(lines)
    header_line = next(text_lines, "")
    delimiter = "\t" if name.lower().endswith(".tsv") else max(",;\t", key=header_line.count)
    try:
        header = next(csv.reader([header_line], delimiter=delimiter))
    except csv.Error as exc:
        raise ImportFileError(f"unreadable CSV header: {exc}") from None
    columns = [normalise_column(column) for column in header]
    plan = plan_columns(columns)
    check_required(plan, name, "header")
    note_columns(state, plan, [column for column in columns if column])
    unused = [c for c in columns if c in KNOWN_COLUMNS and c not in plan.values()]
    unused = [c for c in unused if c not in (RELEASE_DATE, *TAG_COLUMNS)]
    for column in unused:
        state.ignored[f"{column} (another column gives the same field)"] = None
    if len(set(columns)) != len(columns):
        state.report.warnings.append("the header repeats a column name; the last one of each is used")

    reader = csv.reader(text_lines, delimiter=delimiter)
    width = len(columns)
    while True:
        start = reader.line_num + 2  # +1 for the header line, which the reader did not see
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            stuck = reader.line_num + 2 == start  # nothing consumed: reading on would loop forever
            state.reject(start, f"unreadable CSV: {exc}" + ("; the rest was not read" if stuck else ""))
            if stuck:
                return
            continue
        if not record or (len(record) == 1 and not record[0].strip()):
            continue  # blank line
        end = reader.line_num + 1
        state.report.rows += 1
        span = f" (record spans lines {start}-{end})" if end > start else ""
        bad = [lines.bad[n] for n in range(start, end + 1) if n in lines.bad]
        if bad:
            state.reject(start, bad[0] + span)
        elif len(record) != width:
            state.reject(start, f"expected {width} fields, found {len(record)}{span}")
        else:
            accept(state, start, dict(zip(columns, record, strict=True)), plan)
        yield None


def read_jsonl(lines: LineReader, state: ReadState) -> Iterator[None]:
    """Yields once per non-blank line read (for progress). Each object's keys are its columns; the first
    object must have the required ones."""
    checked = False
    for text in lines:
        number = lines.number
        if not text.strip():
            continue
        state.report.rows += 1
        if number in lines.bad:
            state.reject(number, lines.bad[number])
            continue
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            state.reject(number, f"invalid JSON: {exc.msg} (column {exc.colno})")
            continue
        except RecursionError:
            state.reject(number, "invalid JSON: nested too deeply")
            continue
        except ValueError as exc:  # an integer of more than sys.get_int_max_str_digits() digits
            state.reject(number, f"invalid JSON: {_first_line(exc)}")
            continue
        if not isinstance(obj, dict):
            state.reject(number, f"expected a JSON object, found {type(obj).__name__}")
            continue
        raw = {normalise_column(key): value for key, value in obj.items()}
        plan = plan_columns(raw)
        if not checked:
            check_required(plan, state.report.source, f"first JSON object (line {number})")
            checked = True
        note_columns(state, plan, raw)
        accept(state, number, raw, plan)
        yield None


def _first_line(exc: Exception) -> str:
    return str(exc).split(";")[0].splitlines()[0] if str(exc) else type(exc).__name__
