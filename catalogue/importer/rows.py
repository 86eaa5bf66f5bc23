"""One row: validate and normalise its values, then merge it with an earlier row of the same id.

Empty cells and the markers in NULL_MARKERS are missing values: a missing feature is unknown (None), never
0. A tempo or time_signature of exactly 0 is Spotify's "not detected": stored as unknown, with a note.
Every problem of a row is reported together, in one reason.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import models

from catalogue.csv_safety import restore
from catalogue.models import Track

from .columns import FEATURE_FIELDS, RELEASE_DATE, REQUIRED, TAG_COLUMNS
from .report import ReadState

NULL_MARKERS = frozenset({"", "NA", "N/A", "NaN", "nan", "null", "NULL", "None"})


def _max_length(name: str) -> int:
    model_field = Track._meta.get_field(name)
    assert isinstance(model_field, models.CharField)
    return model_field.max_length or 0


TEXT_FIELDS = ("external_id", "title", "artist", "album", "genre", "language", "licence_note")
TEXT_LIMITS = {name: _max_length(name) for name in TEXT_FIELDS}
# name -> (low, high, integer); the bounds are inclusive. Tempo's lower bound is exclusive (see _feature).
_SCALED: dict[str, tuple[float, float, bool]] = {
    "key": (-1, 11, True),
    "mode": (0, 1, True),
    "loudness": (-70.0, 5.0, False),
    "tempo": (0.0, 300.0, False),
    "duration_ms": (1, 86_400_000, True),
    "time_signature": (1, 12, True),
}
RANGES = {**{name: (0.0, 1.0, False) for name in FEATURE_FIELDS if name not in _SCALED}, **_SCALED}
NOT_DETECTED_ZERO = frozenset({"tempo", "time_signature"})

SPOTIFY_ID = re.compile(r"[0-9A-Za-z]{22}")
MBID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
ISRC = re.compile(r"[A-Z]{2}[A-Z0-9]{3}[0-9]{7}")
YOUTUBE_ID = re.compile(r"[A-Za-z0-9_-]{11}")
TAG_SEPARATORS = re.compile(r"[;|]")
PROVENANCES = frozenset(Track.Provenance.values)


class RowError(Exception):
    pass


def accept(state: ReadState, line: int, raw: Mapping[str, Any], plan: Mapping[str, str]) -> None:
    """Parse one row into state.rows, or reject it with its line number."""
    try:
        values = parse_row(raw, plan, state, line)
    except RowError as exc:
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


def parse_row(raw: Mapping[str, Any], plan: Mapping[str, str], state: ReadState, line: int) -> dict[str, Any]:
    errors: list[str] = []
    values: dict[str, Any] = {}
    cells = {model_field: raw.get(column) for model_field, column in plan.items()}

    for name in TEXT_FIELDS:
        try:
            text = _text(cells.get(name), name)
        except RowError as exc:
            errors.append(str(exc))
            continue
        if name in REQUIRED and not text:
            errors.append(f"missing {'id' if name == 'external_id' else name}")
        elif len(text) > TEXT_LIMITS[name]:
            errors.append(f"{name} is longer than {TEXT_LIMITS[name]} characters")
        values[name] = text

    for name in FEATURE_FIELDS:
        try:
            number = _feature(name, cells.get(name))
        except RowError as exc:
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
    except RowError as exc:
        errors.append(str(exc))
    if errors:
        raise RowError("; ".join(errors))
    return values


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() in NULL_MARKERS)


def _storable(text: str, name: str) -> str:
    """The text, when PostgreSQL can store it: no NUL character and no lone surrogate (JSON's \\ud800)."""
    if "\x00" in text:
        raise RowError(f"{name} contains a NUL character")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise RowError(f"{name} contains a lone surrogate (not valid Unicode)") from None
    return text


def _text(value: Any, name: str) -> str:
    if isinstance(value, str):
        text = restore(_storable(value.strip(), name))  # "'=x" from our export is "=x"
        return "" if text in NULL_MARKERS else text
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise RowError(f"{name} must be text, not {type(value).__name__}")
    return str(value).strip()


def _number(value: Any, name: str) -> float | None:
    if isinstance(value, str):  # the common case first: this runs for every cell of every row
        try:
            number = float(value)
        except ValueError:
            if value.strip() in NULL_MARKERS:
                return None
            raise RowError(f"{name} {value!r} is not a number") from None
        if value in NULL_MARKERS:  # "NaN", "nan": float() accepts them, but they mean missing
            return None
    elif value is None:
        return None
    elif isinstance(value, bool) or not isinstance(value, int | float):
        raise RowError(f"{name} {value!r} is not a number")
    else:
        number = float(value)
    if not math.isfinite(number):
        raise RowError(f"{name} {value!r} is not a finite number")
    return number


def _feature(name: str, value: Any) -> float | int | None:
    number = _number(value, name)
    if number is None:
        return None
    low, high, integer = RANGES[name]
    if integer and not number.is_integer():
        raise RowError(f"{name} {_shown(value)} is not a whole number")
    if name in NOT_DETECTED_ZERO and number == 0:
        return 0
    # tempo must be above 0; everything else is inclusive
    if number < low or number > high or (name == "tempo" and number <= 0):
        bound = f"above 0, at most {high:g}" if name == "tempo" else f"{low:g} to {high:g}"
        raise RowError(f"{name} {_shown(value)} is out of range ({bound})")
    return int(number) if integer else number


def _shown(value: Any) -> str:
    return value.strip() if isinstance(value, str) else repr(value)


def _year(year: Any, release_date: Any) -> int | None:
    number = _number(year, "year")
    if number is not None:
        if not number.is_integer() or not 1000 <= number <= 2100:
            raise RowError(f"year {year!r} is not a year between 1000 and 2100")
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
            value = restore(value.strip())
            tags.extend(TAG_SEPARATORS.split(value) if column == "tags" else [value])
        else:
            raise RowError(f"{column} must be text or a list, not {type(value).__name__}")
    return _unique_tags(_storable(tag, "a tag") for tag in tags)


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


_LINK_PATTERNS = {
    "musicbrainz_recording_id": MBID,
    "isrc": ISRC,
    "spotify_id": SPOTIFY_ID,
    "youtube_id": YOUTUBE_ID,
}


def _links(raw: Mapping[str, Any], plan: Mapping[str, str], cells: Mapping[str, Any]) -> dict[str, str]:
    links = {
        "musicbrainz_recording_id": _text(cells.get("musicbrainz_recording_id"), "mbid").lower(),
        "isrc": _text(cells.get("isrc"), "isrc").replace("-", "").upper(),
        "spotify_id": _text(cells.get("spotify_id"), "spotify_id"),
        "youtube_id": _text(cells.get("youtube_id"), "youtube_id"),
    }
    for name, pattern in _LINK_PATTERNS.items():
        if links[name] and not pattern.fullmatch(links[name]):
            raise RowError(f"{name} {links[name]!r} is not a valid id")
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
        raise RowError(f"provenance {text!r} is not one of {', '.join(sorted(PROVENANCES))}")
    return text
