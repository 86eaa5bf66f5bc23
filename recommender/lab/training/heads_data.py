"""The heads trainer's data: its configuration, the photos, and what train_heads assembles from photos and
tracks before fitting (the splits' rows, the weak feature targets, the joint-embedding classes and track
inputs). The method is described in train_heads.py."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from recommender.heads.track_inputs import FEATURE_NAMES, FeatureScaler, joint_track_inputs, raw_features
from recommender.lab.datasets import SPLITS, Split, SpotifyTrack, quadrants, split_indices
from recommender.lab.playlist_moods import quadrant_array, weak_labels
from recommender.tracks import track_position
from recommender.types import TrackRow


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
        return split_indices(self.splits, split)

    @property
    def embeddings(self) -> np.ndarray:
        return self.inputs[:, : self.embedding_dim]


# --- labels and weak targets ------------------------------------------------------------------------------


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


# --- everything the two trainers and the evaluation read ------------------------------------------------


@dataclass
class HeadsData:
    rows: list[TrackRow]  # the tracks with a V/A position, in input order
    weak: np.ndarray  # (n_tracks,) weak playlist quadrant, -1: none
    p_idx: dict[Split, np.ndarray]  # photo rows of each split
    t_idx: dict[Split, np.ndarray]  # track rows of each split
    scaler: FeatureScaler  # fitted on the training tracks
    targets: np.ndarray  # (n_photos, 12) weak feature-head targets
    photo_thresholds: tuple[float, float]  # training photos' (valence, arousal) medians
    track_thresholds: tuple[float, float]  # training tracks' (valence, arousal) medians
    photo_labels: np.ndarray  # (n_photos,) V/A quadrant
    feature_labels: np.ndarray  # (n_tracks,) quadrant of the track's feature-based V/A position
    track_labels: np.ndarray  # (n_tracks,) joint-embedding class (weak label first when cfg.weak_labels)
    genres: list[str]  # the training tracks' genre vocabulary
    track_x: np.ndarray  # (n_tracks, d) joint-embedding track inputs


def assemble(photos: PhotoSet, tracks: Sequence[SpotifyTrack], cfg: Config) -> HeadsData:
    """The splits, weak feature targets, classes and track inputs (as the module docstring of train_heads
    describes); raises ValueError when the train or val split has no photos or no tracks."""
    rows = [t.row for t in tracks]
    positions = [track_position(r) for r in rows]
    keep = np.array([p is not None for p in positions])
    rows = [r for r, k in zip(rows, keep, strict=True) if k]
    track_splits = [t.split for t, k in zip(tracks, keep, strict=True) if k]
    weak = quadrant_array(weak_labels([t for t, k in zip(tracks, keep, strict=True) if k]))
    track_va = np.array([p[:2] for p in positions if p is not None], dtype=np.float64)
    t_idx = {s: split_indices(track_splits, s) for s in SPLITS}
    p_idx = {s: photos.idx(s) for s in SPLITS}
    for s in ("train", "val"):
        if len(t_idx[s]) == 0 or len(p_idx[s]) == 0:
            raise ValueError(f"no {s} photos or tracks")

    raw = raw_features(rows)
    scaler = FeatureScaler.fit(raw[t_idx["train"]])
    z, _ = scaler.standardise(raw)

    # Weak targets for the feature head.
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

    # Classes and track inputs for the joint embedding.
    pv_med, pa_med = (float(np.median(a[p_idx["train"]])) for a in (photos.valence, photos.arousal))
    tv_med, ta_med = (float(np.median(track_va[t_idx["train"], j])) for j in (0, 1))
    photo_labels = quadrants(photos.valence, photos.arousal, (pv_med, pa_med))
    feature_labels = quadrants(track_va[:, 0], track_va[:, 1], (tv_med, ta_med))
    track_labels = joint_track_classes(feature_labels, weak) if cfg.weak_labels else feature_labels
    genres = sorted({r.genre.strip().lower() for r in (rows[i] for i in t_idx["train"]) if r.genre.strip()})
    return HeadsData(
        rows=rows,
        weak=weak,
        p_idx=p_idx,
        t_idx=t_idx,
        scaler=scaler,
        targets=targets,
        photo_thresholds=(pv_med, pa_med),
        track_thresholds=(tv_med, ta_med),
        photo_labels=photo_labels,
        feature_labels=feature_labels,
        track_labels=track_labels,
        genres=genres,
        track_x=joint_track_inputs(rows, scaler, genres, cfg.use_text, raw=raw),
    )
