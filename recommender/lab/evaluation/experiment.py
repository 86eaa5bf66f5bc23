"""One evaluation run: test-split table (each strategy, the fusions, ablations of the shipped default and
of the all-strategy fusion), chance, oracle, served ranking, Pearson r of the mood model, a fusion-weight
search on the validation split, and whether the fusions beat the best single strategy on test."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from recommender.heads.model import UsesHeads
from recommender.lab.stats import pearson
from recommender.pipeline import Engine, EngineConfig
from recommender.strategies import Strategy
from recommender.types import IMAGE_EMOTIONS

from .data import DEFAULT_CACHE, EvalData, PhotoSet, load_real, synthetic
from .fusions import Row, configurations, search_weights, versus_best_single
from .kinds import kinds_section
from .metrics import METRICS
from .relevance import RELEVANCES, Relevance
from .scoring import (
    Configuration,
    Judged,
    Split,
    build_catalogue,
    chance,
    judge,
    judge_orders,
    load_strategies,
    prepare,
    served_orders,
)

DEFAULT_KIND_STRATEGIES = ("va_match", "emotion", "feature_prediction", "joint_embedding")
QUICK_PHOTOS = 48
QUICK_TRACKS = 600
SEARCH_LIMIT = 200  # weightings tried per fusion kind


@dataclass
class Options:
    data: Path | None = None  # None: datasets.default_data_root()
    out: Path = Path("docs/evaluation.md")
    strategies: list[str] | None = None  # None: every registered strategy
    quick: bool = False
    synthetic: bool = False
    cache: Path = DEFAULT_CACHE
    search: bool = True
    served: bool = True
    seed: int = 0
    heads: Path | None = None  # heads artifact for feature_prediction / joint_embedding (None: shipped)
    mood: Path | None = None  # mood artifact (None: a model fitted on the Emotion6 train split)
    kinds: bool = True  # the catalogue-kinds section on OASIS photos (kinds.py; real data only)


@dataclass
class Result:
    source: str
    notes: list[str]
    photos: int
    tracks: int
    excluded: dict[str, int]  # relevance -> photos left out (no relevant track in the catalogue)
    relevance_notes: dict[str, str]
    class_counts: dict[str, dict[str, dict[str, int]]]  # relevance -> photos|tracks -> class -> count
    strategies: list[str]
    skipped: dict[str, str]
    chance: Judged
    rows: list[Row]
    served: dict[str, Any]
    pearson: dict[str, float]
    scatter: dict[str, list[float]]
    search: dict[str, Any]
    seconds: dict[str, float] = field(default_factory=dict)
    relevances: list[str] = field(default_factory=lambda: list(RELEVANCES))  # those this run measured
    heads: str = ""  # the heads artifact the learned strategies used
    versus_best_single: dict[str, Any] = field(default_factory=dict)
    kinds: list[dict[str, Any]] = field(default_factory=list)  # kinds.KindResult.as_json() each
    kinds_markdown: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "notes": self.notes,
            "photos": self.photos,
            "tracks": self.tracks,
            "excluded_photos": self.excluded,
            "relevance": self.relevance_notes,
            "class_counts": self.class_counts,
            "strategies": self.strategies,
            "skipped": self.skipped,
            "metrics": list(METRICS),
            "chance": self.chance.metrics,
            "rows": [r.as_json() for r in self.rows],
            "served": self.served,
            "pearson": self.pearson,
            "search": self.search,
            "seconds": self.seconds,
            "relevances": self.relevances,
            "heads": self.heads,
            "versus_best_single": self.versus_best_single,
            "kinds": self.kinds,
        }


def _every(n: int, limit: int) -> list[int]:
    """Up to `limit` evenly spaced indices of range(n) (a deterministic subset for --quick)."""
    return list(range(n)) if n <= limit else np.linspace(0, n - 1, limit).round().astype(int).tolist()


def shrink(data: EvalData) -> EvalData:
    """The --quick subset: fewer photos and tracks from the same splits."""
    tracks_t = [data.test_tracks[i] for i in _every(len(data.test_tracks), QUICK_TRACKS)]
    tracks_v = [data.val_tracks[i] for i in _every(len(data.val_tracks), QUICK_TRACKS)]
    return EvalData(
        source=data.source,
        test_photos=data.test_photos.subset(_every(len(data.test_photos), QUICK_PHOTOS)),
        val_photos=data.val_photos.subset(_every(len(data.val_photos), QUICK_PHOTOS)),
        test_tracks=tracks_t,
        val_tracks=tracks_v,
        notes=[
            *data.notes,
            f"--quick: at most {QUICK_PHOTOS} photos and {QUICK_TRACKS} tracks per split (evenly spaced)",
        ],
        track_moods=data.track_moods,
    )


def mood_quality(photos: PhotoSet) -> tuple[dict[str, float], dict[str, list[float]]]:
    pv = np.array([p.valence for p in photos.predicted])
    pa = np.array([p.arousal for p in photos.predicted])
    pe = np.array([[p.emotions[e] for e in IMAGE_EMOTIONS] for p in photos.predicted])
    top = photos.human_emotions.argmax(axis=1)
    majority = np.bincount(top, minlength=len(IMAGE_EMOTIONS)).max() / max(1, len(top))
    quality = {
        "valence_r": pearson(pv, photos.human_va[:, 0]),
        "arousal_r": pearson(pa, photos.human_va[:, 1]),
        "emotion_top1_accuracy": float((pe.argmax(axis=1) == top).mean()),
        "emotion_top1_majority": float(majority),
    }
    scatter = {
        "human_valence": photos.human_va[:, 0].tolist(),
        "predicted_valence": pv.tolist(),
        "human_arousal": photos.human_va[:, 1].tolist(),
        "predicted_arousal": pa.tolist(),
    }
    return quality, scatter


def load(options: Options) -> EvalData:
    if options.synthetic:
        data = synthetic(options.seed)
    else:
        from recommender.lab import datasets

        root = options.data or datasets.default_data_root()
        data = load_real(root, options.cache, mood_dir=options.mood)
    return shrink(data) if options.quick else data


def evaluate(options: Options, data: EvalData | None = None) -> Result:
    started = time.perf_counter()
    seconds: dict[str, float] = {}
    config = EngineConfig()
    data = data or load(options)
    seconds["load"] = time.perf_counter() - started

    strategies = load_strategies(options.strategies, options.heads)
    t = time.perf_counter()
    catalogue = build_catalogue(data.test_tracks, strategies, "eval-test")
    photos = data.test_photos
    split = prepare(
        photos.predicted,
        photos.oracle(),
        photos.human_va,
        photos.human_emotions,
        catalogue,
        strategies,
        config,
        data.track_moods,
    )
    seconds["score_test"] = time.perf_counter() - t
    available = list(split.predicted.scores)

    t = time.perf_counter()
    configs, notes = configurations(available, config)
    rows = [_row(split, c, group) for group, c in configs]
    seconds["rank_test"] = time.perf_counter() - t

    search: dict[str, Any] = {}
    if options.search and available:
        t = time.perf_counter()
        val_catalogue = build_catalogue(data.val_tracks, strategies, "eval-val")
        vp = data.val_photos
        val_split = prepare(
            vp.predicted,
            None,
            vp.human_va,
            vp.human_emotions,
            val_catalogue,
            strategies,
            config,
            data.track_moods,
        )
        names = [n for n in available if n in val_split.predicted.scores]
        limit = 20 if options.quick else SEARCH_LIMIT
        search = search_weights(val_split, names, limit, options.seed)
        search.update(
            photos=len(vp),
            tracks=len(val_catalogue),
            class_counts={r: _class_counts(rel) for r, rel in val_split.relevances.items()},
            excluded={r: int((~k).sum()) for r, k in val_split.keep.items()},
        )
        best = search["best"]
        if best:
            c = Configuration(
                "fusion: best on val (searched)", best["fusion"], tuple(best["weights"].items())
            )
            rows.append(_row(split, c, "searched"))
        seconds["search_val"] = time.perf_counter() - t

    served: dict[str, Any] = {}
    defaults = [c for g, c in configs if g == "fusion"][:1]
    if options.served and defaults:
        t = time.perf_counter()
        c = defaults[0]
        engine = Engine(
            EngineConfig(strategies=tuple(n for n, _ in c.weights), fusion_weights=c.weights, fusion=c.kind),
            strategies=[strategies.available[n] for n, _ in c.weights],
        )
        served = {
            "label": c.label,
            "model": judge_orders(
                served_orders(engine, photos.predicted, catalogue), split.relevances, split.keep
            ).metrics,
            "oracle": judge_orders(
                served_orders(engine, photos.oracle(), catalogue), split.relevances, split.keep
            ).metrics,
        }
        seconds["served_test"] = time.perf_counter() - t

    kinds: list[Any] = []
    oasis_mood: dict[str, float] = {}
    if options.kinds and not options.synthetic:
        from recommender.lab import datasets

        from .kinds import evaluate_kinds

        t = time.perf_counter()
        kinds, oasis_mood = evaluate_kinds(
            options.data or datasets.default_data_root(),
            options.cache,
            load_strategies(list(DEFAULT_KIND_STRATEGIES), options.heads),
            config,
            options.quick,
        )
        seconds["kinds"] = time.perf_counter() - t
    quality, scatter = mood_quality(photos)
    seconds["total"] = time.perf_counter() - started
    return Result(
        source=data.source,
        notes=[*data.notes, *notes],
        photos=len(photos),
        tracks=len(catalogue),
        excluded={r: int((~k).sum()) for r, k in split.keep.items()},
        relevance_notes={r: rel.note for r, rel in split.relevances.items()},
        class_counts={r: _class_counts(rel) for r, rel in split.relevances.items()},
        strategies=available,
        skipped=strategies.skipped,
        chance=chance(split.relevances, split.keep),
        rows=rows,
        served=served,
        pearson=quality,
        scatter=scatter,
        search=search,
        seconds={k: round(v, 2) for k, v in seconds.items()},
        relevances=list(split.relevances),
        heads=_heads_used(strategies.available),
        versus_best_single=versus_best_single(rows, list(split.relevances)),
        kinds=[k.as_json() for k in kinds],
        kinds_markdown=kinds_section(kinds, oasis_mood) if kinds else [],
    )


def _row(split: Split, c: Configuration, group: str) -> Row:
    """The configuration's fusion judged on the split, from the predicted mood and from the oracle's."""
    return Row(
        c,
        group,
        judge(split.predicted.fuse(c.kind, c.weight_map()), split.relevances, split.keep),
        judge(split.oracle.fuse(c.kind, c.weight_map()), split.relevances, split.keep)
        if split.oracle
        else None,
    )


def _class_counts(rel: Relevance) -> dict[str, dict[str, int]]:
    names = rel.class_names
    return {
        "photos": {names[c]: int((rel.photo_class == c).sum()) for c in range(len(names))},
        "tracks": {names[c]: int((rel.track_class == c).sum()) for c in range(len(names))},
    }


def _heads_used(available: Mapping[str, Strategy]) -> str:
    """'<model_version> (<directory>)' of the heads artifact the learned strategies read, or ''."""
    for strategy in available.values():
        if isinstance(strategy, UsesHeads):
            return f"{strategy.model.version} ({strategy.artifact})"
    return ""
