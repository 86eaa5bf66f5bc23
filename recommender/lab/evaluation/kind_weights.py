"""Choosing the default fusion weights for a kind of catalogue, by theme-grouped cross-validation.

Every weighting of a simplex grid (steps of GRID_STEP over the strategies that can see the catalogue;
a strategy that abstains on nearly every track is left out, so it gets no weight) is judged per photo
once. A weighting's objective is the mean over the relevances of macro P@5 + NDCG@10.

The rule (select), on the photos of the choosing themes: the default is the best single strategy by the
objective, unless fused weights are better on EVERY figure the report compares (P@5 and NDCG@10 of every
relevance, on every kind the profile serves) with stats.GAIN_CONFIDENCE, the confidence the reranker
gate asks (stats.paired_gain_lower_bound: a paired bootstrap, here drawing whole themes). The gain tested
is not the in-sample gain of the grid's best weighting (which the search over the grid inflates) but an
inner cross-validation's: INNER_FOLDS folds of the choosing themes, each ranked with the grid's best
weighting and with the best single strategy as chosen on the other inner folds. Only if every lower bound
of that out-of-fold gain is above 0 is the grid's best weighting on all choosing themes kept; a tie, or a
gain within the noise, keeps the single strategy. So where the strategies' gains are of the order of the
noise, the fused default IS the best single strategy rather than a mixture that may trail it. Kinds
served by one profile (the same coverage) are chosen together: the objective is their mean, and the fused
weights must clear the bounds on each of them.

cross_validate() reports what the procedure does on themes it did not choose on: FOLDS folds by a hash
of the theme name; each fold's photos are ranked with the weights the whole rule (inner cross-validation
included) chose on the other folds, and the out-of-fold per-photo values are pooled before the macro
averages.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from recommender.config import COVERAGE_MIN  # a strategy seeing fewer tracks abstains almost everywhere
from recommender.lab.stats import GAIN_CONFIDENCE, paired_gain_lower_bound

from .metrics import per_photo, ranked_relevance
from .relevance import Relevance
from .scoring import FusedScores

FOLDS = 5
INNER_FOLDS = 5  # inside the choosing themes, for the gain fused weights must show (select)
GRID_STEP = 0.1
METRICS: tuple[str, ...] = ("P@5", "NDCG@10")
CUTOFF = 10
FOLD_SALT = "photophone-kind-weights-v1"
INNER_SALT = "photophone-kind-weights-inner-v1"  # inner folds cut across the outer ones
CONFIDENCE = GAIN_CONFIDENCE  # what the report states

Weighting = tuple[tuple[str, float], ...]  # sorted (strategy, weight > 0) pairs


def theme_folds(themes: Sequence[str], folds: int = FOLDS, salt: str = FOLD_SALT) -> np.ndarray:
    """(n_photos,) fold of each photo, by a hash of its theme: a theme never straddles two folds."""
    return np.array([int(hashlib.sha256(f"{salt}:{t}".encode()).hexdigest()[:8], 16) % folds for t in themes])


def simplex_grid(names: Sequence[str], step: float = GRID_STEP) -> list[Weighting]:
    """Every weighting of `names` in steps of `step` summing to 1 (singles included), zeros dropped."""
    n = round(1 / step)
    out = []
    for combo in itertools.product(range(n + 1), repeat=len(names)):
        if sum(combo) == n:
            out.append(tuple((name, round(c / n, 4)) for name, c in zip(names, combo, strict=True) if c))
    return sorted(set(out))


def seeing(coverage: Mapping[str, float]) -> list[str]:
    """The strategies that may take weight: those that see at least COVERAGE_MIN of the tracks."""
    return [name for name, share in coverage.items() if share >= COVERAGE_MIN]


def top_relevance(scores: np.ndarray, relevant: np.ndarray, k: int = CUTOFF) -> np.ndarray:
    """(n_photos, k) relevance of each photo's top k (best first; ties: lower track row first), as
    metrics.ranked_relevance but without sorting whole rows."""
    n = scores.shape[1]
    if n <= 4 * k:
        return ranked_relevance(scores, relevant)[:, :k]
    # Break ties by row: lower rows rank first, as a stable sort would.
    tied = scores - 1e-9 * np.arange(n)[None, :] / n
    top = np.argpartition(-tied, k, axis=1)[:, :k]
    top = np.take_along_axis(top, np.argsort(-np.take_along_axis(tied, top, axis=1), axis=1), axis=1)
    return np.take_along_axis(np.asarray(relevant, dtype=bool), top, axis=1)


@dataclass
class PhotoTable:
    """Per-photo P@5 and NDCG@10 of every weighting, with what the macro averages need."""

    weightings: list[Weighting]
    metrics: dict[Weighting, dict[str, dict[str, np.ndarray]]]  # weighting -> relevance -> metric -> (n,)
    relevances: dict[str, Relevance]
    keep: dict[str, np.ndarray]  # relevance -> photos whose class has a relevant track
    themes: np.ndarray

    def photo_weights(self, mask: np.ndarray) -> dict[str, np.ndarray]:
        """relevance -> (n_photos,) weight of each photo in the macro average over `mask`."""
        out = {}
        for name, rel in self.relevances.items():
            use = mask & self.keep[name]
            classes = rel.photo_class
            present = np.unique(classes[use])
            counts = np.bincount(classes[use], minlength=int(classes.max()) + 1)
            w = np.zeros(len(classes))
            w[use] = 1.0 / (len(present) * counts[classes[use]])
            out[name] = w
        return out

    def terms(self, weighting: Weighting, weights: Mapping[str, np.ndarray]) -> np.ndarray:
        """(n_photos,) each photo's share of the objective (summing over photos gives the objective)."""
        m = self.metrics[weighting]
        total = sum(weights[r] * (m[r]["P@5"] + m[r]["NDCG@10"]) for r in self.relevances)
        return np.asarray(total, dtype=np.float64) / len(self.relevances)

    def objective(self, weighting: Weighting, mask: np.ndarray) -> float:
        return float(self.terms(weighting, self.photo_weights(mask)).sum())

    def macro(self, weighting: Weighting, mask: np.ndarray) -> dict[str, dict[str, float]]:
        weights = self.photo_weights(mask)
        return {
            r: {k: float((weights[r] * self.metrics[weighting][r][k]).sum()) for k in METRICS}
            for r in self.relevances
        }


