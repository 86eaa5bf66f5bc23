"""Import tracks from CSV or JSON Lines: a file path, an http(s) URL or an open binary stream.

The service behind `manage.py import_tracks`, `load_demo` and the admin import page.

How a file is read:
- Format: by the name's extension (.csv/.tsv/.txt, .jsonl/.ndjson/.json), else by content (a first
  non-blank `{` means JSON Lines). CSV delimiter: tab for .tsv, else the most frequent of `,` `;` tab
  in the header line.
- The file is streamed (never read whole into memory) and decoded line by line as UTF-8; a row with
  bytes that are not UTF-8 is rejected with its line number, the other rows still import.
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
"""

from __future__ import annotations

import csv
import json
import math
import re
import sys
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlparse

import requests
from django.db import connection, models, transaction
from django.utils import timezone
from tqdm import tqdm

from .models import AUDIO_FEATURES, Track

BATCH_SIZE = 1000  # rows per transaction; 1,000 x ~35 columns stays below PostgreSQL's 65,535 parameters
CHUNK_SIZE = 1 << 16
HTTP_TIMEOUT = (10, 60)  # connect, read (seconds)
MAX_LISTED_LINES = 20  # line numbers listed in one warning

NULL_MARKERS = frozenset({"", "NA", "N/A", "NaN", "nan", "null", "NULL", "None"})

# Model field -> accepted column names, most specific first. The first one the file has is used.
ALIASES: dict[str, tuple[str, ...]] = {
    "external_id": ("id", "track_id", "song_id"),
    "title": ("title", "name", "track_name"),
    "artist": ("artist", "track_artist"),
    "album": ("album", "track_album_name"),
    "year": ("year",),
    "genre": ("genre", "playlist_genre"),
    "musicbrainz_recording_id": ("musicbrainz_recording_id", "mbid"),
    "isrc": ("isrc",),
    "spotify_id": ("spotify_id",),
    "youtube_id": ("youtube_id",),
    "provenance": ("provenance",),
    "licence_note": ("licence_note",),
    **{name: (name,) for name in (*AUDIO_FEATURES, "arousal")},
}
RELEASE_DATE = "track_album_release_date"
TAG_COLUMNS = ("tags", "playlist_name", "playlist_subgenre")  # playlist names are real human context
REQUIRED = ("external_id", "title", "artist")
KNOWN_COLUMNS = frozenset({*(c for names in ALIASES.values() for c in names), RELEASE_DATE, *TAG_COLUMNS})


def _max_length(name: str) -> int:
    model_field = Track._meta.get_field(name)
    assert isinstance(model_field, models.CharField)
    return model_field.max_length or 0


TEXT_FIELDS = ("external_id", "title", "artist", "album", "genre", "licence_note")
TEXT_LIMITS = {name: _max_length(name) for name in TEXT_FIELDS}
UNIT_FEATURES = frozenset(
    {
        "danceability",
        "energy",
        "speechiness",
        "acousticness",
        "instrumentalness",
        "liveness",
        "valence",
        "arousal",
    }
)
# name -> (low, high, integer); the bounds are inclusive. Tempo's lower bound is exclusive (see _feature).
RANGES: dict[str, tuple[float, float, bool]] = {
    **{name: (0.0, 1.0, False) for name in UNIT_FEATURES},
    "key": (-1, 11, True),
    "mode": (0, 1, True),
    "loudness": (-70.0, 5.0, False),
    "tempo": (0.0, 300.0, False),
    "duration_ms": (1, 86_400_000, True),
    "time_signature": (1, 12, True),
}
NOT_DETECTED_ZERO = frozenset({"tempo", "time_signature"})

SPOTIFY_ID = re.compile(r"[0-9A-Za-z]{22}")
MBID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
ISRC = re.compile(r"[A-Z]{2}[A-Z0-9]{3}[0-9]{7}")
YOUTUBE_ID = re.compile(r"[A-Za-z0-9_-]{11}")
TAG_SEPARATORS = re.compile(r"[;|]")
PROVENANCES = frozenset(Track.Provenance.values)


