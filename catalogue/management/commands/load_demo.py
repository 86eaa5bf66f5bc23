"""manage.py load_demo: import demo/catalogue.csv (idempotent) and create the demo account if missing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from catalogue.importer import ImportFileError, import_tracks

DEMO_CATALOGUE = Path(settings.BASE_DIR) / "demo" / "catalogue.csv"
DEMO_USERNAME = "demo"
DEMO_PASSWORD = "photophone-demo"  # a published demo credential, not a secret


class Command(BaseCommand):
    help = "Load the editorial demo catalogue (demo/catalogue.csv) and create the demo user if missing."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--no-user", action="store_true", help="do not create the demo account")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            report = import_tracks(DEMO_CATALOGUE, source_name="demo/catalogue.csv")
        except ImportFileError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(report.summary())
        if options["no_user"]:
            return
        user_model = get_user_model()
        if user_model.objects.filter(username=DEMO_USERNAME).exists():
            self.stdout.write(f"Demo account exists: username {DEMO_USERNAME!r} (password unchanged).")
            return
        user_model.objects.create_user(username=DEMO_USERNAME, password=DEMO_PASSWORD)
        self.stdout.write(f"Demo account created: username {DEMO_USERNAME!r}, password {DEMO_PASSWORD!r}.")
