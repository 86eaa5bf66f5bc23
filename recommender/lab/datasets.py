"""Development data for training and evaluation, and the fixed splits every trainer and evaluator shares.

Photos: Emotion6 (Peng et al. CVPR 2015; academic research only), 1,980 Flickr photos in six keyword
folders with human valence/arousal (1-9) and a 7-way emotion distribution. It has one source, so its split
is stratified by keyword folder and decided by a hash of the file name (stable across machines and runs):
70% train, 15% validation, 15% test.

Tracks: the TidyTuesday Spotify songs file (2020-01-21). Its "sources" are the playlists that contributed
the tracks, so tracks are split by playlist: a track belongs to the split of the first playlist it appears
in, decided by a hash of that playlist's id (70/15/15). Playlist names ("Sad Songs", "Chill Vibes") are kept
as weak human context for each track; playlist_moods.py turns them into weak mood labels.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from recommender.types import IMAGE_EMOTIONS, SPOTIFY_FEATURES, TrackRow

Split = Literal["train", "val", "test"]
SPLIT_SHARES: tuple[tuple[Split, float], ...] = (("train", 0.70), ("val", 0.15), ("test", 0.15))
SPLITS: tuple[Split, ...] = tuple(name for name, _ in SPLIT_SHARES)
QUADRANTS: tuple[str, ...] = ("pleasant-excited", "unpleasant-excited", "unpleasant-calm", "pleasant-calm")


def default_data_root() -> Path:
    """../shared/data beside the repository (DESIGN.md section 6)."""
    return Path(__file__).resolve().parents[3] / "shared" / "data"


def split_of(key: str, salt: str = "photophone-split-v1") -> Split:
    """A stable 70/15/15 assignment from a hash of key."""
    fraction = int(hashlib.sha256(f"{salt}:{key}".encode()).hexdigest()[:8], 16) / 0x100000000
    cumulative = 0.0
    for name, share in SPLIT_SHARES:
        cumulative += share
        if fraction < cumulative:
            return name
    return "test"


def split_indices(splits: Sequence[Split], split: Split) -> np.ndarray:
    """The rows whose split is split, in order."""
    return np.array([i for i, s in enumerate(splits) if s == split], dtype=np.int64)


def quadrants(
    valence: np.ndarray | float, arousal: np.ndarray | float, split: tuple[float, float] = (0.5, 0.5)
) -> np.ndarray:
    """V/A -> QUADRANTS index: 0 pleasant-excited, 1 unpleasant-excited, 2 unpleasant-calm, 3 pleasant-calm,
    splitting at split = (valence, arousal); a value on the split counts as high."""
    high_v = np.asarray(valence) >= split[0]
    high_a = np.asarray(arousal) >= split[1]
    return np.where(high_a, np.where(high_v, 0, 1), np.where(high_v, 3, 2)).astype(np.int64)


def quadrant(valence: float, arousal: float) -> int:
    """The quadrant of one V/A point, split at 0.5."""
    return int(quadrants(valence, arousal))


@dataclass
class Emotion6:
    root: Path
    paths: list[Path]
    folders: list[str]  # keyword folder, e.g. "joy"
    valence: np.ndarray  # (n,) in [0, 1]: (rating - 1) / 8
    arousal: np.ndarray  # (n,) in [0, 1]
    emotions: np.ndarray  # (n, 7) distribution over IMAGE_EMOTIONS
    splits: list[Split]

    def indices(self, split: Split) -> np.ndarray:
        return split_indices(self.splits, split)

    @property
    def folder_classes(self) -> np.ndarray:
        """(n,) each photo's keyword folder as an index into IMAGE_EMOTIONS (the mood trainer's strata)."""
        return np.array([IMAGE_EMOTIONS.index(f) for f in self.folders])


def load_emotion6(root: Path | None = None) -> Emotion6:
    root = Path(root) if root else default_data_root() / "emotion6"
    truth = root / "ground_truth.txt"
    if not truth.is_file():
        raise FileNotFoundError(f"Emotion6 not found: {truth} is missing (see DESIGN.md section 6)")
    paths, folders, valence, arousal, emotions, splits = [], [], [], [], [], []
    with truth.open() as handle:
        next(handle)  # header
        for line in handle:
            parts = line.split()
            if len(parts) != 10:
                continue
            name = parts[0]
            paths.append(root / "images" / name)
            folders.append(name.split("/")[0])
            valence.append((float(parts[1]) - 1) / 8)
            arousal.append((float(parts[2]) - 1) / 8)
            dist = np.array([float(x) for x in parts[3:10]])
            emotions.append(dist / dist.sum() if dist.sum() > 0 else np.full(7, 1 / 7))
            splits.append(split_of(name))
    assert len(IMAGE_EMOTIONS) == 7
    return Emotion6(
        root=root,
        paths=paths,
        folders=folders,
        valence=np.array(valence),
        arousal=np.array(arousal),
        emotions=np.array(emotions),
        splits=splits,
    )


@dataclass
class SpotifyTrack:
    row: TrackRow
    playlist_names: list[str] = field(default_factory=list)
    playlist_genre: str = ""
    split: Split = "train"


def load_spotify_songs(path: Path | None = None) -> list[SpotifyTrack]:
    """Unique tracks of the TidyTuesday file, with every playlist name they appear under."""
    path = Path(path) if path else default_data_root() / "spotify_songs" / "spotify_songs.csv"
    if not path.is_file():
        raise FileNotFoundError(f"TidyTuesday Spotify songs not found at {path} (see DESIGN.md section 6)")
    tracks: dict[str, SpotifyTrack] = {}
    for number, record in enumerate(_records(path), start=1):
        track_id = record["track_id"]
        if track_id in tracks:
            tracks[track_id].playlist_names.append(record["playlist_name"])
            continue
        features: dict[str, float | None] = {name: _number(record.get(name)) for name in SPOTIFY_FEATURES}
        tracks[track_id] = SpotifyTrack(
            row=TrackRow(
                track_id=number,
                artist=record["track_artist"],
                title=record["track_name"],
                valence=features["valence"],
                features=features,
                genre=record["playlist_genre"],
                tags=[record["playlist_subgenre"]],
            ),
            playlist_names=[record["playlist_name"]],
            playlist_genre=record["playlist_genre"],
            split=split_of(record["playlist_id"]),
        )
    return [t for t in tracks.values() if t.row.title and t.row.artist and t.row.title != "NA"]


def _records(path: Path) -> Iterator[dict[str, str]]:
    with path.open(newline="", encoding="utf-8", errors="replace") as handle:
        yield from csv.DictReader(handle)


def _number(text: str | None) -> float | None:
    if text is None or text.strip() in ("", "NA"):
        return None
    try:
        return float(text)
    except ValueError:
        return None


@dataclass
class Oasis:
    """OASIS (Kurdi et al. 2017), the development part: photos with V/A means of ~100 raters (1-7)."""

    root: Path
    paths: list[Path]
    names: list[str]  # "Dog 3"
    themes: list[str]  # "Dog": photos of one theme are near-duplicates; never split a theme
    categories: list[str]  # Person, Animal, Object, Scenery
    valence: np.ndarray  # (n,) in [0, 1]: (rating - 1) / 6
    arousal: np.ndarray  # (n,) in [0, 1]

    @property
    def theme_ids(self) -> np.ndarray:
        """(n,) an integer per theme (the grouping of every OASIS split)."""
        index = {t: i for i, t in enumerate(sorted(set(self.themes)))}
        return np.array([index[t] for t in self.themes], dtype=np.int64)


def oasis_theme(name: str) -> str:
    """'Dog 3' -> 'Dog'; a name without a trailing number is its own theme."""
    head, _, tail = name.strip().rpartition(" ")
    return head if head and tail.isdigit() else name.strip()


def load_oasis(root: Path | None = None) -> Oasis:
    root = Path(root) if root else default_data_root() / "oasis"
    table = root / "OASIS.csv"
    if not table.is_file():
        raise FileNotFoundError(f"OASIS not found: {table} is missing (see DESIGN.md section 6)")
    paths, names, themes, categories, valence, arousal = [], [], [], [], [], []
    for record in _records(table):
        name = record["Theme"].strip()
        path = root / "images" / f"{name}.jpg"
        if not path.is_file():
            continue
        paths.append(path)
        names.append(name)
        themes.append(oasis_theme(name))
        categories.append(record["Category"].strip())
        valence.append((float(record["Valence_mean"]) - 1) / 6)
        arousal.append((float(record["Arousal_mean"]) - 1) / 6)
    return Oasis(root, paths, names, themes, categories, np.array(valence), np.array(arousal))
