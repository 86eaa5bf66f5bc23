"""How va_match turns a photo's (valence, arousal) reading into a track ranking: today's nearest-V/A
matching against matchers that aim for the photo's quadrant, on mood readings the model never trained on.

    nice -n 10 python -m recommender.lab.training.mood_matching --data ../shared/data \
        --predictions /work/cache-quad/predictions --out /work/cache-quad/matching.json

Readings: a mood variant's OASIS out-of-fold predictions (mood_heads / mood_variants: the model never
trained on the photo's theme). Each is turned into the target Engine.recommend aims for in "match" mode
(valence as read, arousal aligned to the catalogue: scoring.target_of), then ranked by one matcher:
- distance: today's va_match, 1 - the V/A distance to the target (clipped to [0, 1]);
- extrapolate: the same distance to centre + k * (target - centre), per axis k, the centre the catalogue's
  median V/A (the track quadrants' split), or ("shifted") the photos' median target moved onto it;
- probability: P(the photo's human quadrant is the track's quadrant), from the reading and a Gaussian
  error per axis (bias and sd of the human target less the reading, optionally after a linear
  recalibration), blended with today's closeness: w * P + (1 - w) * closeness (w = 1: P, closeness only
  breaking ties);
- chosen: whichever of every setting above wins the inner cross-validation;
- two fixed settings, nothing chosen: "shifted" with k = 1 (only the photos' median moved onto the
  catalogue's), and probability with w = 1 (the likeliest quadrant first, nearest first within it).
Every parameter (k, the centre, w, the error model) is chosen or fitted on TRAINING themes only: outer 5
folds of OASIS themes (grouped_folds, seed 0: the mood model's folds); in each, an inner 5-fold theme
cross-validation of the training photos picks the setting with the best quadrant P@5 (the error model
refitted on each inner training part), which is then refitted on all training photos and applied to the
held-out fold. The held-out figures are never used to choose.

Catalogues: the demo catalogue (334 tracks, human or editorial V/A) and the Spotify-feature catalogue of
the evaluation's catalogue kinds (kinds.catalogues: the TidyTuesday test-split tracks, with weak playlist
labels). Relevance as the evaluation's (relevance.py): the photo's HUMAN quadrant against the track's
(median splits), and the weak playlist mood. Besides those, a graded closeness: NDCG@10 with gain
max(0, 1 - distance from the photo's HUMAN target), the ideal ranking being the oracle's, and the mean
distance of the top 5 from the human target. All macro over the photos' human quadrants, beside chance
and the oracle (the human V/A as the reading, today's matching). Intervals: 90%, resampling whole themes,
of each matcher's difference from today's matching on the same readings.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.stats import norm

from recommender.lab import datasets
from recommender.lab.datasets import default_data_root, load_emotion6, load_oasis
from recommender.lab.evaluation.data import positioned
from recommender.lab.evaluation.metrics import CUTOFF, chance_per_photo, macro_average, ndcg_at
from recommender.lab.evaluation.relevance import emotion_classes, median_split, quadrants
from recommender.lab.evaluation.scoring import build_catalogue, load_strategies
from recommender.lab.labelled_catalogue import demo_tracks
from recommender.lab.playlist_moods import weak_labels
from recommender.pipeline import aligned_arousal
from recommender.tracks import MUSIC_EMOTIONS
from recommender.types import TrackRow

from .mood_kernel import grouped_folds
from .mood_variants import prediction_file
from .train_mood_sources import equate

TOP = CUTOFF  # every metric here looks at the first 10 tracks at most
EXTRAPOLATION = (1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0)
BLENDS = (0.1, 0.2, 0.3, 0.5, 0.7, 1.0)
TIE_BREAK = 1e-6  # w = 1: closeness only orders tracks of equal probability


# --- catalogues -------------------------------------------------------------------------------------------


@dataclass
class Catalogue:
    name: str
    va: np.ndarray  # (n_tracks, 2) catalogue positions
    arousal_stats: tuple[float, float] | None  # what align_arousal uses
    track_quadrant: np.ndarray  # (n_tracks,) median split (relevance.py)
    weak: np.ndarray | None  # (n_tracks,) weak playlist quadrant, -1 none; None: no such labels
    music: np.ndarray | None = None  # (n_tracks,) top music emotion (MUSIC_EMOTIONS index), for Emotion6

    @property
    def centre(self) -> np.ndarray:
        """The catalogue's median V/A: where the track quadrants split."""
        return np.median(self.va, axis=0)

    def target(self, va: np.ndarray) -> np.ndarray:
        """(n, 2) photo V/A -> the target Engine.recommend aims for in "match" mode (scoring.target_of)."""
        return np.stack([va[:, 0], aligned_arousal(va[:, 1], self.arousal_stats)], axis=1)


