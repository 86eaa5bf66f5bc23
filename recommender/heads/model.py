"""HeadsModel: the trained DYLUMO feature head and the Emo-CLIM joint embedding, run with numpy.

The artifact (written by `python -m recommender.lab.training.train_heads`) is a directory with
weights.npz (float16 weights, float32 statistics) and card.json. Every network has the shape
Linear -> BatchNorm -> ReLU -> Dropout -> Linear; at inference BatchNorm is an affine map with its running
statistics and dropout is the identity, so numpy runs them without torch.

    feature head:  [photo embedding, colour statistics] (standardised) -> 12 standardised track features
    photo projection: photo embedding (standardised) -> 128-d, L2-normalised
    track projection: joint_track_inputs(track) -> 128-d, L2-normalised
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..colour import COLOUR_KEYS
from ..config import active_artifact
from ..model_cache import MODELS
from ..types import PhotoAnalysis, TrackRow
from .track_inputs import FEATURE_NAMES, FeatureScaler, feature_vectors, joint_track_inputs, l2_rows

DEFAULT_HEADS_DIR = active_artifact("heads")
BN_EPS = 1e-5
MLP_KEYS: tuple[str, ...] = ("w1", "b1", "bn_mean", "bn_var", "bn_gamma", "bn_beta", "w2", "b2")


@dataclass
class MLPParams:
    """Linear(w1, b1) -> BatchNorm(eval) -> ReLU -> Linear(w2, b2); weights stored (in, out)."""

    w1: np.ndarray
    b1: np.ndarray
    bn_mean: np.ndarray
    bn_var: np.ndarray
    bn_gamma: np.ndarray
    bn_beta: np.ndarray
    w2: np.ndarray
    b2: np.ndarray

    def __call__(self, x: np.ndarray) -> np.ndarray:
        h = x @ self.w1 + self.b1
        h = (h - self.bn_mean) / np.sqrt(self.bn_var + BN_EPS) * self.bn_gamma + self.bn_beta
        return np.maximum(h, 0.0) @ self.w2 + self.b2

    @property
    def in_dim(self) -> int:
        return int(self.w1.shape[0])

    def arrays(self, prefix: str) -> dict[str, np.ndarray]:
        out = {}
        for key in MLP_KEYS:
            value = getattr(self, key)
            # Matrices as float16 keep the artifact small; vectors stay float32.
            out[f"{prefix}{key}"] = value.astype(np.float16 if value.ndim == 2 else np.float32)
        return out

    @classmethod
    def from_arrays(cls, arrays: Any, prefix: str) -> MLPParams:
        return cls(*(np.asarray(arrays[f"{prefix}{k}"], dtype=np.float32) for k in MLP_KEYS))


@dataclass
class HeadsModel:
    feature_in_mean: np.ndarray  # (d_photo,) over [embedding, colour]
    feature_in_std: np.ndarray
    feature_head: MLPParams
    scaler: FeatureScaler  # training tracks' feature statistics
    joint_in_mean: np.ndarray  # (d_embedding,)
    joint_in_std: np.ndarray
    photo_projection: MLPParams
    track_projection: MLPParams
    genres: list[str]
    use_text: bool
    card: dict[str, Any]
    weights_sha256: str = ""  # of the weights.npz it was loaded from ("" when not loaded from disk)

    @property
    def version(self) -> str:
        return str(self.card.get("model_version", "unknown"))

    @property
    def fingerprint(self) -> str:
        """'heads-v1+<weights digest>': changes when the artifact is retrained, even under the same name."""
        return f"{self.version}+{self.weights_sha256[:12] or 'unsaved'}"

    @property
    def embedding_dim(self) -> int:
        return self.photo_projection.in_dim

    # --- photos ---------------------------------------------------------------------------------------

    def photo_inputs(self, photo: PhotoAnalysis) -> np.ndarray:
        """[embedding, colour statistics] for the feature head; unknown colour keys take the training mean."""
        embedding = np.asarray(photo.embedding, dtype=np.float32).reshape(-1)
        self._check_embedding(embedding.shape[0])
        colour_mean = self.feature_in_mean[embedding.shape[0] :]
        colour = np.array(
            [photo.colour.get(k, float(colour_mean[i])) for i, k in enumerate(COLOUR_KEYS)], dtype=np.float32
        )
        return np.concatenate([embedding, colour])

    def predict_features(self, photo_inputs: np.ndarray) -> np.ndarray:
        """(n, d_photo) -> (n, 12) predicted standardised features (FEATURE_NAMES order)."""
        x = np.atleast_2d(np.asarray(photo_inputs, dtype=np.float32))
        if x.shape[1] != self.feature_head.in_dim:
            raise ValueError(f"feature head expects {self.feature_head.in_dim} inputs, got {x.shape[1]}")
        return self.feature_head((x - self.feature_in_mean) / self.feature_in_std).astype(np.float32)

    def project_photos(self, embeddings: np.ndarray) -> np.ndarray:
        """(n, d_embedding) photo embeddings -> (n, 128) L2-normalised joint-space vectors."""
        x = np.atleast_2d(np.asarray(embeddings, dtype=np.float32))
        self._check_embedding(x.shape[1])
        return l2_rows(self.photo_projection((x - self.joint_in_mean) / self.joint_in_std))

    def _check_embedding(self, dim: int) -> None:
        if dim != self.embedding_dim:
            raise ValueError(
                f"heads model {self.version} was trained on {self.card.get('encoder')} embeddings "
                f"({self.embedding_dim}-d), got a {dim}-d embedding; retrain the heads for this encoder"
            )

    # --- tracks ---------------------------------------------------------------------------------------

    def track_feature_vectors(self, rows: Sequence[TrackRow]) -> np.ndarray:
        """(n, 12) L2-normalised standardised features; zero rows for tracks with no features."""
        return feature_vectors(rows, self.scaler)

    def project_tracks(self, rows: Sequence[TrackRow]) -> np.ndarray:
        """(n, 128) L2-normalised joint-space vectors."""
        if not rows:
            return np.zeros((0, self.track_projection.w2.shape[1]), dtype=np.float32)
        return self.project_track_inputs(joint_track_inputs(rows, self.scaler, self.genres, self.use_text))

    def project_track_inputs(self, inputs: np.ndarray) -> np.ndarray:
        return l2_rows(self.track_projection(np.asarray(inputs, dtype=np.float32)))

    # --- persistence ----------------------------------------------------------------------------------

    def save(self, directory: Path | str) -> Path:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        arrays = {
            "feature_in_mean": self.feature_in_mean.astype(np.float32),
            "feature_in_std": self.feature_in_std.astype(np.float32),
            "track_feature_mean": self.scaler.mean.astype(np.float32),
            "track_feature_std": self.scaler.std.astype(np.float32),
            "joint_in_mean": self.joint_in_mean.astype(np.float32),
            "joint_in_std": self.joint_in_std.astype(np.float32),
            **self.feature_head.arrays("feature_"),
            **self.photo_projection.arrays("photo_"),
            **self.track_projection.arrays("track_"),
        }
        np.savez_compressed(directory / "weights.npz", **arrays)  # type: ignore[arg-type]
        card = {**self.card, "genres": list(self.genres), "use_text": self.use_text}
        card["features"] = list(FEATURE_NAMES)
        (directory / "card.json").write_text(json.dumps(card, indent=2, sort_keys=True) + "\n")
        return directory

    @classmethod
    def load(cls, directory: Path | str = DEFAULT_HEADS_DIR) -> HeadsModel:
        directory = Path(directory)
        require_artifact(directory)
        card = json.loads((directory / "card.json").read_text())
        if list(card.get("features", [])) != list(FEATURE_NAMES):
            raise ValueError(f"heads model at {directory} uses another feature order; retrain it")
        weights = (directory / "weights.npz").read_bytes()
        with np.load(io.BytesIO(weights)) as w:
            return cls(
                feature_in_mean=w["feature_in_mean"],
                feature_in_std=w["feature_in_std"],
                feature_head=MLPParams.from_arrays(w, "feature_"),
                scaler=FeatureScaler(
                    w["track_feature_mean"].astype(np.float64), w["track_feature_std"].astype(np.float64)
                ),
                joint_in_mean=w["joint_in_mean"],
                joint_in_std=w["joint_in_std"],
                photo_projection=MLPParams.from_arrays(w, "photo_"),
                track_projection=MLPParams.from_arrays(w, "track_"),
                genres=list(card["genres"]),
                use_text=bool(card["use_text"]),
                card=card,
                weights_sha256=hashlib.sha256(weights).hexdigest(),
            )


def require_artifact(directory: Path | str) -> Path:
    """The artifact directory, or a FileNotFoundError that says how to make it."""
    directory = Path(directory)
    if not (directory / "weights.npz").is_file() or not (directory / "card.json").is_file():
        raise FileNotFoundError(
            f"heads model not found at {directory} (weights.npz and card.json); train it with "
            "`python -m recommender.lab.training.train_heads --data ../shared/data "
            f"--out {directory}`"
        )
    return directory


def load_heads(directory: str) -> HeadsModel:
    """The heads model at directory, loaded once per process (model_cache.py)."""
    return MODELS.get("heads", lambda: HeadsModel.load(directory), directory=str(directory))


class UsesHeads:
    """For strategies built on the heads artifact: checked at construction, loaded on first use.

    Each such strategy stores one set of track vectors in the catalogue, named vectors_name and computed
    by track_vectors(); their version follows the heads weights, so retraining rebuilds the index.
    """

    vectors_name: str

    def __init__(self, artifact: Path | str = DEFAULT_HEADS_DIR) -> None:
        self.artifact = str(require_artifact(artifact))

    @property
    def model(self) -> HeadsModel:
        return load_heads(self.artifact)

    def track_vectors(self, rows: Sequence[TrackRow]) -> np.ndarray:
        raise NotImplementedError

    def track_representations(self) -> Mapping[str, Callable[[Sequence[TrackRow]], np.ndarray]]:
        return {self.vectors_name: self.track_vectors}

    def representation_version(self) -> str:
        # Bump the /1 when the way track vectors are computed from the heads model changes.
        return f"{self.vectors_name}/1:{self.model.fingerprint}"


def rank_photos_for_track(
    model: HeadsModel, track: TrackRow, embeddings: np.ndarray, reference: Sequence[TrackRow] = ()
) -> tuple[np.ndarray, np.ndarray]:
    """Music -> photo retrieval in the joint space: (order, scores) for photos given as (n, d) embeddings.

    order lists photo indices best first; scores[i] is photo i's cosine mapped to [0, 1]. With reference
    tracks (a sample of the catalogue), each photo's cosine is taken relative to its mean cosine with them
    (a hubness correction, as CSLS does): a photo with little in it, such as a plain colour field, sits near
    every track in the joint space and would otherwise come first for all of them."""
    x = np.atleast_2d(np.asarray(embeddings, dtype=np.float32))
    if len(x) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    photos = model.project_photos(x)
    track_vec = model.project_tracks([track])[0]
    cosine = photos @ track_vec
    if reference:
        cosine = cosine - (photos @ model.project_tracks(list(reference)).T).mean(axis=1)
    scores = np.clip((cosine + 1.0) / 2.0, 0.0, 1.0).astype(np.float32)
    order = np.lexsort((np.arange(len(scores)), -scores)).astype(np.int64)
    return order, scores
