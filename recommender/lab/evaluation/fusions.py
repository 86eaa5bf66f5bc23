"""Which rankings an evaluation judges and how they compare: the configurations (each strategy, the
fusions, the ablations), the fusion-weight search on the validation split, and the fusions against the
best single strategy on test."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from recommender.pipeline import EngineConfig

from .scoring import Configuration, Judged, Split, judge

MEAN_OF_RELEVANCES = "mean of the relevances"
SEARCH_METRIC = "P@5"  # the search maximises its macro value, averaged over the relevances
KEY_METRICS: tuple[str, ...] = ("P@5", "NDCG@10")  # the summary table's columns


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
