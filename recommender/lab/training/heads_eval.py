"""Image -> music metrics of a saved heads artifact on the val and test splits (the card's "metrics"), and
the val MRR the joint trainer stops early on. The ranking metrics and their chance values are those of
the evaluation (recommender.lab.evaluation.metrics); here they are rounded to 4 places."""

from __future__ import annotations

from typing import Any

import numpy as np

from recommender.heads.model import HeadsModel
from recommender.heads.track_inputs import feature_vectors, feature_weights, l2_rows
from recommender.lab.evaluation.metrics import (
    chance_reciprocal_rank,
    macro_average,
    precision_at,
    ranked_relevance,
    reciprocal_rank,
)

from .heads_data import HeadsData, PhotoSet


def retrieval_metrics(
    scores: np.ndarray, query_labels: np.ndarray, item_labels: np.ndarray
) -> dict[str, float]:
    """P@1, P@5, MRR macro-averaged over query classes; scores is (n_queries, n_items), a ranked item is
    relevant when its label equals the query's, ties rank the lower item row first."""
    ranked = ranked_relevance(scores, item_labels[None, :] == query_labels[:, None])
    per = {
        "p_at_1": precision_at(ranked, 1),
        "p_at_5": precision_at(ranked, 5),
        "mrr": reciprocal_rank(ranked),
    }
    return {k: round(macro_average(v, query_labels), 4) for k, v in per.items()}


def chance_metrics(query_labels: np.ndarray, item_labels: np.ndarray) -> dict[str, float]:
    """The same macro metrics for a random ranking (exact expectations)."""
    n = len(item_labels)
    relevant = [int((item_labels == c).sum()) for c in np.unique(query_labels)]
    share = round(float(np.mean([m / n for m in relevant])), 4)
    mrr = round(float(np.mean([chance_reciprocal_rank(n, m) for m in relevant])), 4)
    return {"p_at_1": share, "p_at_5": share, "mrr": mrr}


def evaluate(model: HeadsModel, photos: PhotoSet, data: HeadsData) -> dict[str, Any]:
    """Relevance: the track's feature quadrant (the heads-v1 definition); "playlist_mood": only the split's
    tracks with a weak playlist label, relevant when that label equals the photo's quadrant."""
    p_idx, t_idx, weak = data.p_idx, data.t_idx, data.weak
    weights = feature_weights() / feature_weights().sum()
    baseline = data.targets[p_idx["train"]].mean(axis=0)
    track_feat = feature_vectors(data.rows, model.scaler)
    track_joint = model.project_track_inputs(data.track_x)
    metrics: dict[str, Any] = {}
    for s in ("val", "test"):
        p, t = p_idx[s], t_idx[s]
        if len(p) == 0 or len(t) == 0:
            continue
        pred = model.predict_features(photos.inputs[p])
        targets = data.targets[p]
        ql, il = data.photo_labels[p], data.feature_labels[t]
        joint_scores = model.project_photos(photos.embeddings[p]) @ track_joint[t].T
        metrics[s] = {
            "photos": len(p),
            "tracks": len(t),
            "feature_head": {
                "weighted_mse": round(float((((pred - targets) ** 2) * weights).sum(1).mean()), 4),
                "weighted_mse_predict_train_mean": round(
                    float((((baseline - targets) ** 2) * weights).sum(1).mean()), 4
                ),
                "image_to_music": retrieval_metrics(l2_rows(pred) @ track_feat[t].T, ql, il),
            },
            "joint_embedding": {
                "image_to_music": retrieval_metrics(joint_scores, ql, il),
                "music_to_image": retrieval_metrics(joint_scores.T, il, ql),
            },
            "chance_image_to_music": chance_metrics(ql, il),
            "chance_music_to_image": chance_metrics(il, ql),
        }
        split_weak = weak[t]
        labelled = np.flatnonzero(split_weak >= 0)
        if len(labelled):
            wl = split_weak[labelled]
            mp = np.isin(ql, wl)  # photos whose quadrant has a labelled track in this split
            metrics[s]["playlist_mood"] = {
                "tracks": len(labelled),
                "photos": int(mp.sum()),
                "joint_embedding": retrieval_metrics(joint_scores[np.ix_(mp, labelled)], ql[mp], wl),
                "feature_head": retrieval_metrics(
                    (l2_rows(pred) @ track_feat[t].T)[np.ix_(mp, labelled)], ql[mp], wl
                ),
                "chance": chance_metrics(ql[mp], wl),
            }
    return metrics
