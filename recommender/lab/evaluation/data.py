"""The photos and tracks an evaluation runs on: the shared fixed splits, or a synthetic stand-in.

Real data: Emotion6 photos of one split (test for the report, val for the weight search) and the
TidyTuesday tracks of the same split (tracks are split by playlist, i.e. by source). The mood model used
here is trained on the TRAIN photos only (train_mood's own fitting code), so no test photo was seen in
training; the shipped artifact (trained on all of Emotion6) is not used unless a mood artifact directory
is given (then the report says so: a model that saw test photos gives optimistic numbers). Encoder
features, the trained model and the photo analyses are cached under the cache directory, keyed by what
they depend on. Tracks carry their weak playlist label (playlist_moods.py) for the playlist-mood relevance.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from PIL import Image

from recommender.lab import datasets
from recommender.lab.playlist_moods import weak_labels
from recommender.lab.training import train_mood, train_mood_sources
from recommender.mood import MoodModel
from recommender.photo_inputs import default_feature_set
from recommender.pipeline import Engine, EngineConfig
from recommender.threads import configure_threads
from recommender.tracks import track_position
from recommender.types import IMAGE_EMOTIONS, PhotoAnalysis, TrackRow

DEFAULT_CACHE = Path("/tmp/photophone-cache")
ENGINE_DIR = Path(__file__).resolve().parents[2]  # recommender/


@dataclass
class PhotoSet:
    """Photos with the engine's analysis (mood from the train-split model) and the human labels."""

    names: list[str]
    predicted: list[PhotoAnalysis]
    human_va: np.ndarray  # (n, 2) in [0, 1]
    human_emotions: np.ndarray  # (n, 7) IMAGE_EMOTIONS distributions

    def __len__(self) -> int:
        return len(self.names)

    def oracle(self) -> list[PhotoAnalysis]:
        """The same analyses with mood replaced by the human ratings (what a perfect mood model gives)."""
        return [
            replace(
                p,
                valence=float(va[0]),
                arousal=float(va[1]),
                emotions={e: float(x) for e, x in zip(IMAGE_EMOTIONS, dist, strict=True)},
            )
            for p, va, dist in zip(self.predicted, self.human_va, self.human_emotions, strict=True)
        ]

    def subset(self, idx: Sequence[int]) -> PhotoSet:
        return PhotoSet(
            [self.names[i] for i in idx],
            [self.predicted[i] for i in idx],
            self.human_va[list(idx)],
            self.human_emotions[list(idx)],
        )


@dataclass
class EvalData:
    source: str  # one line for the report
    test_photos: PhotoSet
    val_photos: PhotoSet
    test_tracks: list[TrackRow]
    val_tracks: list[TrackRow]
    notes: list[str] = field(default_factory=list)
    track_moods: dict[int, int] = field(default_factory=dict)  # track id -> weak playlist quadrant


def positioned(rows: Sequence[TrackRow]) -> list[TrackRow]:
    """Tracks with a V/A position: the others have no label, so they cannot be judged relevant or not."""
    return [r for r in rows if track_position(r) is not None]


def _digest(*parts: object) -> str:
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[:16]


def _engine_source_digest() -> str:
    """Changes whenever any engine module (outside evaluation/) changes: the analyses depend on them."""
    h = hashlib.sha256()
    for path in sorted(ENGINE_DIR.rglob("*.py")):
        if "evaluation" not in path.relative_to(ENGINE_DIR).parts:
            h.update(path.read_bytes())
    return h.hexdigest()[:16]


