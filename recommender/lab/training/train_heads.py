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
from pathlib import Path
from typing import Any

import numpy as np
import torch

from recommender.colour import COLOUR_KEYS
from recommender.encoders import EFFICIENTNET_LITE0
from recommender.heads.model import HeadsModel
from recommender.lab.datasets import SpotifyTrack, load_emotion6, load_spotify_songs
from recommender.lab.stats import standardiser

from .heads_card import heads_card
from .heads_data import Config, PhotoSet, assemble
from .heads_eval import evaluate
from .heads_fit import train_feature_head, train_joint

MODEL_VERSION = "heads-v2"


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
    data = assemble(photos, tracks, cfg)
    train_rows = data.p_idx["train"]
    f_mean, f_std = (a.astype(np.float32) for a in standardiser(photos.inputs[train_rows]))
    fx = ((photos.inputs - f_mean) / f_std).astype(np.float32)
    feature_net = train_feature_head(fx, data.targets, train_rows, data.p_idx["val"], cfg, log)
    j_mean, j_std = (a.astype(np.float32) for a in standardiser(photos.embeddings[train_rows]))
    jx = ((photos.embeddings - j_mean) / j_std).astype(np.float32)
    split = {s: (data.p_idx[s], data.t_idx[s]) for s in ("train", "val")}
    photo_net, track_net = train_joint(
        jx, data.photo_labels, data.track_x, data.track_labels, split, cfg, log
    )
    card = heads_card(
        photos,
        data,
        cfg,
        out=out,
        encoder=encoder,
        version=version,
        command=command,
        log=log,
        train_seconds=time.perf_counter() - t0,
    )
    model = HeadsModel(
        feature_in_mean=f_mean,
        feature_in_std=f_std,
        feature_head=feature_net.params(),
        scaler=data.scaler,
        joint_in_mean=j_mean,
        joint_in_std=j_std,
        photo_projection=photo_net.params(),
        track_projection=track_net.params(),
        genres=data.genres,
        use_text=cfg.use_text,
        card=card,
    )
    model.save(out)
    # Evaluate what was written (float16 weights, numpy inference), not the torch modules.
    loaded = HeadsModel.load(out)
    card["metrics"] = evaluate(loaded, photos, data)
    loaded.card = card
    loaded.save(out)
    return card


# --- command line --------------------------------------------------------------------------------------


def load_photos(root: Path, encoder: str, cache: Path) -> PhotoSet:
    """Emotion6 with the cached [embedding, colour] features of train_mood (same cache key)."""
    from .train_mood import cached_features

    ds = load_emotion6(root)
    x = cached_features(ds, encoder, cache).astype(np.float32)
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
