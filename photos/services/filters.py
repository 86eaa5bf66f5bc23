"""Filters on a run: which tracks it may recommend (genres, energy and tempo ranges, decade, language).

A run stores its filters as a small dict (Run.filters); the worker turns them into the ids of the active
tracks they allow, which the engine and-s with its candidates (recommender.pipeline, `only`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from django.db.models import Q

from catalogue.models import Track
from inference.adapter import TrackFilter
from photos.models import Run

RANGES: dict[str, tuple[str, float, float]] = {  # key -> (track field, lowest, highest)
    "energy_min": ("energy", 0.0, 1.0),
    "energy_max": ("energy", 0.0, 1.0),
    "tempo_min": ("tempo", 0.0, 300.0),
    "tempo_max": ("tempo", 0.0, 300.0),
}
MAX_GENRES = 20


def clean(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The filters to store, from a form's or the API's values (empty ones dropped). ValueError with a
    message a user can read when they do not make sense."""
    filters: dict[str, Any] = {}
    genres = sorted({_text(g) for g in raw.get("genres") or [] if _text(g)})
    if len(genres) > MAX_GENRES:
        raise ValueError(f"choose at most {MAX_GENRES} genres")
    if genres:
        filters["genres"] = genres
    for key, (name, low, high) in RANGES.items():
        value = raw.get(key)
        if value is None or value == "":
            continue
        number = float(value)
        if not low <= number <= high:  # also refuses NaN
            raise ValueError(f"{name} must be between {low:g} and {high:g}")
        filters[key] = number
    for name in ("energy", "tempo"):
        if filters.get(f"{name}_min", 0) > filters.get(f"{name}_max", float("inf")):
            raise ValueError(f"the lowest {name} is above the highest")
    decade = raw.get("decade")
    if decade not in (None, ""):
        year = int(decade)
        if year % 10 or not 1900 <= year <= 2100:
            raise ValueError("a decade is written like 1990")
        filters["decade"] = year
    language = _text(raw.get("language") or "")
    if language:
        filters["language"] = language[:35]
    return filters


def _text(value: Any) -> str:
    """A filter's text, stripped; ValueError for what the database cannot store (NUL, lone surrogates)."""
    text = str(value).strip()
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("filters must be plain text") from None
    if "\x00" in text:
        raise ValueError("filters must be plain text")
    return text


def describe(filters: Mapping[str, Any]) -> str:
    """'jazz or soul; energy 0.2-0.8; 90-140 BPM; 1990s; language es' ("" without filters)."""
    parts = []
    if filters.get("genres"):
        parts.append(" or ".join(filters["genres"]))
    for name, unit in (("energy", ""), ("tempo", " BPM")):
        low, high = filters.get(f"{name}_min"), filters.get(f"{name}_max")
        if low is not None or high is not None:
            label = "energy " if name == "energy" else ""
            if low is not None and high is not None:
                parts.append(f"{label}{low:g}-{high:g}{unit}")
            elif low is not None:
                parts.append(f"{label}at least {low:g}{unit}")
            else:
                parts.append(f"{label}at most {high:g}{unit}")
    if filters.get("decade"):
        parts.append(f"{filters['decade']}s")
    if filters.get("language"):
        parts.append(f"language {filters['language']}")
    return "; ".join(parts)


def matching(filters: Mapping[str, Any]) -> Q:
    """The active tracks these filters allow, as a query condition."""
    condition = Q(is_active=True)
    if filters.get("genres"):
        genres = Q()
        for genre in filters["genres"]:
            genres |= Q(genre__iexact=genre)
        condition &= genres
    for key, (name, _, _) in RANGES.items():
        if key in filters:
            condition &= Q(**{f"{name}__{'gte' if key.endswith('_min') else 'lte'}": filters[key]})
    if filters.get("decade"):
        condition &= Q(year__gte=filters["decade"], year__lt=filters["decade"] + 10)
    if filters.get("language"):
        condition &= Q(language__iexact=filters["language"])
    return condition


def track_filter(filters: Mapping[str, Any]) -> TrackFilter | None:
    """What the engine needs to rank only the allowed tracks (None without filters)."""
    if not filters:
        return None
    ids = Track.objects.filter(matching(filters)).values_list("pk", flat=True)
    return TrackFilter(np.fromiter(ids, dtype=np.int64), describe(filters))


def empty_message(run: Run) -> str:
    """What a finished run whose filters left no track says ("" otherwise)."""
    if run.status != Run.Status.DONE or not run.filters or run.items.exists():
        return ""
    return f"No track in the catalogue passes your filters ({describe(run.filters)}). Widen or clear them."


def choices() -> dict[str, list[Any]]:
    """The genres, decades and languages the active catalogue has, for the filter form."""
    active = Track.objects.filter(is_active=True)
    genres = sorted(set(active.exclude(genre="").values_list("genre", flat=True).distinct()), key=str.lower)
    years = active.filter(year__isnull=False).values_list("year", flat=True).distinct()
    languages = active.exclude(language="").values_list("language", flat=True).distinct()
    return {
        "genres": genres,
        "decades": sorted({year - year % 10 for year in years if year is not None}),
        "languages": sorted(set(languages), key=str.lower),
    }