def build(name: str, rows: Sequence[TrackRow], weak: dict[int, int] | None) -> Catalogue:
    catalogue = build_catalogue(rows, load_strategies(["va_match"]), f"matching-{name}")
    va = np.asarray(catalogue.va, dtype=np.float64)
    track_weak = None
    if weak is not None:
        track_weak = np.array([weak.get(int(t), -1) for t in catalogue.track_ids], dtype=np.int64)
    split = tuple(np.median(va, axis=0))
    quadrant = datasets.quadrants(va[:, 0], va[:, 1], split)
    music = np.asarray(catalogue.music_emotions).argmax(axis=1)
    return Catalogue(name, va, catalogue.arousal_stats, quadrant, track_weak, music)


def catalogues(data: Path) -> list[Catalogue]:
    """The demo catalogue and the Spotify-feature one, as the evaluation's catalogue kinds build them."""
    songs = datasets.load_spotify_songs(data / "spotify_songs" / "spotify_songs.csv")
    moods = {
        s.row.track_id: m.quadrant for s, m in zip(songs, weak_labels(songs), strict=True) if m is not None
    }
    spotify = positioned([s.row for s in songs if s.split == "test"])
    return [build("demo", demo_tracks(), None), build("spotify_features", spotify, moods)]


# --- matchers ---------------------------------------------------------------------------------------------


def closeness(query: np.ndarray, track_va: np.ndarray) -> np.ndarray:
    """(n_photos, n_tracks) 1 - V/A distance (imuse_similarity, unclipped)."""
    d = np.sqrt(((query[:, None, :] - track_va[None, :, :]) ** 2).sum(axis=2))
    return 1.0 - d


def extrapolate(target: np.ndarray, centre: np.ndarray, k: Sequence[float]) -> np.ndarray:
    """centre + k * (target - centre), per axis; k = (1, 1) is the target itself."""
    return centre + np.asarray(k, dtype=np.float64) * (target - centre)


@dataclass
class ErrorModel:
    """The photo's human target given its reading, per axis: human = a + b * reading + N(0, sd^2);
    split: the photos' median human target (where the photo quadrants split)."""

    a: np.ndarray
    b: np.ndarray
    sd: np.ndarray
    split: np.ndarray

    @classmethod
    def fit(cls, reading: np.ndarray, human: np.ndarray, recalibrate: bool) -> ErrorModel:
        if recalibrate:
            b = np.array([np.polyfit(reading[:, j], human[:, j], 1)[0] for j in range(2)])
        else:
            b = np.ones(2)
        a = (human - b * reading).mean(axis=0)
        sd = (human - a - b * reading).std(axis=0, ddof=2 if recalibrate else 1)
        return cls(a, b, np.maximum(sd, 1e-6), np.median(human, axis=0))

    def quadrant(self, human: np.ndarray) -> np.ndarray:
        """(n,) QUADRANTS index of human targets, split at the fitted median."""
        return datasets.quadrants(human[:, 0], human[:, 1], (float(self.split[0]), float(self.split[1])))

    def quadrant_probability(self, reading: np.ndarray) -> np.ndarray:
        """(n, 4) P(the photo's human quadrant), QUADRANTS order, the axes taken as independent."""
        # (n, 2) P(high valence), P(high arousal)
        high = norm.cdf((self.a + self.b * reading - self.split) / self.sd)
        hv, ha = high[:, 0], high[:, 1]
        return np.stack([hv * ha, (1 - hv) * ha, (1 - hv) * (1 - ha), hv * (1 - ha)], axis=1)


