"""Train the reranker from ratings and judge a candidate against the served version.

Ratings arrive as RatingSet (one row per rating: the engine's score and strategies' scores of the rated
item, the photo's and the track's mood, up or down, when, which run). The newest HELD_OUT share (by time)
is never trained on: it decides whether a candidate beats the active version (ROC AUC of its scores for
ups against downs, by a gain beyond the noise of those ratings: GAIN_CONFIDENCE). Two established
learners are tried, scikit-learn's logistic regression and LightGBM's LambdaRank (ratings grouped by
run); the one with the better AUC on the newest part of the training share
is kept, and both figures go into the card. On the fixed offline evaluation (rerank_offline.py: held-out
development photos with human V/A against a catalogue with human mood labels) neither its quadrant P@5 nor
its NDCG@10 may fall more than OFFLINE_TOLERANCE below the active version's, with the photos' mood as read
or as known. Without that evaluation no candidate passes.

Last, the ratings themselves must agree in direction with the offline evaluation's relevance (the photo's
and the track's mood in the same quadrant, each split at its own median): over every rating with a track
position, the mood agreement of the pair (mood_agreement: the photo's mood as read and the track's, each
less the ratings' median, multiplied per axis and summed) must rank ups above downs, AUC above 0.5 with
GAIN_CONFIDENCE (the same paired bootstrap over runs). This is a rule about the data, not the model:
random ratings carry no such direction and adversarial ones (the truth inverted) carry the opposite one,
so nothing learned from them is activated, however the learned model happens to score offline. The
offline no-fall check alone does not ensure that: inverted labels negate a logistic model, and the
negation of a truthful model that falls offline can rise there (the feedback simulator at seed 2, 2,000
ratings: offline P@5 0.494 -> 0.497, with the mood known 0.494 -> 0.565).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from recommender.lab.rerank_offline import MOOD_KNOWN, OfflineEval, Unavailable
from recommender.lab.stats import GAIN_CONFIDENCE, paired_gain_lower_bound
from recommender.reranker import Reranker, feature_matrix

HELD_OUT = 0.2
MIN_RATINGS = 40
# The candidate's held-out AUC must beat the active's with stats.GAIN_CONFIDENCE (one-sided; a paired
# bootstrap over the held-out ratings' runs, stats.paired_gain_lower_bound): a gain within the noise of a
# few hundred ratings (random ratings make such gains half the time) does not count.
OFFLINE_TOLERANCE = 0.02  # ... and its offline P@5 and NDCG@10 may fall at most this much below the active's
# ... and the ratings' mood agreement must predict their ups (AUC > 0.5) with GAIN_CONFIDENCE.
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


def weighted_auc(scores: np.ndarray, labels: np.ndarray) -> Callable[[np.ndarray], float]:
    """AUC of scores under row weights (ties count half), sorting once for every weighting."""
    order = np.argsort(scores, kind="stable")
    ordered, up = scores[order], labels[order].astype(np.float64)
    tie = np.cumsum(np.r_[True, ordered[1:] != ordered[:-1]]) - 1

    def under(weights: np.ndarray) -> float:
        w = weights[order]
        ups, downs = np.bincount(tie, w * up), np.bincount(tie, w * (1 - up))
        below = np.cumsum(downs) - downs
        pairs = ups.sum() * downs.sum()
        return float((ups * (below + 0.5 * downs)).sum() / pairs) if pairs > 0 else 0.5

    return under


def auc_gain_lower_bound(
    candidate: np.ndarray, active: np.ndarray, labels: np.ndarray, groups: np.ndarray
) -> float:
    """The one-sided GAIN_CONFIDENCE lower bound of (candidate AUC - active AUC) on the same ratings: a
    paired bootstrap drawing whole runs (the ratings of one run are not independent)."""
    of_candidate, of_active = weighted_auc(candidate, labels), weighted_auc(active, labels)
    return paired_gain_lower_bound(lambda weights: of_candidate(weights) - of_active(weights), groups)


def weighted_auc_per_user(
    scores: np.ndarray, labels: np.ndarray, users: np.ndarray
) -> Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Each user's AUC of scores under row weights (ties count half), for all users at once, sorting
    once: weights -> (AUC per user, in np.unique(users) order; whether the user has weighted ups and
    downs)."""
    _, user_of = np.unique(users, return_inverse=True)
    n_users = int(user_of.max()) + 1 if len(user_of) else 0
    order = np.lexsort((scores, user_of))
    ordered_user, ordered_score = user_of[order], scores[order]
    up = labels[order].astype(np.float64)
    new_tie = np.r_[True, (ordered_score[1:] != ordered_score[:-1]) | (ordered_user[1:] != ordered_user[:-1])]
    tie = np.cumsum(new_tie) - 1
    tie_user = ordered_user[new_tie]

    def under(weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        w = weights[order]
        ups, downs = np.bincount(tie, w * up), np.bincount(tie, w * (1 - up))
        before = np.cumsum(downs) - downs  # downs ranked below, from every user so far ...
        user_downs = np.bincount(tie_user, downs, minlength=n_users)
        start = np.cumsum(user_downs) - user_downs  # ... less those of the users before this one
        concordant = np.bincount(tie_user, ups * (before - start[tie_user] + 0.5 * downs), minlength=n_users)
        pairs = np.bincount(tie_user, ups, minlength=n_users) * user_downs
        valid = pairs > 0
        return np.where(valid, concordant / np.where(valid, pairs, 1.0), 0.5), valid

    return under


def within_user_auc_gain_lower_bound(
    after: np.ndarray, before: np.ndarray, labels: np.ndarray, users: np.ndarray, groups: np.ndarray
) -> float:
    """The one-sided GAIN_CONFIDENCE lower bound of the mean within-user AUC gain (after - before, each
    user with ups and downs counting once), by the same paired bootstrap as auc_gain_lower_bound: whole
    runs drawn (a run is one user's), so a user's gain is as uncertain as their few held-out runs make it."""
    of_after = weighted_auc_per_user(after, labels, users)
    of_before = weighted_auc_per_user(before, labels, users)

    def gain(weights: np.ndarray) -> float:
        (auc_after, valid), (auc_before, _) = of_after(weights), of_before(weights)
        return float((auc_after - auc_before)[valid].mean()) if valid.any() else 0.0

    return paired_gain_lower_bound(gain, groups)


def mood_agreement(data: RatingSet) -> tuple[np.ndarray, np.ndarray]:
    """Per rating with a track position (the rows returned), how far the photo's mood as read and the
    track's agree: per axis (valence, arousal) the product of each one's deviation from the median of
    these ratings' photos and tracks respectively, summed. Positive where both lie on the same side of
    their medians, as the offline evaluation's quadrant relevance splits photos and tracks each at its
    own median (recommender/lab/evaluation/relevance.py)."""
    rows = np.flatnonzero(~np.isnan(data.track_va).any(axis=1) & ~np.isnan(data.photo_va).any(axis=1))
    if not len(rows):
        return np.zeros(0), rows
    photo, track = data.photo_va[rows], data.track_va[rows]
    deviations = (photo - np.median(photo, axis=0)) * (track - np.median(track, axis=0))
    return deviations.sum(axis=1), rows


def ratings_agreement(data: RatingSet) -> tuple[float, float]:
    """The AUC of mood_agreement for ups against downs over every rating with a track position, and the
    one-sided GAIN_CONFIDENCE lower bound of its excess over 0.5 (the paired bootstrap over whole runs of
    auc_gain_lower_bound, against a constant score); (0.5, 0.0) when no rating can be read so."""
    agreement, rows = mood_agreement(data)
    labels = data.labels[rows]
    if not len(rows) or labels.min() == labels.max():
        return 0.5, 0.0
    flat = np.zeros(len(rows))
    return auc(agreement, labels), auc_gain_lower_bound(agreement, flat, labels, data.groups[rows])


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


def engine_score_only(features: np.ndarray) -> np.ndarray:
    """The ranking with no reranker: the engine's fused score (feature 0)."""
    return features[:, 0]


@dataclass
class Outcome:
    reranker: Reranker | None
    passed: bool
    reason: str
    metrics: dict[str, Any]


def train_and_judge(
    data: RatingSet,
    active: Reranker | None,
    version: str,
    offline: OfflineEval | Unavailable,
    progress: Callable[[int, str], None] = lambda p, n: None,
) -> Outcome:
    """Train a candidate on all but the newest ratings and judge it against the active reranker (or, with
    none active, the engine's own score) on those newest ratings and on the fixed offline evaluation
    (offline: rerank_offline.load's result, or why it could not be loaded)."""
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
    candidate_scores = candidate.score(held_out.features(strategies))
    if active is not None:
        active_scores = active.score(held_out.features(active.strategies))
    else:
        active_scores = held_out.engine_scores
    candidate_auc = auc(candidate_scores, held_out.labels)
    active_auc = auc(active_scores, held_out.labels)
    gain_bound = auc_gain_lower_bound(candidate_scores, active_scores, held_out.labels, held_out.groups)
    metrics.update(
        held_out_ratings=len(held_out),
        held_out_from=float(held_out.times.min()),
        held_out_auc=round(candidate_auc, 4),
        active_held_out_auc=round(active_auc, 4),
        held_out_gain_lower_bound=round(gain_bound, 4),
        gain_confidence=GAIN_CONFIDENCE,
        offline_tolerance=OFFLINE_TOLERANCE,
    )
    agreement_auc, agreement_bound = ratings_agreement(data)
    metrics.update(
        ratings_mood_agreement_auc=round(agreement_auc, 4),
        ratings_mood_agreement_lower_bound=round(agreement_bound, 4),
    )
    progress(85, "the fixed offline evaluation")
    offline_problem = ""
    try:
        if isinstance(offline, Unavailable):
            raise offline
        candidate_offline = offline.evaluate(candidate.score, strategies)
        active_offline = (
            offline.evaluate(active.score, active.strategies)
            if active is not None
            else offline.evaluate(engine_score_only, strategies)
        )
        metrics.update(
            offline={"candidate": candidate_offline, "active": active_offline, "photos": len(offline)}
        )
    except Unavailable as exc:
        offline_problem = f"the fixed offline evaluation cannot be used: {exc}"
        metrics.update(offline={"unavailable": str(exc)})
    candidate.card = dict(metrics)
    if gain_bound <= 0:
        reason = (
            f"held-out AUC {candidate_auc:.3f} against the active version's {active_auc:.3f} on the "
            f"{len(held_out)} newest ratings: not a gain with {GAIN_CONFIDENCE:.0%} confidence "
            f"(lower bound {gain_bound:+.3f})"
        )
        return Outcome(candidate, False, reason, metrics)
    if offline_problem:
        return Outcome(candidate, False, f"{offline_problem}; no candidate is activated without it", metrics)
    for name in active_offline:
        if candidate_offline[name] < active_offline[name] - OFFLINE_TOLERANCE:
            label = (
                name.replace(MOOD_KNOWN, "")
                .replace("p_at_5", "quadrant P@5")
                .replace("ndcg_at_10", "NDCG@10")
            )
            with_mood = " with the photos' mood known" if name.endswith(MOOD_KNOWN) else ""
            reason = (
                f"on the fixed offline evaluation{with_mood} its {label} {candidate_offline[name]:.3f} falls "
                f"below the active version's {active_offline[name]:.3f} by more than {OFFLINE_TOLERANCE}"
            )
            return Outcome(candidate, False, reason, metrics)
    if agreement_bound <= 0:
        reason = (
            f"the ratings do not follow the fixed offline evaluation's relevance: the mood agreement of "
            f"photo and track ranks ups above downs with AUC {agreement_auc:.3f}, not above 0.5 with "
            f"{GAIN_CONFIDENCE:.0%} confidence (lower bound {agreement_bound:+.3f}); nothing learned from "
            "them is activated"
        )
        return Outcome(candidate, False, reason, metrics)
    return Outcome(candidate, True, "", metrics)
