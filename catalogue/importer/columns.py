"""The columns the importer understands, and which model field each one gives."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from catalogue.models import AUDIO_FEATURES

from .report import ImportFileError, ReadState

FEATURE_FIELDS = (*AUDIO_FEATURES, "arousal")  # numbers, each unknown (NULL) when missing

# Model field -> accepted column names, most specific first. The first one the file has is used.
ALIASES: dict[str, tuple[str, ...]] = {
    "external_id": ("id", "track_id", "song_id"),
    "title": ("title", "name", "track_name"),
    "artist": ("artist", "track_artist"),
    "album": ("album", "track_album_name"),
    "year": ("year",),
    "genre": ("genre", "playlist_genre"),
    "language": ("language",),
    "musicbrainz_recording_id": ("musicbrainz_recording_id", "mbid"),
    "isrc": ("isrc",),
    "spotify_id": ("spotify_id",),
    "youtube_id": ("youtube_id",),
    "provenance": ("provenance",),
    "licence_note": ("licence_note",),
    **{name: (name,) for name in FEATURE_FIELDS},
}
RELEASE_DATE = "track_album_release_date"
TAG_COLUMNS = ("tags", "playlist_name", "playlist_subgenre")  # playlist names are real human context
REQUIRED = ("external_id", "title", "artist")
KNOWN_COLUMNS = frozenset({*(c for names in ALIASES.values() for c in names), RELEASE_DATE, *TAG_COLUMNS})


def normalise_column(name: str) -> str:
    """Lower case, runs of spaces and dashes as one underscore; characters that cannot be shown or stored
    (NUL, other control characters, lone surrogates) escaped, so the column can be named in the report."""
    name = re.sub(r"[\s\-]+", "_", name.strip().lower())
    if name.isprintable():
        return name
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in name)


def plan_columns(columns: Iterable[str]) -> dict[str, str]:
    """Model field -> the column that provides it (the first alias present)."""
    present = set(columns)
    plan: dict[str, str] = {}
    for model_field, names in ALIASES.items():
        for name in names:
            if name in present:
                plan[model_field] = name
                break
    return plan


def check_required(plan: Mapping[str, str], name: str, where: str) -> None:
    missing = [
        f"{field_name} (one of: {', '.join(ALIASES[field_name])})"
        for field_name in REQUIRED
        if field_name not in plan
    ]
    if missing:
        raise ImportFileError(f"{name}: no {' / '.join(missing)} column in the {where}")


def note_columns(state: ReadState, plan: Mapping[str, str], columns: Iterable[str]) -> None:
    """Remember the columns the importer does not know (to report them) and the fields these columns set."""
    columns = list(columns)
    for column in columns:
        if column not in KNOWN_COLUMNS:
            state.ignored[column] = None
    state.fields.update(_fields_set(plan, columns))


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