def photo_table(
    scores: Mapping[str, np.ndarray],
    relevances: Mapping[str, Relevance],
    themes: Sequence[str],
    coverage: Mapping[str, float],
    step: float = GRID_STEP,
    only: Sequence[Weighting] | None = None,
) -> PhotoTable:
    """Judge every grid weighting (or `only` these) of the strategies that see the catalogue, per photo."""
    fused = FusedScores({n: m for n, m in scores.items() if n in seeing(coverage)})
    keep = {name: rel.relevant_counts() > 0 for name, rel in relevances.items()}
    weightings = sorted(set(only)) if only is not None else simplex_grid(seeing(coverage), step)
    metrics: dict[Weighting, dict[str, dict[str, np.ndarray]]] = {}
    for weighting in weightings:
        total = fused.fuse("weighted", dict(weighting))
        metrics[weighting] = {}
        for name, rel in relevances.items():
            cols = rel.participating
            top = top_relevance(total[:, cols], rel.matrix()[:, cols])
            judged = per_photo(top, rel.relevant_counts())
            metrics[weighting][name] = {k: judged[k] for k in METRICS}
    return PhotoTable(weightings, metrics, dict(relevances), keep, np.asarray(themes))


def singles(table: PhotoTable) -> list[Weighting]:
    return [w for w in table.weightings if len(w) == 1]


def macro_gain(
    table: PhotoTable, diff: np.ndarray, relevance: str, mask: np.ndarray
) -> Callable[[np.ndarray], float]:
    """row weights over the photos in mask -> the macro average of the per-photo difference `diff` (one
    procedure's metric less another's, on the same photos: paired) over those photos counted that often.
    With every weight 1 it is the difference of the two procedures' macro figures on mask."""
    use = table.keep[relevance][mask]
    classes = table.relevances[relevance].photo_class[mask][use]
    values = np.asarray(diff, dtype=np.float64)[mask][use]
    size = int(classes.max()) + 1 if len(classes) else 0

    def gain(weights: np.ndarray) -> float:
        w = weights[use]
        count = np.bincount(classes, w, minlength=size)
        total = np.bincount(classes, w * values, minlength=size)
        present = count > 0
        return float((total[present] / count[present]).mean()) if present.any() else 0.0

    return gain


def best_weighting(
    tables: Sequence[PhotoTable], mask: np.ndarray, candidates: Sequence[Weighting]
) -> Weighting:
    """The candidate with the highest mean objective over the tables on the photos in mask (ties: the
    later weighting in sort order, as before)."""
    weights = [t.photo_weights(mask) for t in tables]

    def mean_objective(w: Weighting) -> float:
        return float(np.mean([t.terms(w, pw).sum() for t, pw in zip(tables, weights, strict=True)]))

    return max(candidates, key=lambda w: (mean_objective(w), w))