class ImportFileError(Exception):
    """The source cannot be read at all (missing, unreachable, not a track file)."""


@dataclass
class RejectedRow:
    line: int
    reason: str


@dataclass
class ImportReport:
    source: str
    format: str = ""
    rows: int = 0  # data rows read (header and blank lines not counted)
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0  # rows merged into an earlier row with the same id
    rejected: list[RejectedRow] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def tracks(self) -> int:
        return self.created + self.updated + self.unchanged

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "tracks": self.tracks}

    def summary(self, max_rejected: int = 50) -> str:
        lines = [
            f"Imported {self.source} ({self.format or '?'}, {self.rows} rows) in {self.seconds:.2f} s: "
            f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged, "
            f"{len(self.rejected)} rejected, {self.duplicates} duplicate rows merged."
        ]
        if self.warnings:
            lines.append("Warnings:")
            lines.extend(f"  - {warning}" for warning in self.warnings)
        if self.rejected:
            lines.append("Rejected rows:")
            lines.extend(f"  line {row.line}: {row.reason}" for row in self.rejected[:max_rejected])
            if len(self.rejected) > max_rejected:
                lines.append(f"  ... and {len(self.rejected) - max_rejected} more")
        return "\n".join(lines)


class _RowError(Exception):
    pass


@dataclass
class _State:
    """What the read phase collects: merged rows by id, and what to report."""

    report: ImportReport
    rows: dict[str, dict[str, Any]] = field(default_factory=dict)  # external_id -> field values
    fields: set[str] = field(default_factory=set)  # model fields this file sets
    ignored: dict[str, None] = field(default_factory=dict)  # ordered set of unknown columns
    duplicate_lines: list[int] = field(default_factory=list)
    notes: dict[str, list[int]] = field(default_factory=dict)  # warning -> lines it applies to

    def reject(self, line: int, reason: str) -> None:
        self.report.rejected.append(RejectedRow(line, reason))

    def note(self, message: str, line: int) -> None:
        self.notes.setdefault(message, []).append(line)


# --------------------------------------------------------------------------------------------- entry point


def import_tracks(
    source: str | Path | IO[bytes],
    *,
    source_name: str | None = None,
    progress: bool = False,
    batch_size: int = BATCH_SIZE,
) -> ImportReport:
    """Import a CSV or JSON Lines file of tracks; see the module docstring for the rules.

    source is a path, an http(s) URL or a binary stream (then give source_name, which is also stored
    as each track's `source`). Raises ImportFileError when the source cannot be read at all; bad rows
    never raise, they are reported.
    """
    started = time.perf_counter()
    name = source_name or (source if isinstance(source, str | Path) else getattr(source, "name", "stream"))
    state = _State(ImportReport(source=str(name)))
    show = progress and sys.stderr.isatty()
    with _Source(source) as (chunks, total):
        lines = _LineReader(chunks)
        first = lines.peek()
        fmt = _detect_format(str(name), first)
        state.report.format = fmt
        with tqdm(total=total, unit="B", unit_scale=True, desc="reading", disable=not show) as bar:
            rows = _read_jsonl(lines, state) if fmt == "jsonl" else _read_csv(lines, state, str(name))
            for count, _ in enumerate(rows, 1):
                if count % 2000 == 0:
                    bar.update(lines.bytes_read - bar.n)
            bar.update(lines.bytes_read - bar.n)
    _finish_warnings(state)
    _write(state, batch_size=batch_size, show_progress=show)
    state.report.seconds = round(time.perf_counter() - started, 3)
    return state.report


# ----------------------------------------------------------------------------------------- reading bytes


