"""`manage.py train mood|heads [options]`: the engine's training CLIs, run from the platform."""

from __future__ import annotations

import importlib
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

TRAINERS = {
    "mood": "recommender.lab.training.train_mood",
    "heads": "recommender.lab.training.train_heads",
}


class Command(BaseCommand):
    help = (
        "Train the engine's models on the development data and write a versioned artifact. "
        "`manage.py train mood --help` and `manage.py train heads --help` list each trainer's options."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("trainer", choices=sorted(TRAINERS))
        parser.add_argument("options", nargs="*", help="passed to the trainer (put them after --)")

    def run_from_argv(self, argv: list[str]) -> None:
        # Everything after the trainer's name belongs to the trainer, including its --flags.
        if len(argv) > 2 and argv[2] in TRAINERS:
            options = argv[3:][1:] if argv[3:4] == ["--"] else argv[3:]
            try:
                self._train(argv[2], options)
            except CommandError as exc:
                self.stderr.write(f"CommandError: {exc}")
                sys.exit(1)
            return
        super().run_from_argv(argv)

    def handle(self, *args: Any, **options: Any) -> None:
        self._train(options["trainer"], list(options["options"]))

    def _train(self, trainer: str, argv: list[str]) -> None:
        module = importlib.import_module(TRAINERS[trainer])
        status = module.main(argv)
        if status:
            raise CommandError(f"{trainer} training failed (exit status {status})")
