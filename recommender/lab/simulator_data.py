"""What the feedback simulator (feedback_simulator.py) ranks: OASIS photos with their human valence and
arousal, a catalogue with human or editorial labels, and the engine's analysis and top POOL tracks of
each photo (optionally kept in an .npz between runs, since analysing 607 photos takes minutes)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from recommender.catalogue_index import TrackCatalogue
from recommender.config import EngineConfig
from recommender.pipeline import get_engine
from recommender.ranking import Ranking
from recommender.reranker import POOL
from recommender.types import PhotoAnalysis, TrackRow


def load_oasis(root: Path) -> list[tuple[str, str, float, float]]:
    """(image path, theme group, valence, arousal on 0-1) per photo."""
    out = []
    with open(root / "OASIS.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            path = root / "images" / f"{row['Theme']}.jpg"
            if path.exists():
                group = row["Theme"].rsplit(" ", 1)[0]
                out.append(
                    (
                        str(path),
                        group,
                        (float(row["Valence_mean"]) - 1) / 6,
                        (float(row["Arousal_mean"]) - 1) / 6,
                    )
                )
    return out


def load_catalogue(path: Path) -> list[TrackRow]:
    with open(path, newline="") as handle:
        return [
            TrackRow(
                track_id=i + 1,
                artist=r["artist"],
                title=r["title"],
                valence=float(r["valence"]),
                arousal=float(r["arousal"]),
                genre=r.get("genre", ""),
                tags=[t for t in r.get("tags", "").split(";") if t],
            )
            for i, r in enumerate(csv.DictReader(handle))
        ]


@dataclass
class EngineOutputs:
    catalogue: TrackCatalogue
    analyses: list[PhotoAnalysis]
    rankings: list[Ranking]


def engine_outputs(
    photos: list[tuple[str, str, float, float]], rows: list[TrackRow], cache: Path | None
) -> EngineOutputs:
    """The engine's reading and top POOL of each photo, from cache when it exists (then the catalogue is
    built without the strategies' track vectors: ranking needs only the tracks' moods and artists)."""
    saved = np.load(cache, allow_pickle=True) if cache and cache.exists() else None
    if saved is not None:
        names = [str(k) for k in saved["strategies"]]
        analyses = [PhotoAnalysis(float(v), float(a), {}, np.zeros(1), {}, []) for v, a in saved["va"]]
        rankings = [
            Ranking(
                saved["ids"][i],
                saved["scores"][i],
                {k: saved["strategy_" + k][i] for k in names},
                lambda idx: [[] for _ in idx],
            )
            for i in range(len(analyses))
        ]
        return EngineOutputs(TrackCatalogue.build(rows), analyses, rankings)
    engine = get_engine(EngineConfig.from_environment())
    catalogue = engine.build_catalogue(rows)
    analyses, rankings = [], []
    for start in range(0, len(photos), 16):
        images = [Image.open(p).convert("RGB") for p, _, _, _ in photos[start : start + 16]]
        for analysis in engine.analyse_batch(images):
            analyses.append(analysis)
            rankings.append(engine.recommend(analysis, catalogue, top_k=POOL))
    if cache is not None:
        strategies = sorted(rankings[0].strategy_scores)
        arrays: dict[str, np.ndarray] = {
            "va": np.array([a.va for a in analyses]),
            "ids": np.stack([r.track_ids[:POOL] for r in rankings]),
            "scores": np.stack([r.scores[:POOL] for r in rankings]),
            "strategies": np.array(strategies),
            **{
                "strategy_" + k: np.stack([r.strategy_scores[k][:POOL] for r in rankings]) for k in strategies
            },
        }
        np.savez(cache, **arrays)  # type: ignore[arg-type]
    return EngineOutputs(catalogue, analyses, rankings)
