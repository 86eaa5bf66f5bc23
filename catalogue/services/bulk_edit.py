"""Bulk edit of selected tracks: genre, language, tags and the active flag, in one transaction.

Writes go through Track's QuerySet (update, bulk_update), which moves the catalogue version when a field
the engine reads changes (see catalogue.models.CatalogueVersion); language alone does not move it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from catalogue.models import Track


@dataclass(frozen=True)
class BulkEdit:
    """What to change; None (or no tags) leaves a field as it is. An empty string clears genre/language."""

    genre: str | None = None
    language: str | None = None
    add_tags: Sequence[str] = field(default_factory=tuple)
    remove_tags: Sequence[str] = field(default_factory=tuple)
    is_active: bool | None = None

    def is_empty(self) -> bool:
        scalars = (self.genre, self.language, self.is_active)
        return all(value is None for value in scalars) and not self.add_tags and not self.remove_tags

    def scalar_updates(self) -> dict[str, object]:
        values = {"genre": self.genre, "language": self.language, "is_active": self.is_active}
        return {name: value for name, value in values.items() if value is not None}


def edited_tags(tags: Sequence[str], edit: BulkEdit) -> list[str]:
    """Tags minus the removed ones (compared case-insensitively), plus the added ones not already there."""
    removed = {tag.casefold() for tag in edit.remove_tags}
    result = [tag for tag in tags if tag.casefold() not in removed]
    for tag in edit.add_tags:
        if tag.casefold() not in {t.casefold() for t in result}:
            result.append(tag)
    return result


def apply(tracks: QuerySet[Track], edit: BulkEdit) -> int:
    """Apply the edit to the tracks; returns how many tracks changed."""
    changed: set[int] = set()
    now = timezone.now()
    with transaction.atomic():
        updates = edit.scalar_updates()
        if updates:
            ids = list(_differing(tracks, updates).values_list("pk", flat=True))
            if ids:  # an update matching nothing would still move the version
                Track.objects.filter(pk__in=ids).update(**updates, updated_at=now)
            changed.update(ids)
        if edit.add_tags or edit.remove_tags:
            retagged = []
            for track in tracks.only("pk", "tags").select_for_update():
                tags = edited_tags(track.tags or [], edit)
                if tags != track.tags:
                    track.tags, track.updated_at = tags, now
                    retagged.append(track)
            Track.objects.bulk_update(retagged, ["tags", "updated_at"], batch_size=1000)
            changed.update(track.pk for track in retagged)
    return len(changed)


def _differing(tracks: QuerySet[Track], updates: dict[str, object]) -> QuerySet[Track]:
    """Tracks where at least one of the fields differs from the value to set."""
    condition = Q()
    for name, value in updates.items():
        condition |= ~Q(**{name: value})
    return tracks.filter(condition)