@dataclass
class Choice:
    """What select() decided on one set of choosing themes, and why."""

    weighting: Weighting  # the default: `fused` if kept, else `single`
    single: Weighting  # the best single strategy on the choosing themes
    fused: Weighting  # the grid's best weighting there (may be a single strategy)
    kept: bool  # whether `fused` cleared every bound
    # "kind/relevance/metric" (kind: the table's index) -> (inner out-of-fold gain of the fused weights over
    # the single strategy, its one-sided GAIN_CONFIDENCE lower bound)
    gains: dict[str, tuple[float, float]]

    def as_json(self) -> dict[str, Any]:
        return {
            "weights": dict(self.weighting),
            "single": dict(self.single),
            "fused": dict(self.fused),
            "kept": self.kept,
            "gains": {k: {"gain": g, "lower_bound": b} for k, (g, b) in self.gains.items()},
        }


def select(tables: Sequence[PhotoTable], mask: np.ndarray) -> Choice:
    """The weighting for the kinds judged by `tables` (one profile), chosen on the photos in mask: the
    grid's best weighting if its gain over the best single strategy, out of fold in an inner
    cross-validation over the mask's themes, has a positive GAIN_CONFIDENCE lower bound on every metric
    of every relevance of every table; else the best single strategy."""
    grid = [w for w in tables[0].weightings if all(w in t.metrics for t in tables[1:])]
    ones = [w for w in grid if len(w) == 1]
    single, fused = best_weighting(tables, mask, ones), best_weighting(tables, mask, grid)
    if fused == single:
        return Choice(single, single, fused, False, {})
    themes = tables[0].themes
    inner = theme_folds(list(themes), INNER_FOLDS, INNER_SALT)
    # Per photo of the mask: which weighting ranks it when its inner fold is held out, by either procedure.
    by_fused: dict[Weighting, np.ndarray] = {}
    by_single: dict[Weighting, np.ndarray] = {}
    for k in range(INNER_FOLDS):
        held = mask & (inner == k)
        train = mask & ~held
        if not held.any() or not train.any():
            continue
        f, s = best_weighting(tables, train, grid), best_weighting(tables, train, ones)
        by_fused[f] = by_fused.get(f, np.zeros(len(themes), dtype=bool)) | held
        by_single[s] = by_single.get(s, np.zeros(len(themes), dtype=bool)) | held
    gains: dict[str, tuple[float, float]] = {}
    for i, table in enumerate(tables):
        for r in table.relevances:
            for m in METRICS:
                diff = np.zeros(len(themes))
                for w, rows in by_fused.items():
                    diff[rows] += table.metrics[w][r][m][rows]
                for w, rows in by_single.items():
                    diff[rows] -= table.metrics[w][r][m][rows]
                gain = macro_gain(table, diff, r, mask)
                bound = paired_gain_lower_bound(gain, themes[mask])
                gains[f"{i}/{r}/{m}"] = (gain(np.ones(int(mask.sum()))), bound)
    kept = bool(gains) and all(bound > 0 for _, bound in gains.values())
    return Choice(fused if kept else single, single, fused, kept, gains)


@dataclass
class CrossValidated:
    choices: list[Choice | None]  # per fold, chosen on the other folds (None: an empty fold)
    out_of_fold: list[dict[str, dict[str, float]]]  # per table: relevance -> metric -> macro value

    @property
    def chosen(self) -> list[Weighting]:
        return [c.weighting if c is not None else () for c in self.choices]


def cross_validate(tables: Sequence[PhotoTable], folds: int = FOLDS) -> CrossValidated:
    """Each fold's photos ranked with the weighting select() chose on the other folds; the out-of-fold
    per-photo values pooled, then macro-averaged over all photos."""
    fold = theme_folds(list(tables[0].themes), folds)
    choices: list[Choice | None] = []
    pooled = [{r: {k: np.zeros(len(fold)) for k in METRICS} for r in t.relevances} for t in tables]
    for k in range(folds):
        held = fold == k
        if not held.any():
            choices.append(None)
            continue
        choice = select(tables, ~held)
        choices.append(choice)
        for t, out in zip(tables, pooled, strict=True):
            for r in t.relevances:
                for m in METRICS:
                    out[r][m][held] = t.metrics[choice.weighting][r][m][held]
    everyone = np.ones(len(fold), dtype=bool)
    oof = []
    for t, out in zip(tables, pooled, strict=True):
        weights = t.photo_weights(everyone)
        oof.append({r: {m: float((weights[r] * out[r][m]).sum()) for m in METRICS} for r in t.relevances})
    return CrossValidated(choices, oof)
