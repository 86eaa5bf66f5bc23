"""One evaluation run: test-split table (each strategy, the fusions, ablations of the shipped default and
of the all-strategy fusion), chance, oracle, served ranking, Pearson r of the mood model, a fusion-weight
search on the validation split, and whether the fusions beat the best single strategy on test."""

from __future__ import annotations

import itertools
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from recommender.heads.model import UsesHeads
from recommender.pipeline import Engine, EngineConfig
from recommender.strategies import Strategy
from recommender.types import IMAGE_EMOTIONS

from .data import DEFAULT_CACHE, EvalData, PhotoSet, load_real, synthetic
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

QUICK_PHOTOS = 48
QUICK_TRACKS = 600
SEARCH_LIMIT = 200  # weightings tried per fusion kind
MEAN_OF_RELEVANCES = "mean of the relevances"
SEARCH_METRIC = "P@5"  # the search maximises its macro value, averaged over the relevances
KEY_METRICS: tuple[str, ...] = ("P@5", "NDCG@10")  # the summary table's columns


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


@dataclass
class Row:
    configuration: Configuration
    group: str  # "strategy", "fusion", "ablation", "searched"
    predicted: Judged
    oracle: Judged | None

    def as_json(self) -> dict[str, Any]:
        return {
            "label": self.configuration.label,
            "group": self.group,
            "fusion": self.configuration.kind,
            "weights": dict(self.configuration.weights),
            "model": self.predicted.metrics,
            "oracle": self.oracle.metrics if self.oracle else None,
        }


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


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    if len(a) < 2 or np.std(a) < 1e-12 or np.std(b) < 1e-12:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


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


def objective(judged: Judged) -> float:
    """Mean over the measured relevances of the macro SEARCH_METRIC."""
    return float(np.mean([m[SEARCH_METRIC] for m in judged.metrics.values()]))


def weight_grid(names: Sequence[str], limit: int, rng: np.random.Generator) -> list[dict[str, float]]:
    """Normalised weightings from a small grid (finer for few strategies), at most `limit` of them;
    every single strategy and the equal weighting are always in."""
    levels = (0, 1, 2, 3) if len(names) <= 3 else (0, 1, 2) if len(names) <= 6 else (0, 1)
    seen: set[tuple[float, ...]] = set()
    for combo in itertools.product(levels, repeat=len(names)):
        if sum(combo):
            seen.add(tuple(round(c / sum(combo), 4) for c in combo))
    grid = sorted(seen)
    must = [tuple(1.0 if i == j else 0.0 for i in range(len(names))) for j in range(len(names))]
    must.append(tuple(round(1 / len(names), 4) for _ in names))
    rest = [g for g in grid if g not in must]
    if len(must) + len(rest) > limit:
        pick = rng.choice(len(rest), size=max(0, limit - len(must)), replace=False)
        rest = [rest[i] for i in sorted(pick)]
    return [dict(zip(names, w, strict=True)) for w in must + rest]


def search_weights(split: Split, names: Sequence[str], limit: int, seed: int) -> dict[str, Any]:
    """Try fusion kinds x weightings on the validation split; return them ranked by the objective."""
    tried: list[dict[str, Any]] = []
    for kind in ("weighted", "rrf"):
        for weights in weight_grid(names, limit, np.random.default_rng(seed)):
            judged = judge(split.predicted.fuse(kind, weights), split.relevances, split.keep)
            tried.append(
                {
                    "fusion": kind,
                    "weights": weights,
                    "objective": objective(judged),
                    **{m: {r: v[m] for r, v in judged.metrics.items()} for m in KEY_METRICS},
                }
            )
    tried.sort(key=lambda t: -t["objective"])
    measured = list(split.relevances)
    return {
        "objective": f"macro {SEARCH_METRIC}, mean of the {', '.join(measured)} relevances (val split)",
        "relevances": measured,
        "tried": len(tried),
        "best": tried[0] if tried else None,
        "top": tried[:10],
    }


