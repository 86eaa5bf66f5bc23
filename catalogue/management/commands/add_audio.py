"""manage.py add_audio PATH...: add tracks from audio files (or give an existing track its audio)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.files import File
from django.core.management.base import BaseCommand, CommandError, CommandParser

from catalogue import audio
from catalogue.models import AUDIO_FEATURES, Track


class Command(BaseCommand):
    help = (
        "Add tracks from audio files or folders (MP3, WAV, FLAC, OGG). By default the features are computed "
        "here and printed; --queue leaves that to the inference workers."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", type=Path)
        parser.add_argument("--artist", default="", help="artist of every added track")
        parser.add_argument("--genre", default="", help="genre of every added track")
        parser.add_argument(
            "--genre-from-folder", action="store_true", help="use each file's folder name as its genre"
        )
        parser.add_argument("--track", help="external id of an existing track to give this (one) audio file")
        parser.add_argument("--queue", action="store_true", help="let the workers analyse (do not wait)")
        parser.add_argument("--json", action="store_true", help="print one JSON object per file")

    def handle(self, *args: Any, **options: Any) -> None:
        files = sorted(_audio_files(options["paths"]))
        if not files:
            raise CommandError("no audio files found (looked for " + ", ".join(audio.AUDIO_EXTENSIONS) + ")")
        if options["track"] and len(files) != 1:
            raise CommandError("--track takes exactly one audio file")
        failures = 0
        for path in files:
            result = self._add(path, options)
            accepted = {"done", "pending"} if options["queue"] else {"done"}
            failures += result["status"] not in accepted
            if options["json"]:
                self.stdout.write(json.dumps(result))
            else:
                self.stdout.write(_describe(result))
        if failures:
            raise CommandError(f"{failures} of {len(files)} file(s) were not added or not analysed")

    def _add(self, path: Path, options: dict[str, Any]) -> dict[str, Any]:
        genre = path.parent.name if options["genre_from_folder"] else options["genre"]
        try:
            with path.open("rb") as f:
                upload = File(f, name=path.name)
                if options["track"]:
                    track = Track.objects.filter(external_id=options["track"]).first()
                    if track is None:
                        raise CommandError(f"no track with external id {options['track']!r}")
                    track = audio.attach_audio(track, upload, queue=options["queue"])
                else:
                    track = audio.add_track_from_audio(
                        upload, title=path.stem, artist=options["artist"], genre=genre, queue=options["queue"]
                    )
        except audio.AudioUploadError as exc:
            return {"file": str(path), "status": "rejected", "error": str(exc)}
        if not options["queue"]:
            audio.analyse(track.pk)
        track.refresh_from_db()
        return {
            "file": str(path),
            "track_id": track.pk,
            "external_id": track.external_id,
            "status": track.audio_status,
            "error": track.audio_message,
            "features": {n: getattr(track, n) for n in AUDIO_FEATURES if getattr(track, n) is not None},
        }


def _audio_files(paths: list[Path]) -> list[Path]:
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            out += [p for p in path.rglob("*") if p.suffix.lower() in audio.AUDIO_EXTENSIONS and p.is_file()]
        elif path.exists():
            out.append(path)
        else:
            raise CommandError(f"{path} does not exist")
    return out


def _describe(result: dict[str, Any]) -> str:
    if result["status"] == "rejected":
        return f"{result['file']}: rejected: {result['error']}"
    if result["status"] == "failed":
        return f"{result['file']}: track {result['track_id']} added, analysis failed: {result['error']}"
    shown = ", ".join(f"{k} {v}" for k, v in result["features"].items())
    return f"{result['file']}: track {result['track_id']} ({result['status']}) {shown}"