def train_split_mood(
    ds: datasets.Emotion6, encoder: str, cache: Path, seed: int = 0
) -> tuple[MoodModel, np.ndarray]:
    """A mood model fitted on the train split only (cached), and every photo's mood inputs.

    EfficientNet-Lite0 with OASIS present: the shipped recipe (train_mood_sources: Emotion6 train split
    plus every OASIS photo, which shares no photo with Emotion6); otherwise train_mood's Emotion6 heads."""
    configure_threads()  # torch and faiss both loaded: without this, encoding is ~20x slower
    feature_set = default_feature_set(encoder)  # what train_mood would give this encoder's heads
    oasis_root = ds.root.parent / "oasis"
    train = ds.indices("train")
    if encoder == train_mood_sources.ENCODER and (oasis_root / "OASIS.csv").is_file():
        recipe = train_mood_sources.Recipe(seed=seed)
        key = _digest(encoder, *ds.paths, *train.tolist(), recipe, "eval-mood-v3")
        directory = cache / f"eval-mood-{encoder}-{key}"
        pool = train_mood_sources.load_pool(ds.root.parent, cache)
        x = pool.x[~pool.is_oasis]
        if (directory / "weights.npz").is_file():
            return MoodModel.load(directory), x
        print(f"training the evaluation mood model on {len(train)} train photos + OASIS ...", file=sys.stderr)
        rows = np.concatenate([train, np.flatnonzero(pool.is_oasis)])
        model = train_mood_sources.fit(pool, rows, recipe).model
        model.card = {
            "model_version": "mood-eval-train-split+oasis",
            "encoder": encoder,
            "feature_set": feature_set,
            "emotions": list(IMAGE_EMOTIONS),
            "training_data": f"Emotion6 train split ({len(train)}), OASIS ({int(pool.is_oasis.sum())})",
        }
        model.save(directory)
        return model, x
    x = train_mood.cached_features(ds, encoder, cache, feature_set=feature_set).astype(np.float64)
    key = _digest(encoder, feature_set, *ds.paths, *train.tolist(), seed, "eval-mood-v2")
    directory = cache / f"eval-mood-{encoder}-{key}"
    if (directory / "weights.npz").is_file():
        return MoodModel.load(directory), x
    print(f"training the evaluation mood model on {len(train)} train photos ...", file=sys.stderr)
    heads = train_mood.fit_heads(x, ds, train, seed)
    card: dict[str, object] = {
        "model_version": "mood-eval-train-split",
        "encoder": encoder,
        "feature_set": feature_set,
        "emotions": list(IMAGE_EMOTIONS),
        "training_data": f"Emotion6 train split ({len(train)} photos)",
    }
    model = train_mood.to_model(heads, card)
    model.save(directory)
    return model, x


def analyse_photos(
    paths: Sequence[Path], engine: Engine, model_key: str, cache: Path, batch: int = 32
) -> list[PhotoAnalysis]:
    """engine.analyse_batch over the photos, cached by photo list, mood model and engine source."""
    key = _digest(engine.config.encoder, model_key, _engine_source_digest(), *paths)
    path = cache / f"eval-analyses-{key}.pkl"
    if path.is_file():
        with path.open("rb") as handle:
            cached: list[PhotoAnalysis] = pickle.load(handle)
        return cached
    out: list[PhotoAnalysis] = []
    for start in range(0, len(paths), batch):
        images = []
        for p in paths[start : start + batch]:
            with Image.open(p) as im:
                images.append(im.convert("RGB"))
        out += engine.analyse_batch(images)
        print(f"analyses: {len(out)}/{len(paths)}", file=sys.stderr, end="\r")
    print(file=sys.stderr)
    cache.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        pickle.dump(out, handle)
    return out


def given_mood(directory: Path, encoder: str) -> tuple[MoodModel, str]:
    """A mood artifact chosen by the caller, and a line for the report about what it was trained on."""
    model = MoodModel.load(Path(directory))
    trained_on = model.card.get("encoder")
    if trained_on not in (None, encoder):
        raise ValueError(f"mood model at {directory} was trained on {trained_on}, not {encoder}")
    seen = str(model.card.get("training_data", "not stated in its card"))
    return model, (
        f"mood model: the given artifact {directory} ({model.version}; training data: {seen}); if it "
        "was trained on test-split photos, the model numbers are optimistic"
    )


def load_real(
    data_root: Path,
    cache: Path = DEFAULT_CACHE,
    config: EngineConfig | None = None,
    mood_dir: Path | None = None,
) -> EvalData:
    """Emotion6 + TidyTuesday from data_root (raises FileNotFoundError when either is absent).
    mood_dir: a mood artifact to use instead of the train-split model fitted here."""
    config = config or EngineConfig()
    ds = datasets.load_emotion6(data_root / "emotion6")
    songs = datasets.load_spotify_songs(data_root / "spotify_songs" / "spotify_songs.csv")
    # Paths relative to the working directory, as train_mood sees them when run from the repository
    # root: then both share one feature cache file.
    ds.paths = [Path(os.path.relpath(p)) for p in ds.paths]
    notes: list[str] = []
    if mood_dir is not None:
        model, note = given_mood(mood_dir, config.encoder)
        notes.append(note)
    else:
        model, _ = train_split_mood(ds, config.encoder, cache)
    model_key = _digest(model.w_valence.tobytes(), model.w_arousal.tobytes(), model.w_emotion.tobytes())
    engine = Engine(config, mood=model)

    def photos(split: datasets.Split) -> PhotoSet:
        idx = ds.indices(split)
        paths = [ds.paths[i] for i in idx]
        return PhotoSet(
            names=[f"{ds.folders[i]}/{ds.paths[i].name}" for i in idx],
            predicted=analyse_photos(paths, engine, model_key, cache),
            human_va=np.stack([ds.valence[idx], ds.arousal[idx]], axis=1),
            human_emotions=ds.emotions[idx],
        )

    def tracks(split: datasets.Split) -> list[TrackRow]:
        return positioned([s.row for s in songs if s.split == split])

    mood_source = (
        f"mood model from {mood_dir}"
        if mood_dir is not None
        else f"mood model trained on the {len(ds.indices('train'))} train-split photos (and OASIS if present)"
    )
    moods = {
        s.row.track_id: label.quadrant
        for s, label in zip(songs, weak_labels(songs), strict=True)
        if label is not None
    }
    return EvalData(
        source=(
            f"Emotion6 ({len(ds.paths)} photos; {mood_source}) and TidyTuesday Spotify songs "
            f"({len(songs)} unique tracks, {len(moods)} with a weak playlist label), from {data_root}"
        ),
        test_photos=photos("test"),
        val_photos=photos("val"),
        test_tracks=tracks("test"),
        val_tracks=tracks("val"),
        notes=notes,
        track_moods=moods,
    )