def configurations(
    available: Sequence[str], config: EngineConfig
) -> tuple[list[tuple[str, Configuration]], list[str]]:
    """(group, configuration) pairs: each strategy alone, the default fusion in both kinds, the fusion of
    all available strategies with equal weights, and the ablation (one strategy removed at a time) of
    the shipped default fusion and of the all-strategy fusion."""
    notes: list[str] = []
    out = [("strategy", Configuration(name, "weighted", ((name, 1.0),))) for name in available]
    defaults = {n: w for n, w in config.weights().items() if n in config.strategies}
    missing = [n for n in defaults if n not in available]
    if missing:
        notes.append(f"default fusion evaluated without unavailable strategies: {', '.join(missing)}")
    defaults = {n: w for n, w in defaults.items() if n in available and w > 0}
    other = "rrf" if config.fusion == "weighted" else "weighted"
    if defaults:
        weights = tuple(defaults.items())
        out.append(
            ("fusion", Configuration(f"fusion: shipped default ({config.fusion})", config.fusion, weights))
        )
        out.append(("fusion", Configuration(f"fusion: default weights, {other}", other, weights)))
    bases: list[tuple[str, dict[str, float], str, str]] = []  # (tag, weights, kind, label)
    if len(defaults) > 1:
        bases.append(("default", defaults, config.fusion, f"fusion: shipped default ({config.fusion})"))
    if set(available) != set(defaults) and len(available) > 1:
        equal = tuple((n, 1.0) for n in available)
        out.append(("fusion", Configuration("fusion: all strategies, equal (weighted)", "weighted", equal)))
        out.append(("fusion", Configuration("fusion: all strategies, equal (rrf)", "rrf", equal)))
        bases.append(("all", dict(equal), "weighted", "fusion: all strategies, equal (weighted)"))
    for tag, base, kind, label in bases:
        notes.append(f"ablation ({tag}) removes one strategy at a time from '{label}'")
        out.append(("ablation", next(c for _, c in out if c.label == label)))
        for name in base:
            rest = tuple((n, w) for n, w in base.items() if n != name)
            out.append(("ablation", Configuration(f"ablation ({tag}): without {name}", kind, rest)))
    return out, notes


def versus_best_single(rows: Sequence[Row], relevances: Sequence[str]) -> dict[str, Any]:
    """Per relevance, and for the mean over the relevances (what one ranking serving every kind of
    relevance at once is judged by): the best single strategy on test (by model P@5, ties by NDCG@10)
    against the shipped default fusion and the fusion the validation search chose."""
    singles = [r for r in rows if r.group == "strategy"]
    fusions = {
        "shipped default": next(
            (r for r in rows if r.group == "fusion" and r.configuration.label.startswith("fusion: shipped")),
            None,
        ),
        "searched on val": next((r for r in rows if r.group == "searched"), None),
    }

    def metric(row: Row, rel: str, m: str) -> float:
        if rel == MEAN_OF_RELEVANCES:  # one strategy must serve every relevance at once
            return float(np.mean([row.predicted.metrics[r][m] for r in relevances]))
        return float(row.predicted.metrics[rel][m])

    out: dict[str, Any] = {}
    for rel in [*relevances, *([MEAN_OF_RELEVANCES] if len(relevances) > 1 else [])]:
        if not singles:
            break
        best = max(singles, key=lambda r: (metric(r, rel, "P@5"), metric(r, rel, "NDCG@10")))
        entry: dict[str, Any] = {
            "best_single": best.configuration.label,
            **{m: metric(best, rel, m) for m in KEY_METRICS},
        }
        for name, row in fusions.items():
            if row is None:
                continue
            got = {m: metric(row, rel, m) for m in KEY_METRICS}
            entry[name] = {
                "label": row.configuration.describe(),
                **got,
                "beats_on_P@5": bool(got["P@5"] > entry["P@5"]),
                "beats_on_NDCG@10": bool(got["NDCG@10"] > entry["NDCG@10"]),
            }
        out[rel] = entry
    return out


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
    rows = [
        Row(
            c,
            group,
            judge(split.predicted.fuse(c.kind, c.weight_map()), split.relevances, split.keep),
            judge(split.oracle.fuse(c.kind, c.weight_map()), split.relevances, split.keep)
            if split.oracle
            else None,
        )
        for group, c in configs
    ]
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
            rows.append(
                Row(
                    c,
                    "searched",
                    judge(split.predicted.fuse(c.kind, c.weight_map()), split.relevances, split.keep),
                    judge(split.oracle.fuse(c.kind, c.weight_map()), split.relevances, split.keep)
                    if split.oracle
                    else None,
                )
            )
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