@dataclass(frozen=True)
class Setting:
    """One matcher with its parameters. kind: distance | extrapolate | shifted | probability."""

    kind: str
    k: tuple[float, float] = (1.0, 1.0)
    w: float = 0.0
    recalibrate: bool = False
    balanced: bool = False  # P(quadrant) / the training photos' share of it (the metric is macro)

    def label(self) -> str:
        if self.kind == "distance":
            return "distance"
        if self.kind in ("extrapolate", "shifted"):
            return f"{self.kind} k=({self.k[0]:g}, {self.k[1]:g})"
        extra = (" recalibrated" if self.recalibrate else "") + (" balanced" if self.balanced else "")
        return f"probability w={self.w:g}{extra}"


TODAY = Setting("distance")


def scores(
    setting: Setting,
    reading: np.ndarray,
    catalogue: Catalogue,
    fit_reading: np.ndarray,
    fit_human: np.ndarray,
) -> np.ndarray:
    """(n_photos, n_tracks) scores of `setting` for readings (served targets), its fitted parts (the
    photos' median, the error model) from the fitting photos' readings and human targets only."""
    if setting.kind == "distance":
        return np.clip(closeness(reading, catalogue.va), 0.0, 1.0)  # exactly va_match
    if setting.kind == "extrapolate":
        return closeness(extrapolate(reading, catalogue.centre, setting.k), catalogue.va)
    if setting.kind == "shifted":  # the photos' median reading moved onto the catalogue's median first
        moved = reading - np.median(fit_reading, axis=0) + catalogue.centre
        return closeness(extrapolate(moved, catalogue.centre, setting.k), catalogue.va)
    if setting.kind == "probability":
        model = ErrorModel.fit(fit_reading, fit_human, setting.recalibrate)
        p = model.quadrant_probability(reading)
        if setting.balanced:
            share = np.bincount(model.quadrant(fit_human), minlength=4) / len(fit_human)
            p = p / np.maximum(share, 1e-3)
            p = p / p.sum(axis=1, keepdims=True)
        p = p[:, catalogue.track_quadrant]
        near = closeness(reading, catalogue.va)
        return p + TIE_BREAK * near if setting.w >= 1 else setting.w * p + (1 - setting.w) * near
    raise ValueError(f"unknown matcher {setting.kind!r}")


def settings() -> list[Setting]:
    grid = [(kv, ka) for kv in EXTRAPOLATION for ka in EXTRAPOLATION]
    return [
        TODAY,
        *(Setting("extrapolate", k) for k in grid if k != (1.0, 1.0)),
        *(Setting("shifted", k) for k in grid),
        *(
            Setting("probability", w=w, recalibrate=r, balanced=b)
            for w in BLENDS
            for r in (False, True)
            for b in (False, True)
        ),
    ]


FAMILIES: dict[str, Callable[[Setting], bool]] = {
    "today (distance)": lambda s: s == TODAY,
    # fixed, nothing chosen: the photos' median moved onto the catalogue's; the likeliest quadrant first
    "shifted k=(1, 1), fixed": lambda s: s == Setting("shifted"),
    "probability w=1, fixed": lambda s: s == Setting("probability", w=1.0),
    "extrapolate": lambda s: s.kind in ("distance", "extrapolate"),
    "extrapolate, shifted centre": lambda s: s.kind == "shifted",
    "probability": lambda s: s.kind == "probability",
    "chosen among all": lambda s: True,
}


# --- metrics ----------------------------------------------------------------------------------------------


def top_rows(score: np.ndarray, k: int = TOP) -> np.ndarray:
    """(n, k) the best k columns of each row, best first; ties: lower column first (as the evaluation)."""
    k = min(k, score.shape[1])
    part = np.argpartition(-score, k - 1, axis=1)[:, :k]
    order = np.lexsort((part, -np.take_along_axis(score, part, axis=1)), axis=1)
    return np.take_along_axis(part, order, axis=1)


