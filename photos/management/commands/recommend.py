"""`manage.py recommend IMAGE [IMAGE ...] --top-k K --json`: the worker's pipeline from the command line,
serving what the worker serves: the model registry's active versions (mood, heads and the reranker), named
on stderr."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from PIL import UnidentifiedImageError

from catalogue.models import Track
from inference import adapter
from inference.adapter import describe_photo_mood
from registry import serving as registry_serving


class Command(BaseCommand):
    help = "Recommend tracks from the whole current catalogue for each image (no personalisation)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("images", nargs="+", help="image files")
        parser.add_argument(
            "--top-k", type=int, default=10, help="tracks per image (may be the catalogue size)"
        )
        parser.add_argument("--mode", choices=["match", "lift"], default="match")
        parser.add_argument("--json", action="store_true", help="one JSON object per image and line")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["top_k"] < 1:
            raise CommandError("--top-k must be at least 1")
        served = registry_serving.active()
        self.stderr.write(f"serving {registry_serving.served_versions()}")
        if served.catalogue.positioned_count == 0:
            raise CommandError(
                "The catalogue has no active tracks with a mood; import some with import_tracks."
            )
        failures = 0
        labels: dict[int, dict[str, str]] | None = None  # read once, when the first photo is ranked
        for path in options["images"]:
            try:
                analysis = served.engine.analyse(adapter.decode_photo(path))
            except (FileNotFoundError, UnidentifiedImageError, OSError) as exc:
                failures += 1
                self.stderr.write(f"{path}: cannot read image ({exc})")
                continue
            ranked = served.recommend(analysis, options["top_k"], mode=options["mode"])
            if labels is None:
                labels = _track_labels()
            tracks = labels
            result = {
                "image": path,
                "mood": {
                    "valence": round(analysis.valence, 4),
                    "arousal": round(analysis.arousal, 4),
                    "emotions": {k: round(float(v), 4) for k, v in analysis.emotions.items()},
                },
                "tracks": [
                    {
                        **tracks[r.track_id],
                        "score": round(float(r.score), 6),
                        "reasons": list(r.reasons),
                    }
                    for r in ranked
                    if r.track_id in tracks
                ],
            }
            if options["json"]:
                self.stdout.write(json.dumps(result, ensure_ascii=False))
            else:
                mood = describe_photo_mood(analysis.valence, analysis.arousal)
                self._print_human(Path(path).name, result, mood)
        if failures == len(options["images"]):
            raise CommandError("No image could be read.")

    def _print_human(self, name: str, result: dict[str, Any], summary: str) -> None:
        mood = result["mood"]
        self.stdout.write(f"{name}: {summary} (valence {mood['valence']:.2f}, arousal {mood['arousal']:.2f})")
        for rank, track in enumerate(result["tracks"], start=1):
            self.stdout.write(f"  {rank:>3}. {track['artist']} – {track['title']}  [{track['score']:.3f}]")
            for reason in track["reasons"]:
                self.stdout.write(f"       · {reason}")


def _track_labels() -> dict[int, dict[str, str]]:
    """external_id, title and artist of every track, by id (one query for the whole command)."""
    rows = Track.objects.values_list("pk", "external_id", "title", "artist").iterator(chunk_size=5000)
    return {pk: {"external_id": ext, "title": title, "artist": artist} for pk, ext, title, artist in rows}