# --- synthetic stand-in (tests and demos without the shared data) ------------------------------------


def _synthetic_photos(rng: np.random.Generator, n: int, dim: int) -> PhotoSet:
    va = np.stack([rng.uniform(0.05, 0.95, n), rng.normal(0.507, 0.11, n).clip(0, 1)], axis=1)
    # Emotion distributions that follow V/A loosely: joy when pleasant, sadness/fear when not.
    logits = rng.normal(0, 1, (n, len(IMAGE_EMOTIONS)))
    logits[:, IMAGE_EMOTIONS.index("joy")] += 4 * (va[:, 0] - 0.5)
    logits[:, IMAGE_EMOTIONS.index("sadness")] += 4 * (0.5 - va[:, 0])
    logits[:, IMAGE_EMOTIONS.index("fear")] += 4 * (va[:, 1] - 0.5) - 2 * (va[:, 0] - 0.5)
    emotions = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    predicted = []
    for i in range(n):
        noisy = np.clip(va[i] + rng.normal(0, [0.12, 0.08]), 0, 1)
        p = np.clip(emotions[i] + rng.normal(0, 0.05, len(IMAGE_EMOTIONS)), 1e-3, None)
        embedding = rng.normal(0, 1, dim).astype(np.float32)
        predicted.append(
            PhotoAnalysis(
                valence=float(noisy[0]),
                arousal=float(noisy[1]),
                emotions={e: float(x) for e, x in zip(IMAGE_EMOTIONS, p / p.sum(), strict=True)},
                embedding=embedding / np.linalg.norm(embedding),
                colour={},
                descriptors=[],
            )
        )
    return PhotoSet([f"synthetic/{i}.jpg" for i in range(n)], predicted, va, emotions)


def _synthetic_tracks(rng: np.random.Generator, n: int, first_id: int) -> list[TrackRow]:
    rows = []
    for i in range(n):
        energy = float(rng.beta(4, 2))
        features: dict[str, float | None] = {
            "valence": float(rng.uniform()),
            "energy": energy,
            "danceability": float(rng.uniform(0.3, 0.9)),
            "tempo": float(rng.uniform(70, 180)),
            "loudness": float(rng.uniform(-15, -3)),
            "acousticness": float(rng.beta(1, 4)),
        }
        rows.append(
            TrackRow(
                track_id=first_id + i,
                artist=f"Artist {int(rng.integers(0, max(2, n // 3)))}",
                title=f"Track {first_id + i}",
                valence=features["valence"],
                features=features,
                genre=str(rng.choice(["pop", "rock", "edm", "r&b", "latin", "rap"])),
            )
        )
    return rows


def _synthetic_moods(rng: np.random.Generator, rows: Sequence[TrackRow], share: float) -> dict[int, int]:
    """Weak labels for a share of the tracks: the quadrant of their V/A position, one in four at random."""
    out = {}
    for row in rows:
        position = track_position(row)
        if position is None or rng.random() >= share:
            continue
        q = datasets.quadrant(position[0], position[1] - 0.2)  # track arousal sits high: recentre
        out[row.track_id] = int(rng.integers(0, 4)) if rng.random() < 0.25 else q
    return out


def synthetic(seed: int = 0, photos: int = 60, tracks: int = 400, dim: int = 1280) -> EvalData:
    """Random photos (human labels plus a noisy "prediction") and random tracks with audio features."""
    rng = np.random.default_rng(seed)
    test_photos = _synthetic_photos(rng, photos, dim)
    val_photos = _synthetic_photos(rng, photos, dim)
    test_tracks = _synthetic_tracks(rng, tracks, 1)
    val_tracks = _synthetic_tracks(rng, tracks, tracks + 1)
    return EvalData(
        source=f"SYNTHETIC data (seed {seed}): random photos with noisy predicted moods, random tracks",
        test_photos=test_photos,
        val_photos=val_photos,
        test_tracks=test_tracks,
        val_tracks=val_tracks,
        notes=["synthetic data: the numbers only show that the evaluation runs"],
        track_moods=_synthetic_moods(rng, [*test_tracks, *val_tracks], share=0.3),
    )
