"""`manage.py sweep_photo_files`: delete photo files that no photo uses (photos/services/photo_files.py);
the beat does the same every hour."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from photos.services import photo_files


class Command(BaseCommand):
    help = "Delete photo files that no photo uses and that are older than PHOTO_ORPHAN_AFTER_SECONDS."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--older-than", type=int, metavar="SECONDS", help="default: settings.PHOTO_ORPHAN_AFTER_SECONDS"
        )
        parser.add_argument("--dry-run", action="store_true", help="count the files, delete nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        counts = photo_files.sweep_orphans(options["older_than"], dry_run=options["dry_run"])
        self.stdout.write(json.dumps(counts))