class _Source:
    """Context manager yielding (chunks of bytes, total size or None) for a path, URL or stream."""

    def __init__(self, source: str | Path | IO[bytes]) -> None:
        self.source = source
        self._close: list[Any] = []

    def __enter__(self) -> tuple[Iterator[bytes], int | None]:
        source = self.source
        if isinstance(source, str) and source.startswith(("http://", "https://")):
            return self._url(source)
        if isinstance(source, str | Path):
            path = Path(source)
            try:
                handle = path.open("rb")
            except FileNotFoundError:
                raise ImportFileError(f"file not found: {path}") from None
            except OSError as exc:
                raise ImportFileError(f"cannot open {path}: {exc.strerror or exc}") from None
            self._close.append(handle)
            return _chunks(handle), path.stat().st_size
        return _chunks(source), None

    def _url(self, url: str) -> tuple[Iterator[bytes], int | None]:
        try:
            response = requests.get(url, stream=True, timeout=HTTP_TIMEOUT)
            response.raise_for_status()
        except requests.RequestException as exc:
            raise ImportFileError(f"cannot download {url}: {exc}") from None
        self._close.append(response)
        length = response.headers.get("Content-Length")
        compressed = bool(response.headers.get("Content-Encoding"))
        total = int(length) if length and length.isdigit() and not compressed else None

        def chunks() -> Iterator[bytes]:
            try:
                yield from response.iter_content(CHUNK_SIZE)
            except requests.RequestException as exc:
                raise ImportFileError(f"download of {url} failed: {exc}") from None

        return chunks(), total

    def __exit__(self, *exc: object) -> None:
        for handle in self._close:
            handle.close()


def _chunks(handle: IO[bytes] | IO[str]) -> Iterator[bytes]:
    while chunk := handle.read(CHUNK_SIZE):
        yield chunk.encode("utf-8") if isinstance(chunk, str) else chunk


class _LineReader:
    """Splits chunks into physical lines (on \\n) and decodes each as UTF-8.

    Lines that are not UTF-8 are decoded with replacement characters and remembered in `bad`
    (line number -> reason) so the row they belong to can be rejected.
    """

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._head: bytes | None = None
        self.bytes_read = 0
        self.number = 0
        self.bad: dict[int, str] = {}

    def peek(self) -> bytes:
        """The first chunk, kept for reading again: enough to sniff the format."""
        if self._head is None:
            self._head = next(self._chunks, b"")
        return self._head

    def _raw_lines(self) -> Iterator[bytes]:
        pending = self.peek()
        for chunk in self._chunks:
            *complete, pending = (pending + chunk).split(b"\n")
            for line in complete:
                yield line + b"\n"
        *complete, pending = pending.split(b"\n")
        for line in complete:
            yield line + b"\n"
        if pending:
            yield pending

    def __iter__(self) -> Iterator[str]:
        for raw in self._raw_lines():
            self.number += 1
            self.bytes_read += len(raw)
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                self.bad[self.number] = (
                    f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} at column {exc.start + 1}); "
                    "save the file as UTF-8"
                )
                text = raw.decode("utf-8", "replace")
            if self.number == 1:
                text = text.removeprefix("\ufeff")
            yield text


def _detect_format(name: str, head: bytes) -> str:
    suffix = Path(urlparse(name).path if "://" in name else name).suffix.lower()
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not stripped:
        raise ImportFileError(f"{name} is empty")
    if stripped[:1] == b"[" and suffix != ".csv":
        raise ImportFileError(f"{name} is a JSON array; write one JSON object per line (JSON Lines)")
    if suffix in {".jsonl", ".ndjson", ".json"}:
        return "jsonl"
    if suffix in {".csv", ".tsv", ".txt"}:
        return "csv"
    return "jsonl" if stripped[:1] == b"{" else "csv"


# -------------------------------------------------------------------------------------- reading formats


