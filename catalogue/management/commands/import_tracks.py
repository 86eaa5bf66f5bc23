"""manage.py import_tracks PATH_OR_URL: import a CSV or JSON Lines file of tracks (see catalogue.importer)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from catalogue.importer import ImportFileError, import_tracks


class Command(BaseCommand):
    help = (
        "Import tracks from a CSV or JSON Lines file or http(s) URL. Bad rows are reported with their "
        "line number and skipped; re-importing updates tracks by id. Exits non-zero only if the file "
        "cannot be read."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("source", help="path or http(s) URL of a .csv or .jsonl file")
        parser.add_argument("--json", action="store_true", help="print the report as JSON")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
        parser.add_argument("--source-name", help="what to record as each track's source (default: SOURCE)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            report = import_tracks(
                options["source"],
                source_name=options["source_name"],
                progress=not options["no_progress"],
            )
        except ImportFileError as exc:
            raise CommandError(str(exc)) from exc
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict(), indent=2))
        else:
            self.stdout.write(report.summary())
