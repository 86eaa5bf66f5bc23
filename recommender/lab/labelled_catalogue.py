"""Catalogues whose tracks carry human or editorial valence/arousal, read from a CSV (artist, title,
valence, arousal, and optionally genre and ;-separated tags): the demo catalogue and the like. Light on
purpose: bench/gpu.py reads it on a device that has few packages."""

from __future__ import annotations

import csv
from pathlib import Path

from recommender.types import TrackRow

DEMO_CSV = Path(__file__).resolve().parents[2] / "demo" / "catalogue.csv"


def labelled_tracks(path: Path, first_id: int) -> list[TrackRow]:
    """One TrackRow per CSV row, numbered from first_id in file order."""
    with open(path, newline="", encoding="utf-8") as handle:
        return [
            TrackRow(
                track_id=first_id + i,
                artist=r["artist"],
                title=r["title"],
                valence=float(r["valence"]),
                arousal=float(r["arousal"]),
                genre=r.get("genre", ""),
                tags=[t for t in r.get("tags", "").split(";") if t],
            )
            for i, r in enumerate(csv.DictReader(handle))
        ]


def demo_tracks(first_id: int = 1_000_000) -> list[TrackRow]:
    return labelled_tracks(DEMO_CSV, first_id)
