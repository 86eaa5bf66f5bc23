"""`manage.py soundtrack PHOTO [PHOTO ...] --tracks N --format jspf|xspf|m3u8 [--out FILE]`.

A stable contract (DESIGN.md section 5): one playlist for the photos in the given order over the whole
active catalogue, no personalisation (the model registry's active versions, reranker included, as
`manage.py recommend` serves them); N tracks in all, spread over the photos in order (each at least one),
no track or artist twice, neighbouring tracks within the step bounds of recommender/soundtrack.py. Written
to FILE or printed. A photo that cannot be read stops the command naming it (exit code 1) and nothing is
written."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from playlists.formats import FORMATS, export
from playlists.services.documents import plan_document
from playlists.services.soundtracks import SoundtrackError, analyse_files, plan


class Command(BaseCommand):
    help = "Build one soundtrack playlist for photos in order and write it as JSPF, XSPF or M3U8."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("photos", nargs="+", help="photo files, in the order of the album")
        parser.add_argument(
            "--tracks", type=int, required=True, help="tracks in all (at least one per photo)"
        )
        parser.add_argument("--format", choices=FORMATS, required=True, dest="fmt")
        parser.add_argument("--out", help="file to write (default: print)")
        parser.add_argument("--title", default="", help="the playlist's title")

    def handle(self, *args: Any, **options: Any) -> None:
        photos: list[str] = options["photos"]
        if options["tracks"] < len(photos):
            raise CommandError(
                f"--tracks {options['tracks']} cannot cover {len(photos)} photos: "
                "each photo needs at least one"
            )
        try:
            served, moods = analyse_files(photos)
            result = plan(served, moods, options["tracks"])
        except SoundtrackError as exc:
            raise CommandError(str(exc)) from exc
        placements: list[tuple[int, str, dict[str, object]]] = [
            (
                p.candidate.track_id,
                photos[p.slot],
                {
                    "position": i + 1,
                    "score": round(p.candidate.score, 6),
                    "within_step_bounds": p.within_bounds,
                },
            )
            for i, p in enumerate(result.placed)
        ]
        title = options["title"] or f"Soundtrack for {len(photos)} photo{'s' if len(photos) > 1 else ''}"
        text = export(plan_document(title, placements), options["fmt"])
        if options["out"]:
            _write_whole(Path(options["out"]), text)
        else:
            self.stdout.write(text, ending="" if text.endswith("\n") else "\n")


def _write_whole(path: Path, text: str) -> None:
    """Write to a temporary file beside it and rename: the file is whole or absent, never half-written."""
    handle, tmp = tempfile.mkstemp(dir=path.parent if str(path.parent) else ".", prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
