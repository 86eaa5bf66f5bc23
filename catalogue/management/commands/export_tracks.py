"""manage.py export_tracks [--out FILE]: the catalogue as CSV in the importer's columns (catalogue.export)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TextIO, cast

from django.core.management.base import BaseCommand, CommandError, CommandParser

from catalogue.export import write_csv


class Command(BaseCommand):
    help = (
        "Export every track as CSV in the columns import_tracks reads (re-importing it changes nothing). "
        "Cells a spreadsheet would run as formulas start with an apostrophe; import_tracks removes it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--out", help="file to write (default: standard output)")

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["out"]:
            write_csv(cast(TextIO, self.stdout._out))  # the wrapped stream: csv writes its own line ends
            return
        out = Path(options["out"])
        try:
            with out.open("w", encoding="utf-8", newline="") as file:
                count = write_csv(file)
        except OSError as exc:
            raise CommandError(f"cannot write {out}: {exc}") from exc
        self.stderr.write(f"{count} track(s) written to {out}")