@dataclass
class Judge:
    """Per-photo metrics of rankings against one catalogue, given the photos' human targets."""

    catalogue: Catalogue
    photo_class: np.ndarray  # (n_photos,) human quadrant (median split over all photos)
    human: np.ndarray  # (n_photos, 2) human target
    emotion_class: np.ndarray | None = None  # (n_photos,) mapped top human Emotion6 label (relevance.py)

    def per_photo(self, score: np.ndarray, rows: np.ndarray) -> dict[str, np.ndarray]:
        c = self.catalogue
        cls, human = self.photo_class[rows], self.human[rows]
        out: dict[str, np.ndarray] = {}
        top = top_rows(score)
        hit = c.track_quadrant[top] == cls[:, None]
        relevant = np.bincount(c.track_quadrant, minlength=4)[cls]
        out["quadrant P@5"] = hit[:, :5].mean(axis=1)
        out["quadrant NDCG@10"] = ndcg_at(hit, relevant)
        near = closeness(human, c.va)
        gain = np.clip(near, 0.0, None)  # the oracle's graded view
        got = np.take_along_axis(gain, top, axis=1)
        ideal = -np.sort(-gain, axis=1)[:, :TOP]
        discounts = 1.0 / np.log2(np.arange(2, TOP + 2))
        out["graded NDCG@10"] = (got @ discounts) / (ideal @ discounts)
        out["top-5 distance"] = 1.0 - np.take_along_axis(near, top[:, :5], axis=1).mean(axis=1)
        if c.weak is not None:  # only tracks with a weak label take part (relevance.py)
            cols = np.flatnonzero(c.weak >= 0)
            weak = c.weak[cols]
            top_w = top_rows(score[:, cols])
            hit_w = weak[top_w] == cls[:, None]
            relevant_w = np.bincount(weak, minlength=4)[cls]
            ok = relevant_w > 0  # photos whose class has no labelled track are left out (NaN)
            out["playlist P@5"] = np.where(ok, hit_w[:, :5].mean(axis=1), np.nan)
            out["playlist NDCG@10"] = np.where(ok, ndcg_at(hit_w, relevant_w), np.nan)
        if self.emotion_class is not None and c.music is not None:
            emo = self.emotion_class[rows]
            hit_e = c.music[top] == emo[:, None]
            relevant_e = np.bincount(c.music, minlength=len(MUSIC_EMOTIONS))[emo]
            ok = relevant_e > 0
            out["emotion P@5"] = np.where(ok, hit_e[:, :5].mean(axis=1), np.nan)
            out["emotion NDCG@10"] = np.where(ok, ndcg_at(hit_e, relevant_e), np.nan)
        return out

    def quadrant_p5(self, score: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """(len(rows),) quadrant P@5 alone (the criterion, cheaper than per_photo)."""
        top = top_rows(score, 5)
        return (self.catalogue.track_quadrant[top] == self.photo_class[rows][:, None]).mean(axis=1)

    def chance(self) -> dict[str, float]:
        c = self.catalogue
        counts = np.bincount(c.track_quadrant, minlength=4)[self.photo_class]
        q = chance_per_photo(len(c.va), counts)
        out = {"quadrant P@5": q["P@5"], "quadrant NDCG@10": q["NDCG@10"]}
        if c.weak is not None:
            cols = np.flatnonzero(c.weak >= 0)
            rel = np.bincount(c.weak[cols], minlength=4)[self.photo_class]
            w = chance_per_photo(len(cols), rel)
            ok = rel > 0
            out["playlist P@5"] = np.where(ok, w["P@5"], np.nan)
            out["playlist NDCG@10"] = np.where(ok, w["NDCG@10"], np.nan)
        if self.emotion_class is not None and c.music is not None:
            rel = np.bincount(c.music, minlength=len(MUSIC_EMOTIONS))[self.emotion_class]
            e = chance_per_photo(len(c.va), rel)
            out["emotion P@5"] = np.where(rel > 0, e["P@5"], np.nan)
            out["emotion NDCG@10"] = np.where(rel > 0, e["NDCG@10"], np.nan)
        return {k: self.macro(v, by=by_of(k, self)) for k, v in out.items()}

    def macro(
        self, values: np.ndarray, rows: np.ndarray | None = None, by: np.ndarray | None = None
    ) -> float:
        """Macro over the photos' human quadrants (by: other classes, e.g. the emotion's)."""
        by = self.photo_class if by is None else by
        cls = by if rows is None else by[rows]
        ok = ~np.isnan(values)
        return macro_average(values[ok], cls[ok])


# --- nested cross-validation ------------------------------------------------------------------------------

CRITERION = "quadrant P@5"


def inner_criterion(
    candidates: Sequence[Setting],
    reading: np.ndarray,
    judge: Judge,
    rows: np.ndarray,
    themes: np.ndarray,
    seed: int,
) -> np.ndarray:
    """(n_candidates,) macro quadrant P@5 over `rows`, each part of an inner 5-fold theme cross-validation
    ranked with what was fitted on the other parts."""
    inner = grouped_folds(themes[rows], 5, seed)
    found = np.zeros((len(candidates), len(rows)))
    for f in range(5):
        fit, test = rows[inner != f], rows[inner == f]
        for i, s in enumerate(candidates):
            score = scores(s, reading[test], judge.catalogue, reading[fit], judge.human[fit])
            found[i, inner == f] = judge.quadrant_p5(score, test)
    return np.array([judge.macro(v, rows) for v in found])


def out_of_fold(
    families: Mapping[str, Sequence[Setting]],
    reading: np.ndarray,
    judge: Judge,
    themes: np.ndarray,
    seed: int = 0,
) -> dict[str, tuple[dict[str, np.ndarray], list[str]]]:
    """family -> (per-photo metrics of the setting it chose on each held-out fold's training themes, the
    label of each fold's choice). A family of one setting is applied as is."""
    every = list(dict.fromkeys(s for members in families.values() for s in members))
    folds = grouped_folds(themes, 5, seed)
    out: dict[str, tuple[dict[str, np.ndarray], list[str]]] = {f: ({}, []) for f in families}
    for f in range(5):
        train, test = np.flatnonzero(folds != f), np.flatnonzero(folds == f)
        chosen_by = {}
        if any(len(m) > 1 for m in families.values()):
            crit = dict(
                zip(every, inner_criterion(every, reading, judge, train, themes, seed + 1), strict=True)
            )
        for family, members in families.items():
            # ties: the earlier setting (today's matching first)
            best = members[0] if len(members) == 1 else max(members, key=lambda s: crit[s])
            chosen_by[family] = best
        for family, best in chosen_by.items():
            metrics, labels = out[family]
            labels.append(best.label())
            score = scores(best, reading[test], judge.catalogue, reading[train], judge.human[train])
            for name, v in judge.per_photo(score, test).items():
                metrics.setdefault(name, np.full(len(reading), np.nan))[test] = v
    return out


def theme_interval(
    judge: Judge,
    base: np.ndarray,
    other: np.ndarray,
    themes: np.ndarray,
    draws: int = 2000,
    by: np.ndarray | None = None,
) -> list[float]:
    """90% interval of macro(other) - macro(base), resampling whole themes."""
    members = [np.flatnonzero(themes == t) for t in np.unique(themes)]
    rng = np.random.default_rng(0)
    diffs = []
    for _ in range(draws):
        rows = np.concatenate([members[i] for i in rng.integers(0, len(members), len(members))])
        diffs.append(judge.macro(other[rows], rows, by) - judge.macro(base[rows], rows, by))
    lo, hi = np.nanpercentile(diffs, [5, 95])
    return [round(float(lo), 4), round(float(hi), 4)]


# --- the run ----------------------------------------------------------------------------------------------


def human_va(data: Path) -> tuple[np.ndarray, np.ndarray]:
    """OASIS human V/A on the served footing (as mood_quadrant), and each photo's theme."""
    e6, oa = load_emotion6(data / "emotion6"), load_oasis(data / "oasis")
    is_oasis = np.arange(len(e6.paths) + len(oa.paths)) >= len(e6.paths)
    va = np.stack(
        [
            equate(np.concatenate([e6.valence, oa.valence]), is_oasis)[is_oasis],
            equate(np.concatenate([e6.arousal, oa.arousal]), is_oasis)[is_oasis],
        ],
        axis=1,
    )
    return va, np.asarray(oa.theme_ids)


def evaluate(
    readings: dict[str, np.ndarray], human: np.ndarray, themes: np.ndarray, cats: Iterable[Catalogue]
) -> dict[str, object]:
    out: dict[str, object] = {}
    every = settings()
    families = {f: [s for s in every if keep(s)] for f, keep in FAMILIES.items()}
    photo_class = quadrants(human, median_split(human))
    for c in cats:
        judge = Judge(c, photo_class, c.target(human))
        everyone = np.arange(len(human))
        oracle = judge.per_photo(scores(TODAY, judge.human, c, judge.human, judge.human), everyone)
        block: dict[str, object] = {
            "chance": judge.chance(),
            "oracle (human V/A, today's matching)": {k: round(judge.macro(v), 4) for k, v in oracle.items()},
        }
        for name, va in readings.items():
            t0 = time.perf_counter()
            found = out_of_fold(families, c.target(va), judge, themes)
            base = found["today (distance)"][0]
            rows: dict[str, object] = {}
            for family, (metrics, chosen) in found.items():
                rows[family] = {
                    **{k: round(judge.macro(v), 4) for k, v in metrics.items()},
                    "vs today (90%)": {
                        k: theme_interval(judge, base[k], metrics[k], themes) for k in metrics
                    },
                    "chosen per fold": chosen,
                }
            print(json.dumps({c.name: {name: rows}}), file=sys.stderr)
            print(f"{c.name} / {name}: {time.perf_counter() - t0:.0f} s", file=sys.stderr)
            block[name] = rows
        out[c.name] = block
    return out


def emotion6_check(
    data: Path, predictions: Path, names: Sequence[str], cats: Iterable[Catalogue]
) -> dict[str, object]:
    """The fixed settings on Emotion6 photos read by the same variants trained on OASIS alone (the lab's
    OASIS -> Emotion6 direction), for the emotion relevance OASIS lacks. Fitted parts (the photos' median
    reading, the error model) come from the OASIS out-of-fold readings: nothing is fitted on Emotion6.
    Intervals resample photos (Emotion6 has no themes)."""
    e6, oa = load_emotion6(data / "emotion6"), load_oasis(data / "oasis")
    is_oasis = np.arange(len(e6.paths) + len(oa.paths)) >= len(e6.paths)
    both = np.stack(
        [
            equate(np.concatenate([e6.valence, oa.valence]), is_oasis),
            equate(np.concatenate([e6.arousal, oa.arousal]), is_oasis),
        ],
        axis=1,
    )
    human6, human_oa = both[~is_oasis], both[is_oasis]
    photo_class = quadrants(human6, median_split(human6))
    emotion_class = emotion_classes(e6.emotions)
    fixed = [TODAY, Setting("shifted"), Setting("probability", w=1.0)]
    out: dict[str, object] = {}
    for c in cats:
        judge = Judge(c, photo_class, c.target(human6), emotion_class)
        block: dict[str, object] = {"chance": judge.chance()}
        for name in names:
            with np.load(prediction_file(predictions, name)) as saved:
                reading, fit = c.target(saved["oasis_to_e6"]), c.target(saved["oof"])
            everyone = np.arange(len(reading))
            found = {
                s.label(): judge.per_photo(scores(s, reading, c, fit, c.target(human_oa)), everyone)
                for s in fixed
            }
            base = found[TODAY.label()]
            block[name] = {
                label: {
                    **{k: round(judge.macro(v, by=by_of(k, judge)), 4) for k, v in m.items()},
                    "vs today (90%)": {
                        k: theme_interval(judge, base[k], m[k], everyone, by=by_of(k, judge)) for k in m
                    },
                }
                for label, m in found.items()
            }
        out[c.name] = block
    return out


def quadrant_ceiling(
    readings: dict[str, np.ndarray], human: np.ndarray, themes: np.ndarray
) -> dict[str, dict[str, float]]:
    """How well the 2-D reading alone tells the photo's human quadrant (macro accuracy). Any ranking made
    from the reading has an expected P@5 of at most max_q P(quadrant q | reading), the accuracy of the
    best classifier of the quadrant from the reading: this bounds every matcher here.
    - "split at the training photos' median": the reading's own quadrant, out of fold;
    - "thresholds chosen on all photos": the best axis-parallel split, chosen on the photos it is judged
      on (optimistic);
    - "2-D logistic, out of fold": a class-balanced multinomial logistic regression on the reading's
      quadratic terms, fitted on the training themes of each outer fold."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import PolynomialFeatures, StandardScaler

    cls = quadrants(human, median_split(human))
    folds = grouped_folds(themes, 5, 0)
    out: dict[str, dict[str, float]] = {}
    for name, r in readings.items():
        own = np.zeros(len(r), dtype=np.int64)
        logistic = np.zeros(len(r), dtype=np.int64)
        for f in range(5):
            train, test = folds != f, folds == f
            own[test] = quadrants(r[test], median_split(r[train]))
            poly = PolynomialFeatures(2, include_bias=False).fit(r[train])
            scale = StandardScaler().fit(poly.transform(r[train]))
            model = LogisticRegression(class_weight="balanced", max_iter=1000)
            model.fit(scale.transform(poly.transform(r[train])), cls[train])
            logistic[test] = model.predict(scale.transform(poly.transform(r[test])))
        grid = [np.quantile(r[:, j], np.linspace(0.2, 0.8, 61)) for j in range(2)]
        best = max(
            macro_average(quadrants(r, (float(tv), float(ta))) == cls, cls)
            for tv in grid[0]
            for ta in grid[1]
        )
        out[name] = {
            "split at the training photos' median": round(macro_average(own == cls, cls), 4),
            "thresholds chosen on all photos (optimistic)": round(best, 4),
            "2-D logistic, out of fold": round(macro_average(logistic == cls, cls), 4),
        }
    return out


def by_of(metric: str, judge: Judge) -> np.ndarray | None:
    """The classes a metric is macro-averaged over: the emotion's for the emotion relevance."""
    return judge.emotion_class if metric.startswith("emotion") else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=default_data_root())
    parser.add_argument("--predictions", type=Path, required=True, help="mood_heads' predictions folder")
    parser.add_argument(
        "--variants",
        default="mood-v3 inputs, one standardisation;Lite2, plain",
        help="names separated by ';'",
    )
    parser.add_argument("--catalogues", default="demo,spotify_features")
    parser.add_argument(
        "--blend",
        type=float,
        default=0.0,
        help="what-if: each reading moved this far toward the human V/A (a better mood model; not a result)",
    )
    parser.add_argument("--out", type=Path)
    parser.add_argument("--ceiling", action="store_true", help="only how well the reading tells the quadrant")
    parser.add_argument(
        "--emotion6",
        action="store_true",
        help="the fixed settings on Emotion6 (OASIS-trained readings) instead",
    )
    args = parser.parse_args(argv)
    human, themes = human_va(args.data)
    readings = {}
    for name in filter(None, args.variants.split(";")):
        with np.load(prediction_file(args.predictions, name)) as saved:
            readings[name] = (1 - args.blend) * saved["oof"] + args.blend * human
    wanted = set(args.catalogues.split(","))
    cats = [c for c in catalogues(args.data) if c.name in wanted]
    if args.ceiling:
        print(json.dumps(quadrant_ceiling(readings, human, themes), indent=1))
        return 0
    if args.emotion6:
        result = emotion6_check(args.data, args.predictions, list(readings), cats)
    else:
        result = evaluate(readings, human, themes, cats)
    text = json.dumps(result, indent=1, default=float)
    if args.out:
        args.out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
