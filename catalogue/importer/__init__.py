"""Import tracks from CSV or JSON Lines: a file path, an http(s) URL or an open binary stream.

The service behind `manage.py import_tracks`, `load_demo` and the admin import page.

How a file is read:
- Format: by the name's extension (.csv/.tsv/.txt, .jsonl/.ndjson/.json), else by content (a first
  non-blank `{` means JSON Lines). CSV delimiter: tab for .tsv, else the most frequent of `,` `;` tab
  in the header line.
- The file is streamed (never read whole into memory) and decoded line by line as UTF-8; a row with
  bytes that are not UTF-8 is rejected with its line number, the other rows still import. A file that
  starts with a UTF-16 or UTF-32 byte-order mark is read in that encoding.
- Text that PostgreSQL cannot store (a NUL character, a lone surrogate), JSON nested too deeply or a
  number with thousands of digits rejects its row, like any other bad value.
- Line numbers are physical lines, 1-based; a CSV header is line 1. A CSV record with a quoted
  multi-line field is reported by the line it starts on.
- Empty cells and the markers NA, N/A, NaN, nan, null, NULL, None are missing values: a missing feature
  is unknown (NULL), never 0. A tempo or time_signature of exactly 0 is Spotify's "not detected" and is
  stored as unknown, with a warning.
- Duplicate ids in one file: the rows are merged, later values win and the tags of all of them are
  kept (the TidyTuesday file lists a track once per playlist it is in). The repeats are reported.
- Tracks are keyed by external_id: re-importing updates (only the columns the file has), never
  duplicates, and a track whose values did not change is left alone and counted as unchanged.

Rows are parsed in full before anything is written (memory grows with the number of unique tracks),
because a repeated id may come thousands of lines after the first one and must be merged first.

The package, by concern:
- sources.py: opening a path, URL or stream; splitting its bytes into decoded lines; the format.
- columns.py: the columns understood, and which model field each gives.
- formats.py: reading CSV and JSON Lines records.
- rows.py: validating and normalising one row; merging a repeated id.
- writer.py: writing the merged rows to the database.
- report.py: the report, and what the read phase collects for it.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

from tqdm import tqdm

from .formats import read_csv, read_jsonl
from .report import ImportFileError, ImportReport, ReadState, RejectedRow
from .sources import LineReader, Source, as_utf8, detect_format
from .writer import BATCH_SIZE, write

__all__ = ["BATCH_SIZE", "ImportFileError", "ImportReport", "RejectedRow", "import_tracks"]


def import_tracks(
    source: str | Path | IO[bytes],
    *,
    source_name: str | None = None,
    progress: bool = False,
    batch_size: int = BATCH_SIZE,
    dry_run: bool = False,
    on_progress: Callable[[str, int, int], None] | None = None,
) -> ImportReport:
    """Import a CSV or JSON Lines file of tracks; see the package docstring for the rules.

    source is a path, an http(s) URL or a binary stream (then give source_name, which is also stored
    as each track's `source`). Raises ImportFileError when the source cannot be read at all; bad rows
    never raise, they are reported. dry_run: read and compare everything, write nothing (the report's
    counts say what an import would create, update and leave). on_progress(phase, done, total) is called
    now and then: ("reading", bytes read, bytes in all or 0 when unknown), ("writing", tracks, tracks).
    """
    started = time.perf_counter()
    name = source_name or (source if isinstance(source, str | Path) else getattr(source, "name", "stream"))
    state = ReadState(ImportReport(source=str(name)))
    show = progress and sys.stderr.isatty()
    with Source(source) as (chunks, total):
        utf8_chunks, wide_encoding = as_utf8(chunks, str(name))
        if wide_encoding:
            state.report.warnings.append(f"the file is {wide_encoding} (it starts with a byte-order mark)")
        lines = LineReader(utf8_chunks)
        fmt = detect_format(str(name), lines.peek())
        state.report.format = fmt
        with tqdm(total=total, unit="B", unit_scale=True, desc="reading", disable=not show) as bar:
            rows = read_jsonl(lines, state) if fmt == "jsonl" else read_csv(lines, state, str(name))
            for count, _ in enumerate(rows, 1):
                if count % 2000 == 0:
                    bar.update(lines.bytes_read - bar.n)
                    if on_progress is not None:
                        on_progress("reading", lines.bytes_read, total or 0)
            bar.update(lines.bytes_read - bar.n)
    state.finish_warnings()
    write(state, batch_size=batch_size, show_progress=show, dry_run=dry_run, on_progress=on_progress)
    state.report.seconds = round(time.perf_counter() - started, 3)
    return state.report