def _normalise_column(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


def _plan(columns: Iterable[str]) -> dict[str, str]:
    """Model field -> the column that provides it (the first alias present)."""
    present = set(columns)
    plan: dict[str, str] = {}
    for model_field, names in ALIASES.items():
        for name in names:
            if name in present:
                plan[model_field] = name
                break
    return plan


def _read_csv(lines: _LineReader, state: _State, name: str) -> Iterator[None]:
    text_lines = iter(lines)
    header_line = next(text_lines, "")
    delimiter = "\t" if name.lower().endswith(".tsv") else max(",;\t", key=header_line.count)
    try:
        header = next(csv.reader([header_line], delimiter=delimiter))
    except csv.Error as exc:
        raise ImportFileError(f"unreadable CSV header: {exc}") from None
    columns = [_normalise_column(column) for column in header]
    plan = _plan(columns)
    _check_required(plan, name, "header")
    for column in columns:
        if column and column not in KNOWN_COLUMNS:
            state.ignored[column] = None
    unused = [c for c in columns if c in KNOWN_COLUMNS and c not in plan.values()]
    unused = [c for c in unused if c not in (RELEASE_DATE, *TAG_COLUMNS)]
    for column in unused:
        state.ignored[f"{column} (another column gives the same field)"] = None
    if len(set(columns)) != len(columns):
        state.report.warnings.append("the header repeats a column name; the last one of each is used")
    state.fields.update(_fields_set(plan, columns))

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
            _accept(state, start, dict(zip(columns, record, strict=True)), plan)
        yield None


def _read_jsonl(lines: _LineReader, state: _State) -> Iterator[None]:
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
        if not isinstance(obj, dict):
            state.reject(number, f"expected a JSON object, found {type(obj).__name__}")
            continue
        raw = {_normalise_column(str(key)): value for key, value in obj.items()}
        plan = _plan(raw)
        if not checked:
            _check_required(plan, state.report.source, f"first JSON object (line {number})")
            checked = True
        for column in raw:
            if column not in KNOWN_COLUMNS:
                state.ignored[column] = None
        state.fields.update(_fields_set(plan, raw))
        _accept(state, number, raw, plan)
        yield None


def _check_required(plan: Mapping[str, str], name: str, where: str) -> None:
    missing = [
        f"{field_name} (one of: {', '.join(ALIASES[field_name])})"
        for field_name in REQUIRED
        if field_name not in plan
    ]
    if missing:
        raise ImportFileError(f"{name}: no {' / '.join(missing)} column in the {where}")


def _fields_set(plan: Mapping[str, str], columns: Iterable[str]) -> set[str]:
    """The model fields an import of these columns writes (and so may change on re-import)."""
    present = set(columns)
    fields = set(plan) | {"provenance", "source"}
    if RELEASE_DATE in present:
        fields.add("year")
    if present & set(TAG_COLUMNS):
        fields.add("tags")
    if plan.get("external_id") == "track_id":
        fields.add("spotify_id")
    return fields


# ------------------------------------------------------------------------------------------- one row


def _accept(state: _State, line: int, raw: Mapping[str, Any], plan: Mapping[str, str]) -> None:
    try:
        values = _parse_row(raw, plan, state, line)
    except _RowError as exc:
        state.reject(line, str(exc))
        return
    external_id = values.pop("external_id")
    earlier = state.rows.get(external_id)
    if earlier is not None:
        # Later values win; tags (and a differing earlier genre) are kept as tags.
        earlier_genre = earlier.get("genre", "")
        extra = [earlier_genre] if earlier_genre != values.get("genre") else []
        values["tags"] = _unique_tags([*earlier.get("tags", []), *extra, *values.get("tags", [])])
        if values["tags"]:
            state.fields.add("tags")
        state.duplicate_lines.append(line)
    state.rows[external_id] = values


def _parse_row(raw: Mapping[str, Any], plan: Mapping[str, str], state: _State, line: int) -> dict[str, Any]:
    errors: list[str] = []
    values: dict[str, Any] = {}
    cells = {model_field: raw.get(column) for model_field, column in plan.items()}

    for name in TEXT_FIELDS:
        try:
            text = _text(cells.get(name), name)
        except _RowError as exc:
            errors.append(str(exc))
            continue
        if name in REQUIRED and not text:
            errors.append(f"missing {'id' if name == 'external_id' else name}")
        elif len(text) > TEXT_LIMITS[name]:
            errors.append(f"{name} is longer than {TEXT_LIMITS[name]} characters")
        values[name] = text

    for name in (*AUDIO_FEATURES, "arousal"):
        try:
            number = _feature(name, cells.get(name))
        except _RowError as exc:
            errors.append(str(exc))
            continue
        if number == 0 and name in NOT_DETECTED_ZERO:
            state.note(f"{name} 0 (Spotify's 'not detected') stored as unknown", line)
            number = None
        values[name] = number

    try:
        values["year"] = _year(cells.get("year"), raw.get(RELEASE_DATE))
        values["tags"] = _tags(raw)
        values.update(_links(raw, plan, cells))
        values["provenance"] = _provenance(cells.get("provenance"))
    except _RowError as exc:
        errors.append(str(exc))
    if errors:
        raise _RowError("; ".join(errors))
    return values


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() in NULL_MARKERS)


