"""A soundtrack for photos in order: each photo's candidates from the engine, then the sequence
(recommender/soundtrack.py states the model: stretches, no repeats, bounded steps).

Photos are read and ranked with the model registry's active versions, as photo runs are
(registry.serving.active): the active mood and heads, the active reranker's track corrections, and the
reranker itself ordering each photo's best candidates (with the owner's own terms for a user's soundtrack).

Used by `manage.py soundtrack` (photo files, no personalisation) and by the soundtrack worker task
(soundtrack_runs.py: the user's photos)."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import UnidentifiedImageError

from catalogue.models import Track
from inference import adapter
from inference.adapter import FeedbackItem, PhotoAnalysis, TrackCatalogue
from photos.services.photos import PhotoRejected, clean_photo_bytes
from photos.services.runs import EMPTY_CATALOGUE_MESSAGE
from recommender.soundtrack import (
    Candidate,
    NoSmoothPath,
    NotEnoughTracks,
    Placed,
    Slot,
    allocate,
    sequence,
)
from registry import serving as registry_serving
from registry.serving import Served

MAX_PHOTOS = 100
MAX_TRACKS = 1000
DEFAULT_TRACK_SECONDS = 210  # for a target in minutes when the catalogue knows no durations
RANKED_LIMIT = 50_000  # each photo's ranking covers this much of the catalogue (bridges come from it)
BRIDGE_POINTS = 5

Progress = Callable[[int, str], None]  # percent done, what is happening


class SoundtrackError(ValueError):
    """The soundtrack cannot be made; the message is for the user."""


class UnreadablePhoto(SoundtrackError):
    def __init__(self, name: str, why: str) -> None:
        super().__init__(f"{name}: {why}")
        self.name = name


@dataclass
class PhotoMood:
    """One photo of the album: its label (the file name or the photo's name) and the engine's reading."""

    label: str
    analysis: PhotoAnalysis
    photo_id: int | None = None


@dataclass
class Plan:
    photos: list[PhotoMood]
    slots: list[Slot]
    placed: list[Placed]
    catalogue_version: str

    @property
    def off_bounds(self) -> list[int]:
        return [i for i, p in enumerate(self.placed) if not p.within_bounds]


def read_photo_file(path: str) -> bytes:
    """The file checked as the upload service checks photos (type, size, pixel count) and re-encoded."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError as exc:
        raise UnreadablePhoto(path, "no such file") from exc
    except OSError as exc:
        raise UnreadablePhoto(path, f"cannot be read ({exc.strerror or exc})") from exc
    try:
        return clean_photo_bytes(data, path)
    except PhotoRejected as exc:
        raise UnreadablePhoto(path, str(exc)) from exc


def analyse_files(paths: Sequence[str]) -> tuple[Served, list[PhotoMood]]:
    """Every file read and checked first (an unreadable one stops everything, naming it, before anything
    else is read), then analysed with the registry's active versions, returned for plan()."""
    images = []
    for path in paths:
        clean = read_photo_file(path)
        try:
            images.append(adapter.decode_photo(io.BytesIO(clean)))
        except (UnidentifiedImageError, OSError) as exc:
            raise UnreadablePhoto(path, "the image cannot be decoded") from exc
    served = registry_serving.active()
    analyses = served.engine.analyse_each(images)
    moods = []
    for path, analysis in zip(paths, analyses, strict=True):
        if isinstance(analysis, Exception):
            raise UnreadablePhoto(path, "the photo could not be analysed")
        moods.append(PhotoMood(path, analysis))
    return served, moods


def tracks_for_minutes(minutes: int) -> int:
    """How many tracks fill about `minutes`: the active catalogue's median duration (or 3.5 min)."""
    durations: list[int] = list(
        Track.objects.filter(is_active=True, duration_ms__isnull=False)
        .order_by("?")
        .values_list("duration_ms", flat=True)[:2000]  # type: ignore[arg-type]
    )
    seconds = float(np.median(durations)) / 1000 if durations else DEFAULT_TRACK_SECONDS
    return max(1, round(minutes * 60 / max(seconds, 30.0)))


def plan(
    served: Served,
    photos: Sequence[PhotoMood],
    n_tracks: int,
    *,
    user_id: int | None = None,
    feedback: Iterable[FeedbackItem] = (),
    progress: Progress | None = None,
) -> Plan:
    """The soundtrack for the photos in order over the whole active catalogue (photos analysed by
    served.engine). user_id and feedback: the owner's, for a user's soundtrack (none for the command)."""
    if not photos:
        raise SoundtrackError("Choose at least one photo.")
    if len(photos) > MAX_PHOTOS:
        raise SoundtrackError(f"A soundtrack takes at most {MAX_PHOTOS} photos.")
    if n_tracks > MAX_TRACKS:
        raise SoundtrackError(f"A soundtrack has at most {MAX_TRACKS} tracks.")
    try:
        counts = allocate(n_tracks, len(photos))
    except ValueError as exc:
        raise SoundtrackError(f"{exc}.") from exc
    version, catalogue = served.catalogue_version, served.catalogue
    positioned = catalogue.positioned_count
    if positioned == 0:
        raise SoundtrackError(EMPTY_CATALOGUE_MESSAGE)
    feedback = list(feedback)
    # Each photo's ranking of (up to RANKED_LIMIT of) the catalogue, once: its candidates are the best
    # fits plus bridges, the tracks nearest points on the way from the previous photo's tracks to its own
    # (a smooth step into a photo of another mood is rarely among its best fits). An active reranker
    # orders the first `best` of each ranking, the candidates the sequence first draws from.
    top_k = min(positioned, RANKED_LIMIT)
    best, bridges = max(200, 2 * n_tracks + 50), 40
    rankings = []
    for i, photo in enumerate(photos):
        ids, scores = served.ranked_scores(photo.analysis, top_k, best, user_id, feedback=feedback)
        rankings.append(Ranked(ids, scores))
        if progress:
            progress(50 + 40 * (i + 1) // len(photos), f"Ranked tracks for photo {i + 1} of {len(photos)}")
    for attempt in range(3):
        chosen = choose_candidates(catalogue, rankings, best, bridges)
        details = track_details(np.unique(np.concatenate(chosen)))
        slots = [
            Slot(photo.label, count, candidates_for(catalogue, ids, ranked.score_of(ids), details))
            for photo, count, ids, ranked in zip(photos, counts, chosen, rankings, strict=True)
        ]
        wider = attempt < 2 and best < top_k  # else: the smallest steps where the bounds cannot hold
        try:
            placed = sequence(slots, strict=wider)
        except NoSmoothPath:
            best, bridges = best * 4, bridges * 4  # more candidates may hold a smooth path
            continue
        except NotEnoughTracks as exc:
            if not wider:
                raise SoundtrackError(
                    f"The catalogue has too few different artists for {n_tracks} tracks ({exc})."
                ) from exc
            best, bridges = best * 4, bridges * 4
            continue
        return Plan(list(photos), slots, placed, version)
    raise SoundtrackError(f"The catalogue has too few different artists for {n_tracks} tracks.")


@dataclass
class Ranked:
    """One photo's ranking: track ids best first, with their scores."""

    track_ids: np.ndarray
    scores: np.ndarray

    def score_of(self, track_ids: np.ndarray) -> np.ndarray:
        order = np.argsort(self.track_ids, kind="stable")
        at = np.searchsorted(self.track_ids[order], track_ids)
        return self.scores[order[np.minimum(at, len(order) - 1)]]


def choose_candidates(
    catalogue: TrackCatalogue, rankings: Sequence[Ranked], best: int, bridges: int
) -> list[np.ndarray]:
    """Per photo, candidate track ids best first: its `best` best fits, and for every photo after the
    first, the `bridges` tracks nearest each of BRIDGE_POINTS points between the mean mood position of the
    previous photo's 20 best fits and of its own (only tracks its ranking scored)."""
    va = np.asarray(catalogue.va)
    ids_all = np.asarray(catalogue.track_ids)
    rows = catalogue.row_of([int(t) for r in rankings for t in r.track_ids[:20]])

    def centre(ranked: Ranked) -> np.ndarray:
        return va[[rows[int(t)] for t in ranked.track_ids[:20] if int(t) in rows]].mean(axis=0)

    out = []
    for i, ranked in enumerate(rankings):
        ids = ranked.track_ids[:best]
        if i > 0 and len(ranked.track_ids):
            start, end = centre(rankings[i - 1]), centre(ranked)
            near = [
                ids_all[catalogue.candidates((float(p[0]), float(p[1])), bridges)]
                for p in (start + (end - start) * t for t in np.linspace(0, 1, BRIDGE_POINTS))
            ]
            extra = np.setdiff1d(np.concatenate(near), ids)
            extra = extra[np.isin(extra, ranked.track_ids)]
            ids = np.concatenate([ids, extra])
        order = np.argsort(-ranked.score_of(ids), kind="stable")
        out.append(ids[order])
    return out


Details = dict[int, tuple[str, float | None, float | None]]


def track_details(track_ids: Iterable[int]) -> Details:
    """Artist, energy and tempo of these tracks, by id (in chunks: a whole-catalogue pool has 30k ids)."""
    ids = [int(t) for t in track_ids]
    details: Details = {}
    for start in range(0, len(ids), 5000):
        rows = Track.objects.filter(pk__in=ids[start : start + 5000]).values_list(
            "pk", "artist", "energy", "tempo"
        )
        details.update({pk: (artist, energy, tempo) for pk, artist, energy, tempo in rows})
    return details


def candidates_for(
    catalogue: TrackCatalogue, track_ids: np.ndarray, scores: np.ndarray, details: Details
) -> list[Candidate]:
    """The ranked tracks as sequencer candidates: the engine's mood position (valence, arousal), energy and
    tempo from the catalogue."""
    ids = [int(t) for t in track_ids]
    rows = catalogue.row_of(ids)
    va = np.asarray(catalogue.va)
    out = []
    for track_id, score in zip(ids, scores, strict=True):
        if track_id not in details or track_id not in rows:
            continue  # deleted since the index was built
        artist, energy, tempo = details[track_id]
        valence, arousal = (float(x) for x in va[rows[track_id]])
        out.append(Candidate(track_id, artist, float(score), energy, tempo, valence, arousal))
    return out
