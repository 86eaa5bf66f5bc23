from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from registry import training


class Command(BaseCommand):
    help = "Retrain the reranker from ratings: queue it on the training queue, or --now to train here."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--now", action="store_true", help="train in this process and wait for the result"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        version = training.start_retraining(queue=not options["now"])
        if not options["now"]:
            self.stdout.write(f"{version.name} queued on the training queue")
            return
        version = training.retrain(version.pk)
        self.stdout.write(
            f"{version.name}: {version.status}" + (f" ({version.reason})" if version.reason else "")
        )
        for key, value in version.metrics.items():
            self.stdout.write(f"  {key}: {value}")
