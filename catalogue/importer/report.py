"""What an import reports, and what its read phase collects on the way (merged rows, notes, columns)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

MAX_LISTED_LINES = 20  # line numbers listed in one warning
MAX_DIFF_KEPT = 1000  # tracks of each kind (added, changed, unchanged) a dry run lists; the counts are whole


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
    diff: DryRunDiff | None = None  # a dry run's track-by-track view

    @property
    def tracks(self) -> int:
        return self.created + self.updated + self.unchanged

    def as_dict(self) -> dict[str, Any]:
        values = {**asdict(self), "tracks": self.tracks}
        if self.diff is None:
            del values["diff"]  # an import's report (import_tracks --json) is as it always was
        return values

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


@dataclass
class DryRunDiff:
    """What a dry run would do, track by track, the first MAX_DIFF_KEPT of each kind (in file order):
    added tracks, changed tracks with each changed field as {field, old, new}, and unchanged tracks."""

    added: list[dict[str, Any]] = field(default_factory=list)
    changed: list[dict[str, Any]] = field(default_factory=list)
    unchanged: list[dict[str, Any]] = field(default_factory=list)

    def add(self, external_id: str, new: dict[str, Any]) -> None:
        if len(self.added) < MAX_DIFF_KEPT:
            self.added.append(_named(external_id, new))

    def change(self, external_id: str, old: dict[str, Any], new: dict[str, Any]) -> None:
        if len(self.changed) < MAX_DIFF_KEPT:
            changes = [
                {"field": name, "old": old[name], "new": new.get(name)}
                for name in old
                if old[name] != new.get(name)
            ]
            self.changed.append({**_named(external_id, {**old, **new}), "changes": changes})

    def keep(self, external_id: str, old: dict[str, Any]) -> None:
        if len(self.unchanged) < MAX_DIFF_KEPT:
            self.unchanged.append(_named(external_id, old))


def _named(external_id: str, values: dict[str, Any]) -> dict[str, Any]:
    return {"id": external_id, "title": values.get("title", ""), "artist": values.get("artist", "")}


@dataclass
class ReadState:
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

    def finish_warnings(self) -> None:
        """Turn the ignored columns, the notes and the merged repeats into the report's warnings."""
        report = self.report
        if self.ignored:
            report.warnings.insert(0, f"ignored columns: {', '.join(self.ignored)}")
        for message, lines in self.notes.items():
            report.warnings.append(f"{message}: {_list_lines(lines)}")
        if self.duplicate_lines:
            report.duplicates = len(self.duplicate_lines)
            report.warnings.append(
                f"{len(self.duplicate_lines)} rows repeat an id seen earlier in the file and were merged "
                f"into it (later values win, tags are combined): {_list_lines(self.duplicate_lines)}"
            )


def _list_lines(lines: list[int]) -> str:
    shown = ", ".join(str(n) for n in lines[:MAX_LISTED_LINES])
    more = f" and {len(lines) - MAX_LISTED_LINES} more" if len(lines) > MAX_LISTED_LINES else ""
    return f"line{'s' if len(lines) > 1 else ''} {shown}{more}"
