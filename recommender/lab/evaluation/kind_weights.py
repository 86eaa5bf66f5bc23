"""Choosing the default fusion weights for a kind of catalogue, by theme-grouped cross-validation.

Every weighting of a simplex grid (steps of GRID_STEP over the strategies that can see the catalogue;
a strategy that abstains on nearly every track is left out, so it gets no weight) is judged per photo
once. The objective is the one the report shows: the mean over the relevances of macro P@5 + NDCG@10.
Macro averages are linear in the per-photo values (each photo counts 1 / (classes x photos of its
class)), so the objective is a weighted sum over photos and its difference between two weightings splits
into one term per theme.

Selection is pessimistic, because the strategies' gains over the best one alone are of the order of the
noise (a few thousandths): the best single strategy on the choosing themes is the baseline, and a
weighting replaces it only if its gain, less Z_SE standard errors (from the spread of the gain over
themes: themes are the unit that varies), is positive; among those, the highest lower bound wins. Where
no mixture is reliably better, the choice is the single strategy, so the fused default cannot fall below
it by more than the choosing themes' noise allows. Several kinds served by one profile (the same
coverage) are chosen together: the lower bound of a weighting is its worst over those kinds.

cross_validate() reports what the procedure does on themes it did not choose on: FOLDS folds by a hash
of the theme name; each fold's photos are ranked with the weights chosen on the other folds, and the
out-of-fold per-photo values are pooled before the macro averages.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from recommender.config import COVERAGE_MIN  # a strategy seeing fewer tracks abstains almost everywhere

from .metrics import per_photo, ranked_relevance
from .relevance import Relevance
from .scoring import FusedScores

FOLDS = 5
GRID_STEP = 0.1
Z_SE = 1.0  # how many standard errors (over themes) a mixture's gain must clear
METRICS: tuple[str, ...] = ("P@5", "NDCG@10")
CUTOFF = 10
FOLD_SALT = "photophone-kind-weights-v1"

Weighting = tuple[tuple[str, float], ...]  # sorted (strategy, weight > 0) pairs


def theme_folds(themes: Sequence[str], folds: int = FOLDS) -> np.ndarray:
    """(n_photos,) fold of each photo, by a hash of its theme: a theme never straddles two folds."""
    return np.array(
        [int(hashlib.sha256(f"{FOLD_SALT}:{t}".encode()).hexdigest()[:8], 16) % folds for t in themes]
    )


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


def lower_bound(table: PhotoTable, weighting: Weighting, baseline: Weighting, mask: np.ndarray) -> float:
    """Gain of `weighting` over `baseline` on the photos in mask, less Z_SE theme-level standard errors."""
    weights = table.photo_weights(mask)
    diff = table.terms(weighting, weights) - table.terms(baseline, weights)
    themes = table.themes[mask]
    per_theme = np.array([diff[mask][themes == t].sum() for t in np.unique(themes)])
    gain = float(per_theme.sum())
    se = float(np.sqrt(len(per_theme)) * per_theme.std(ddof=1)) if len(per_theme) > 1 else 0.0
    return gain - Z_SE * se


def best_mixture(table: PhotoTable, mask: np.ndarray) -> dict[str, Any]:
    """The best weighting of two or more strategies on `mask` by the objective, its gain over the best
    single strategy and the gain's standard error over themes (what the pessimistic rule weighs)."""
    single = max(singles(table), key=lambda w: (table.objective(w, mask), w))
    mixtures = [w for w in table.weightings if len(w) > 1]
    if not mixtures:
        return {"weights": dict(single), "gain": 0.0, "se": 0.0, "best_single": single[0][0]}
    best = max(mixtures, key=lambda w: (table.objective(w, mask), w))
    gain = table.objective(best, mask) - table.objective(single, mask)
    bound = lower_bound(table, best, single, mask)
    return {
        "weights": dict(best),
        "gain": gain,
        "se": (gain - bound) / Z_SE if Z_SE else 0.0,
        "best_single": single[0][0],
    }


def select(tables: Sequence[PhotoTable], masks: Sequence[np.ndarray]) -> Weighting:
    """The weighting for kinds judged by `tables` (one profile), chosen on the photos in `masks`: the best
    single strategy by the mean objective over the kinds, unless some weighting's worst lower bound over
    the kinds is positive (then the weighting with the highest such bound)."""
    common = [w for w in tables[0].weightings if all(w in t.metrics for t in tables[1:])]

    def mean_objective(w: Weighting) -> float:
        return float(np.mean([t.objective(w, m) for t, m in zip(tables, masks, strict=True)]))

    baseline = max((w for w in common if len(w) == 1), key=lambda w: (mean_objective(w), w))
    best: Weighting = baseline
    best_bound = 0.0
    for weighting in common:
        if weighting == baseline:
            continue
        bound = min(lower_bound(t, weighting, baseline, m) for t, m in zip(tables, masks, strict=True))
        if bound > best_bound:
            best, best_bound = weighting, bound
    return best


@dataclass
class CrossValidated:
    chosen: list[Weighting]  # per fold, chosen on the other folds
    out_of_fold: list[dict[str, dict[str, float]]]  # per table: relevance -> metric -> macro value


def cross_validate(tables: Sequence[PhotoTable], folds: int = FOLDS) -> CrossValidated:
    """Each fold's photos ranked with the weighting select() chose on the other folds; the out-of-fold
    per-photo values pooled, then macro-averaged over all photos."""
    fold = theme_folds(list(tables[0].themes), folds)
    chosen: list[Weighting] = []
    pooled = [{r: {k: np.zeros(len(fold)) for k in METRICS} for r in t.relevances} for t in tables]
    for k in range(folds):
        held = fold == k
        if not held.any():
            chosen.append(())
            continue
        weighting = select(tables, [~held] * len(tables))
        chosen.append(weighting)
        for t, out in zip(tables, pooled, strict=True):
            for r in t.relevances:
                for m in METRICS:
                    out[r][m][held] = t.metrics[weighting][r][m][held]
    everyone = np.ones(len(fold), dtype=bool)
    oof = []
    for t, out in zip(tables, pooled, strict=True):
        weights = t.photo_weights(everyone)
        oof.append({r: {m: float((weights[r] * out[r][m]).sum()) for m in METRICS} for r in t.relevances})
    return CrossValidated(chosen, oof)
