"""Train the reranker from ratings and judge a candidate against the served version.

Ratings arrive as RatingSet (one row per rating: the engine's score and strategies' scores of the rated
item, the photo's and the track's mood, up or down, when, which run). The newest HELD_OUT share (by time)
is never trained on: it decides whether a candidate beats the active version (ROC AUC of its scores for
ups against downs). Two established learners are tried, scikit-learn's logistic regression and LightGBM's
LambdaRank (ratings grouped by run); the one with the better AUC on the newest part of the training share
is kept, and both figures go into the card. A fixed offline check (mood agreement on a synthetic grid of
photo moods against a fixed catalogue of track moods, relevance = same valence/arousal quadrant) must not
fall by more than OFFLINE_TOLERANCE, so a reranker learned from random or adversarial ratings is refused.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from recommender.mood import PHOTO_AROUSAL_MEAN
from recommender.reranker import Reranker, feature_matrix

HELD_OUT = 0.2
MIN_RATINGS = 40
MIN_GAIN = 0.005  # the candidate's held-out AUC must beat the active's by more than this
OFFLINE_TOLERANCE = 0.02  # ... and its offline P@5 may fall at most this much below the active's
SEED = 0

ScoreFn = Callable[[np.ndarray, list[str]], np.ndarray]


@dataclass
class RatingSet:
    engine_scores: np.ndarray  # (n,)
    strategy_scores: dict[str, np.ndarray]  # name -> (n,), NaN where the strategy gave no score
    photo_va: np.ndarray  # (n, 2)
    track_va: np.ndarray  # (n, 2), NaN where the track has no position
    labels: np.ndarray  # (n,) 1 = up, 0 = down
    groups: np.ndarray  # (n,) run ids
    times: np.ndarray  # (n,) seconds, for the split by time
    extra: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.labels)

    def take(self, rows: np.ndarray) -> RatingSet:
        return RatingSet(
            self.engine_scores[rows],
            {k: v[rows] for k, v in self.strategy_scores.items()},
            self.photo_va[rows],
            self.track_va[rows],
            self.labels[rows],
            self.groups[rows],
            self.times[rows],
            {k: v[rows] for k, v in self.extra.items()},  # per-rating arrays: users, track ids
        )

    def split_by_time(self, share: float) -> tuple[RatingSet, RatingSet]:
        order = np.argsort(self.times, kind="stable")
        cut = round(len(order) * (1 - share))
        return self.take(order[:cut]), self.take(order[cut:])

    def features(self, strategies: Sequence[str]) -> np.ndarray:
        return feature_matrix(
            strategies, self.engine_scores, self.strategy_scores, self.photo_va, self.track_va
        )


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """ROC AUC of scores for ups against downs; 0.5 when one class is missing."""
    from sklearn.metrics import roc_auc_score

    if labels.min() == labels.max():
        return 0.5
    return float(roc_auc_score(labels, scores))


def fit_logistic(data: RatingSet, strategies: Sequence[str], version: str) -> Reranker:
    from sklearn.linear_model import LogisticRegression

    x = data.features(strategies)
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    model = LogisticRegression(C=1.0, max_iter=1000, random_state=SEED).fit((x - mean) / scale, data.labels)
    return Reranker(
        version,
        "logistic",
        tuple(strategies),
        mean,
        scale,
        model.coef_[0].astype(np.float64),
        float(model.intercept_[0]),
    )


def fit_lambdarank(data: RatingSet, strategies: Sequence[str], version: str) -> Reranker:
    import lightgbm

    order = np.argsort(data.groups, kind="stable")
    x, y, g = data.features(strategies)[order], data.labels[order], data.groups[order]
    _, sizes = np.unique(g, return_counts=True)
    ranker = lightgbm.LGBMRanker(
        objective="lambdarank",
        n_estimators=100,
        learning_rate=0.05,
        num_leaves=15,
        min_child_samples=10,
        random_state=SEED,
        # the same model for the same ratings on any machine (LightGBM's result depends on its thread count)
        deterministic=True,
        force_row_wise=True,
        n_jobs=2,
        verbose=-1,
    )
    ranker.fit(x, y, group=sizes)
    return Reranker(version, "lambdarank", tuple(strategies), booster=ranker.booster_)


LEARNERS = {"logistic": fit_logistic, "lambdarank": fit_lambdarank}


def offline_check(score: Callable[[np.ndarray], np.ndarray], strategies: Sequence[str]) -> float:
    """Macro quadrant P@5 on a fixed synthetic set in the serving input space: 24 photo moods on a grid as the
    mood model reads them (valence 0.5 +- 0.3, arousal on Emotion6's narrow scale, 0.507 +- 0.2) against 200
    track moods drawn once (seed 0); relevant = the same quadrant (the photo's around that centre). Every
    strategy scores a track by its closeness to the photo's mood, as noisily as real strategies (sd 0.25)."""
    rng = np.random.default_rng(0)
    tracks = rng.uniform(0.02, 0.98, size=(200, 2))
    noise = {s: rng.normal(0, 0.25, size=(24, 200)) for s in strategies}
    grid = [(v, a) for v in (-1, -0.5, 0.5, 1) for a in (-1, -0.6, -0.2, 0.2, 0.6, 1) if True][:24]
    hits = []
    for p, (dv, da) in enumerate(grid):
        v, a = 0.5 + 0.3 * dv, PHOTO_AROUSAL_MEAN + 0.2 * da
        closeness = 1 - np.hypot(tracks[:, 0] - (0.5 + 0.5 * dv), tracks[:, 1] - (0.5 + 0.5 * da)) / np.sqrt(
            2
        )
        scores = {s: np.clip(closeness + noise[s][p], 0, 1) for s in strategies}
        engine = np.mean([scores[s] for s in strategies], axis=0) if strategies else closeness
        x = feature_matrix(strategies, engine, scores, np.array([v, a]), tracks)
        top = np.argsort(-score(x), kind="stable")[:5]
        same = ((tracks[top, 0] > 0.5) == (dv > 0)) & ((tracks[top, 1] > 0.5) == (da > 0))
        hits.append(same.mean())
    return float(np.mean(hits))


def engine_score_only(features: np.ndarray) -> np.ndarray:
    """The ranking with no reranker: the engine's fused score (feature 0)."""
    return features[:, 0]


@dataclass
class Outcome:
    reranker: Reranker | None
    passed: bool
    reason: str
    metrics: dict[str, Any]


OfflineCheck = Callable[[Callable[[np.ndarray], np.ndarray], Sequence[str]], float]


def train_and_judge(
    data: RatingSet,
    active: Reranker | None,
    version: str,
    progress: Callable[[int, str], None] = lambda p, n: None,
    check: OfflineCheck = offline_check,
) -> Outcome:
    """Train a candidate on all but the newest ratings and judge it against the active reranker (or, with
    none active, the engine's own score) on those newest ratings and on the offline check."""
    metrics: dict[str, Any] = {"ratings": len(data), "ups": int(data.labels.sum())}
    if len(data) < MIN_RATINGS or data.labels.min() == data.labels.max():
        return Outcome(
            None,
            False,
            f"{len(data)} usable ratings ({metrics['ups']} up): at least {MIN_RATINGS} "
            "with both ups and downs are needed to train",
            metrics,
        )
    strategies = sorted(data.strategy_scores)
    train, held_out = data.split_by_time(HELD_OUT)
    fit_part, choose_part = train.split_by_time(HELD_OUT)
    tried: dict[str, float] = {}
    for name, fit in LEARNERS.items():
        progress(20 + 20 * len(tried), f"fitting {name}")
        try:
            model = fit(fit_part, strategies, version)
            tried[name] = round(auc(model.score(choose_part.features(strategies)), choose_part.labels), 4)
        except Exception as exc:  # e.g. lightgbm missing, or too few groups
            tried[name] = float("nan")
            metrics[f"{name}_error"] = str(exc)[:200]
    learner = max((n for n in tried if tried[n] == tried[n]), key=lambda n: tried[n], default="logistic")
    metrics["learner_choice_auc"] = tried
    metrics["learner"] = learner
    progress(60, f"refitting {learner}")
    candidate = LEARNERS[learner](train, strategies, version)

    progress(75, "evaluating against the active version")
    x_held = held_out.features(strategies)
    candidate_auc = auc(candidate.score(x_held), held_out.labels)
    if active is not None:
        active_auc = auc(active.score(held_out.features(active.strategies)), held_out.labels)
        active_offline = check(active.score, active.strategies)
    else:
        active_auc = auc(held_out.engine_scores, held_out.labels)
        active_offline = check(engine_score_only, strategies)
    candidate_offline = check(candidate.score, strategies)
    metrics.update(
        held_out_ratings=len(held_out),
        held_out_from=float(held_out.times.min()),
        held_out_auc=round(candidate_auc, 4),
        active_held_out_auc=round(active_auc, 4),
        offline_p_at_5=round(candidate_offline, 4),
        active_offline_p_at_5=round(active_offline, 4),
        min_gain=MIN_GAIN,
        offline_tolerance=OFFLINE_TOLERANCE,
    )
    candidate.card = dict(metrics)
    if candidate_auc <= active_auc + MIN_GAIN:
        reason = (
            f"held-out AUC {candidate_auc:.3f} does not beat the active version's {active_auc:.3f} "
            f"by more than {MIN_GAIN}"
        )
        return Outcome(candidate, False, reason, metrics)
    if candidate_offline < active_offline - OFFLINE_TOLERANCE:
        reason = (
            f"offline check P@5 {candidate_offline:.3f} falls below the active version's "
            f"{active_offline:.3f} by more than {OFFLINE_TOLERANCE}"
        )
        return Outcome(candidate, False, reason, metrics)
    return Outcome(candidate, True, "", metrics)
