"""What the feedback simulator (feedback_simulator.py) ranks: OASIS photos with their human valence and
arousal (read by the offline evaluation's loader), a catalogue with human or editorial labels, and the
engine's analysis and top POOL tracks of each photo (optionally kept in an .npz between runs, since
analysing 607 photos takes minutes).

What the engine reads of a photo (moods): "out-of-fold", a mood model that never trained on the photo's
theme (as for a new user's photo; evaluation/kinds.py), since the served mood model was trained on every
OASIS development photo; or "served", the served model's reading."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from recommender.catalogue_index import TrackCatalogue
from recommender.config import EngineConfig
from recommender.lab import datasets
from recommender.lab.evaluation.kinds import oasis_photos
from recommender.pipeline import get_engine
from recommender.ranking import Ranking
from recommender.reranker import POOL
from recommender.types import PhotoAnalysis, TrackRow

MOODS = ("out-of-fold", "served")


@dataclass
class EngineOutputs:
    catalogue: TrackCatalogue
    analyses: list[PhotoAnalysis]
    rankings: list[Ranking]


def engine_outputs(
    data: Path, oasis: datasets.Oasis, rows: list[TrackRow], moods: str, features: Path, cache: Path | None
) -> EngineOutputs:
    """The engine's reading (moods) and top POOL of each photo, from cache when it exists (then the
    catalogue is built without the strategies' track vectors: ranking needs only the tracks' moods and
    artists). A cache of other outputs (other moods, other photos) is refused rather than reused."""
    if cache is not None and cache.exists():
        with np.load(cache) as saved:
            if "moods" not in saved or str(saved["moods"]) != moods or len(saved["va"]) != len(oasis.paths):
                raise SystemExit(f"{cache} holds other engine outputs: remove it or give another --cache")
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
    if moods == "out-of-fold":
        features.mkdir(parents=True, exist_ok=True)
        analyses = oasis_photos(data, features)[0]
    else:
        analyses = []
        for start in range(0, len(oasis.paths), 16):
            images = [Image.open(p).convert("RGB") for p in oasis.paths[start : start + 16]]
            analyses += engine.analyse_batch(images)
    rankings = [engine.recommend(analysis, catalogue, top_k=POOL) for analysis in analyses]
    if cache is not None:
        strategies = sorted(rankings[0].strategy_scores)
        arrays: dict[str, np.ndarray] = {
            "moods": np.array(moods),
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