def _text(value: Any, name: str) -> str:
    if isinstance(value, str):
        text = value.strip()
        return "" if text in NULL_MARKERS else text
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _RowError(f"{name} must be text, not {type(value).__name__}")
    return str(value).strip()


def _number(value: Any, name: str) -> float | None:
    if isinstance(value, str):  # the common case first: this runs for every cell of every row
        try:
            number = float(value)
        except ValueError:
            if value.strip() in NULL_MARKERS:
                return None
            raise _RowError(f"{name} {value!r} is not a number") from None
        if value in NULL_MARKERS:  # "NaN", "nan": float() accepts them, but they mean missing
            return None
    elif value is None:
        return None
    elif isinstance(value, bool) or not isinstance(value, int | float):
        raise _RowError(f"{name} {value!r} is not a number")
    else:
        number = float(value)
    if not math.isfinite(number):
        raise _RowError(f"{name} {value!r} is not a finite number")
    return number


def _feature(name: str, value: Any) -> float | int | None:
    number = _number(value, name)
    if number is None:
        return None
    low, high, integer = RANGES[name]
    if integer and not number.is_integer():
        raise _RowError(f"{name} {_shown(value)} is not a whole number")
    if name in NOT_DETECTED_ZERO and number == 0:
        return 0
    # tempo must be above 0; everything else is inclusive
    if number < low or number > high or (name == "tempo" and number <= 0):
        bound = f"above 0, at most {high:g}" if name == "tempo" else f"{low:g} to {high:g}"
        raise _RowError(f"{name} {_shown(value)} is out of range ({bound})")
    return int(number) if integer else number


def _shown(value: Any) -> str:
    return value.strip() if isinstance(value, str) else repr(value)


def _year(year: Any, release_date: Any) -> int | None:
    number = _number(year, "year")
    if number is not None:
        if not number.is_integer() or not 1000 <= number <= 2100:
            raise _RowError(f"year {year!r} is not a year between 1000 and 2100")
        return int(number)
    if isinstance(release_date, str) and re.match(r"\d{4}", release_date.strip()):
        derived = int(release_date.strip()[:4])
        return derived if 1000 <= derived <= 2100 else None
    return None


def _tags(raw: Mapping[str, Any]) -> list[str]:
    tags: list[str] = []
    for column in TAG_COLUMNS:
        value = raw.get(column)
        if _is_missing(value):
            continue
        if isinstance(value, list):
            tags.extend(str(item) for item in value if not _is_missing(item))
        elif isinstance(value, str):
            tags.extend(TAG_SEPARATORS.split(value) if column == "tags" else [value])
        else:
            raise _RowError(f"{column} must be text or a list, not {type(value).__name__}")
    return _unique_tags(tags)


