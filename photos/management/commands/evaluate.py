"""`manage.py evaluate`: the engine's offline evaluation (recommender/lab/evaluation), same options.

It reads the shared development data, not the database: the logic stays in the Django-free engine.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from recommender.lab.evaluation import cli


class Command(BaseCommand):
    help = "Evaluate the strategies and fusion on the held-out Emotion6 / TidyTuesday test splits."

    def add_arguments(self, parser: CommandParser) -> None:
        cli.add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        command = "python manage.py evaluate " + " ".join(sys.argv[2:])
        if cli.run(argparse.Namespace(**options), command.strip()) != 0:
            raise CommandError("evaluation data absent (see the message above)")
