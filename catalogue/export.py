"""Export the catalogue as CSV in the importer's own columns, so that the file re-imports unchanged.

The columns are the importer's canonical names (catalogue.importer.columns): id, the text fields, tags
(joined with "; ", the importer splits on ; and |), the outside ids, provenance and every feature.
Text cells a spreadsheet would run as formulas are neutralised (catalogue.csv_safety); numbers are
written as Python writes them (float repr round-trips exactly), unknown values as empty cells.
Not carried: is_active, audio and its analysis state, source (the importer sets it to the file's name).
Known limits of the round trip: a tag containing ; or | comes back split, and a text value equal to a
missing-value marker (NA, None, null...) comes back empty.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any, TextIO

from django.db.models import QuerySet
from django.utils import timezone

from .csv_safety import neutralise
from .importer.columns import FEATURE_FIELDS
from .models import Track

TEXT_COLUMNS = ("title", "artist", "album")
# (CSV column, Track field), in the order they are written.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("id", "external_id"),
    *((name, name) for name in TEXT_COLUMNS),
    ("year", "year"),
    ("genre", "genre"),
    ("language", "language"),
    ("tags", "tags"),
    ("musicbrainz_recording_id", "musicbrainz_recording_id"),
    ("isrc", "isrc"),
    ("spotify_id", "spotify_id"),
    ("youtube_id", "youtube_id"),
    ("provenance", "provenance"),
    ("licence_note", "licence_note"),
    *((name, name) for name in FEATURE_FIELDS),
)
HEADER = [column for column, _ in COLUMNS]
FIELDS = [field for _, field in COLUMNS]
TAG_JOINER = "; "
CHUNK = 2000  # rows fetched per database round trip (a server-side cursor on PostgreSQL)


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return neutralise(TAG_JOINER.join(str(tag) for tag in value))
    if isinstance(value, str):
        return neutralise(value)
    return repr(value) if isinstance(value, float) else str(value)


def rows(tracks: QuerySet[Track] | None = None) -> Iterator[list[str]]:
    """The header, then one row per track, by id (stable across exports)."""
    tracks = Track.objects.all() if tracks is None else tracks
    yield HEADER
    for values in tracks.order_by("pk").values_list(*FIELDS).iterator(chunk_size=CHUNK):
        yield [cell(value) for value in values]


class _Echo:
    """A file-like object whose write returns the line, for streaming csv.writer output."""

    def write(self, value: str) -> str:
        return value


def csv_lines(tracks: QuerySet[Track] | None = None) -> Iterator[str]:
    """The CSV text, one line at a time (for a streaming HTTP response)."""
    writer = csv.writer(_Echo())
    for row in rows(tracks):
        yield writer.writerow(row)


def write_csv(out: TextIO, tracks: QuerySet[Track] | None = None) -> int:
    """Write the CSV to an open text file (newline=""); returns the number of tracks written."""
    writer = csv.writer(out)
    lines = rows(tracks)
    writer.writerow(next(lines))
    return sum(writer.writerow(row) > 0 for row in lines)


def export_filename(prefix: str = "tracks") -> str:
    return f"{prefix}-{timezone.now():%Y%m%d-%H%M%S}.csv"