def _unique_tags(tags: Iterable[str]) -> list[str]:
    """Stripped, without repeats (compared case-insensitively), in first-seen order."""
    seen: set[str] = set()
    result: list[str] = []
    for tag in tags:
        tag = tag.strip()
        if tag and tag.casefold() not in seen:
            seen.add(tag.casefold())
            result.append(tag)
    return result


def _links(raw: Mapping[str, Any], plan: Mapping[str, str], cells: Mapping[str, Any]) -> dict[str, str]:
    links = {
        "musicbrainz_recording_id": _text(cells.get("musicbrainz_recording_id"), "mbid").lower(),
        "isrc": _text(cells.get("isrc"), "isrc").replace("-", "").upper(),
        "spotify_id": _text(cells.get("spotify_id"), "spotify_id"),
        "youtube_id": _text(cells.get("youtube_id"), "youtube_id"),
    }
    checks = {
        "musicbrainz_recording_id": MBID,
        "isrc": ISRC,
        "spotify_id": SPOTIFY_ID,
        "youtube_id": YOUTUBE_ID,
    }
    for name, pattern in checks.items():
        if links[name] and not pattern.fullmatch(links[name]):
            raise _RowError(f"{name} {links[name]!r} is not a valid id")
    # TidyTuesday's track_id is a Spotify track id.
    if not links["spotify_id"] and plan.get("external_id") == "track_id":
        candidate = _text(raw.get("track_id"), "track_id")
        if SPOTIFY_ID.fullmatch(candidate):
            links["spotify_id"] = candidate
    return links


def _provenance(value: Any) -> str:
    text = _text(value, "provenance").lower()
    if not text:
        return Track.Provenance.IMPORT
    if text not in PROVENANCES:
        raise _RowError(f"provenance {text!r} is not one of {', '.join(sorted(PROVENANCES))}")
    return text


def _list_lines(lines: list[int]) -> str:
    shown = ", ".join(str(n) for n in lines[:MAX_LISTED_LINES])
    more = f" and {len(lines) - MAX_LISTED_LINES} more" if len(lines) > MAX_LISTED_LINES else ""
    return f"line{'s' if len(lines) > 1 else ''} {shown}{more}"


def _finish_warnings(state: _State) -> None:
    report = state.report
    if state.ignored:
        report.warnings.insert(0, f"ignored columns: {', '.join(state.ignored)}")
    for message, lines in state.notes.items():
        report.warnings.append(f"{message}: {_list_lines(lines)}")
    if state.duplicate_lines:
        report.duplicates = len(state.duplicate_lines)
        report.warnings.append(
            f"{len(state.duplicate_lines)} rows repeat an id seen earlier in the file and were merged "
            f"into it (later values win, tags are combined): {_list_lines(state.duplicate_lines)}"
        )


# ------------------------------------------------------------------------------------------- writing


def _write(state: _State, *, batch_size: int, show_progress: bool) -> None:
    """Create new tracks, update changed ones, skip unchanged ones: one query and one upsert per batch."""
    report = state.report
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
                    elif old == tuple(values.get(name) for name in fields):
                        report.unchanged += 1
                        continue
                    else:
                        report.updated += 1
                    changed.append((external_id, values))
                if changed:
                    _upsert(changed, update_fields=fields)
            bar.update(len(batch))


def _upsert(rows: list[tuple[str, dict[str, Any]]], *, update_fields: list[str]) -> None:
    """INSERT ... ON CONFLICT (external_id) DO UPDATE, run with executemany.

    Raw SQL because the ORM's bulk_create(update_conflicts=True) builds ~35 parameters per row in Python
    and SQLite's 999-parameter limit splits it into ~30-row statements: 3x slower. The syntax is the
    same on SQLite and PostgreSQL, the two databases the project supports. updated_at is set here
    because bulk writes bypass auto_now, and catalogue_fingerprint() relies on it.
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
