"""The learned heads: losses, sampler, strategies over a synthetic catalogue, reverse retrieval, training."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from recommender.catalogue_index import TrackCatalogue
from recommender.heads.model import BN_EPS, HeadsModel, MLPParams, rank_photos_for_track
from recommender.heads.nets import ClassBalancedSampler, supcon, weighted_mse
from recommender.heads.track_inputs import FEATURE_NAMES, FeatureScaler, feature_weights
from recommender.lab.datasets import Split, SpotifyTrack
from recommender.lab.training.train_heads import Config, PhotoSet, main, train
from recommender.pipeline import Engine, EngineConfig
from recommender.strategies.feature_prediction import VECTORS as FEATURE_VECTORS
from recommender.strategies.feature_prediction import FeaturePrediction
from recommender.strategies.joint_embedding import VECTORS as JOINT_VECTORS
from recommender.strategies.joint_embedding import JointEmbedding
from recommender.strategies.va_match import VAMatch
from recommender.track_columns import TrackBlocks, TrackColumns
from recommender.types import PhotoAnalysis, TrackRow
from tests.recommender.helpers import make_photo

EMBED_DIM = 8
SPLITS: tuple[Split, ...] = ("train", "val", "test")


# --- synthetic data and a tiny trained artifact -------------------------------------------------------------


def synthetic_tracks(n: int, seed: int = 0) -> list[SpotifyTrack]:
    rng = np.random.default_rng(seed)
    tracks = []
    for i in range(n):
        features: dict[str, float | None] = {
            "danceability": rng.uniform(),
            "energy": rng.uniform(),
            "key": float(rng.integers(0, 12)),
            "loudness": rng.uniform(-20, 0),
            "mode": float(rng.integers(0, 2)),
            "speechiness": rng.uniform(0, 0.5),
            "acousticness": rng.uniform(),
            "instrumentalness": rng.uniform(),
            "liveness": rng.uniform(),
            "valence": rng.uniform(),
            "tempo": rng.uniform(60, 180),
            "duration_ms": rng.uniform(1.2e5, 3e5),
        }
        row = TrackRow(
            track_id=i + 1,
            artist=f"Artist {i}",
            title=f"Song {i}",
            valence=features["valence"],
            features=features,
            genre=["pop", "rock", "rap"][i % 3],
            tags=["dance pop"],
        )
        tracks.append(SpotifyTrack(row=row, split=SPLITS[i % 3]))
    return tracks


def synthetic_photos(n: int, seed: int = 1) -> PhotoSet:
    rng = np.random.default_rng(seed)
    valence, arousal = rng.uniform(size=n), rng.uniform(0.3, 0.7, size=n)
    embedding = rng.normal(size=(n, EMBED_DIM))
    embedding[:, 0] += 3 * (valence - 0.5)
    embedding[:, 1] += 3 * (arousal - 0.5)
    colour = rng.uniform(size=(n, 9))
    inputs = np.concatenate([embedding, colour], axis=1).astype(np.float32)
    return PhotoSet(inputs, EMBED_DIM, valence, arousal, [SPLITS[i % 3] for i in range(n)])


TINY = Config(
    feature_hidden=8,
    feature_max_epochs=3,
    feature_batch=16,
    joint_hidden=16,
    joint_dim=8,
    joint_batch=16,
    joint_max_steps=20,
    joint_eval_every=5,
    use_text=False,
)


@pytest.fixture(scope="module")
def artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("heads") / "heads-test"
    train(synthetic_photos(60), synthetic_tracks(90), out, TINY, encoder="synthetic", version="heads-test")
    return out


def photo_with_embedding(valence: float, arousal: float) -> PhotoAnalysis:
    photo = make_photo(valence, arousal)
    photo.embedding = np.array([3 * (valence - 0.5), 3 * (arousal - 0.5)] + [0.0] * (EMBED_DIM - 2))
    return photo


# --- losses and sampling ----------------------------------------------------------------------------------


def test_supcon_is_lower_when_positives_are_closer() -> None:
    labels = torch.tensor([0, 0, 1, 1])
    aligned = torch.nn.functional.normalize(
        torch.tensor([[1.0, 0.1], [1.0, -0.1], [-1.0, 0.1], [-1.0, -0.1]]), dim=1
    )
    mixed = aligned[[0, 2, 1, 3]]  # same labels, but each class now has one vector on each side
    assert float(supcon(aligned, labels, aligned, labels)) < float(supcon(aligned, labels, mixed, labels))
    assert float(supcon(aligned, labels, aligned, labels, same_set=True)) < float(
        supcon(mixed, labels, mixed, labels, same_set=True)
    )
    # Cross-modal, perfectly separated: each anchor's two positives share the softmax mass.
    hard = torch.tensor([[1.0, 0.0], [1.0, 0.0], [-1.0, 0.0], [-1.0, 0.0]])
    assert float(supcon(hard, labels, hard, labels, tau=0.07)) == pytest.approx(np.log(2), abs=1e-3)


def test_class_balanced_sampler_balances_and_pairs_classes() -> None:
    photo_labels = np.array([0] * 90 + [1] * 10)
    track_labels = np.array([0] * 5 + [1] * 200 + [2] * 50)  # class 2 has no photo: never sampled
    sampler = ClassBalancedSampler([photo_labels, track_labels], seed=0)
    slots, (pi, ti) = sampler.batch(4000)
    counts = np.bincount(slots, minlength=3)
    assert counts[2] == 0 and abs(counts[0] - counts[1]) < 250
    assert np.array_equal(photo_labels[pi], slots) and np.array_equal(track_labels[ti], slots)


def test_weighted_mse_applies_dylumo_weights() -> None:
    weights = torch.from_numpy(feature_weights())
    assert len(weights) == len(FEATURE_NAMES) == 12
    target = torch.zeros(1, 12)
    energy = torch.zeros(1, 12)
    energy[0, FEATURE_NAMES.index("energy")] = 1.0
    duration = torch.zeros(1, 12)
    duration[0, FEATURE_NAMES.index("duration_ms")] = 1.0
    e, d = float(weighted_mse(energy, target, weights)), float(weighted_mse(duration, target, weights))
    assert e == pytest.approx(3.0 / float(weights.sum()))
    assert e / d == pytest.approx(30.0)


# --- strategies ---------------------------------------------------------------------------------------------


def test_strategies_score_in_unit_range_with_reasons(artifact: Path) -> None:
    rows = [t.row for t in synthetic_tracks(40, seed=5)]
    rows.append(TrackRow(track_id=999, artist="No Features", title="Annotated", valence=0.9, arousal=0.9))
    features, joint = FeaturePrediction(artifact), JointEmbedding(artifact)
    config = EngineConfig(
        fusion_weights=(("va_match", 0.4), ("feature_prediction", 0.3), ("joint_embedding", 0.3)),
        candidate_pool=5,
    )
    engine = Engine(config, strategies=[VAMatch(), features, joint])
    catalogue = engine.build_catalogue(rows)
    assert catalogue.vectors[FEATURE_VECTORS].shape == (41, 12)
    assert catalogue.vectors[JOINT_VECTORS].shape == (41, 8)

    ranked = engine.recommend(photo_with_embedding(0.8, 0.6), catalogue, top_k=10)
    assert len(ranked) == 10
    # The track without features or text sits where the photo's mood is: it ranks, judged by V/A alone.
    assert 999 in [item.track_id for item in ranked]
    for item in ranked:
        if item.track_id == 999:  # both heads strategies abstain: no score, no reason
            assert set(item.strategy_scores) == {"va_match"}
            assert not any(r.startswith(("emotion-aligned", "sounds like")) for r in item.reasons)
            continue
        for name in ("feature_prediction", "joint_embedding"):
            assert 0.0 <= item.strategy_scores[name] <= 1.0
        assert any(r.startswith("emotion-aligned match ") for r in item.reasons)
    assert any("sounds like what the photo suggests: " in r for item in ranked for r in item.reasons)

    # The track without features: zero vectors, not seen by either strategy, no reason.
    row = len(rows) - 1
    assert not np.any(catalogue.vectors[FEATURE_VECTORS][row])
    assert not np.any(catalogue.vectors[JOINT_VECTORS][row])
    for strategy in (features, joint):
        result = strategy.score(photo_with_embedding(0.8, 0.6), (0.8, 0.6), catalogue, np.array([0, row]))
        assert result.seen is not None and result.seen.tolist() == [True, False]
        assert np.isnan(result.shown_scores()[1]) and result.reasons[1] == "" and result.reasons[0]


def test_track_vectors_survive_save_and_load(artifact: Path, tmp_path: Path) -> None:
    engine = Engine(EngineConfig(), strategies=[FeaturePrediction(artifact), JointEmbedding(artifact)])
    catalogue = engine.build_catalogue([t.row for t in synthetic_tracks(30)], version="v1")
    loaded = TrackCatalogue.load(catalogue.save(tmp_path / "idx"))
    photo = photo_with_embedding(0.3, 0.4)
    for name, strategy in ((FEATURE_VECTORS, engine.strategies[0]), (JOINT_VECTORS, engine.strategies[1])):
        assert np.array_equal(loaded.vectors[name], catalogue.vectors[name])
        assert np.array_equal(
            strategy.candidates(photo, (0.3, 0.4), loaded, 5),  # type: ignore[attr-defined]
            strategy.candidates(photo, (0.3, 0.4), catalogue, 5),  # type: ignore[attr-defined]
        )


def test_blocks_of_columns_build_the_same_catalogue_and_rankings(artifact: Path) -> None:
    rows = [t.row for t in synthetic_tracks(50, seed=9)]
    config = EngineConfig(
        fusion_weights=(("va_match", 0.4), ("feature_prediction", 0.3), ("joint_embedding", 0.3)),
        candidate_pool=8,
    )
    engine = Engine(config, strategies=[VAMatch(), FeaturePrediction(artifact), JointEmbedding(artifact)])
    from_rows = engine.build_catalogue(rows)
    blocks = TrackBlocks(TrackColumns.from_rows(rows[i : i + 9]) for i in range(0, len(rows), 9))
    from_blocks = engine.build_catalogue(blocks)
    for name in (FEATURE_VECTORS, JOINT_VECTORS):
        assert np.allclose(from_rows.vectors[name], from_blocks.vectors[name], atol=1e-6)
    for valence, arousal in ((0.8, 0.6), (0.2, 0.3), (0.5, 0.9)):
        photo = photo_with_embedding(valence, arousal)
        ours = engine.recommend(photo, from_blocks, top_k=10)
        theirs = engine.recommend(photo, from_rows, top_k=10)
        assert [t.track_id for t in ours] == [t.track_id for t in theirs]
        assert [t.reasons for t in ours] == [t.reasons for t in theirs]


def test_missing_artifact_fails_at_construction(tmp_path: Path) -> None:
    for strategy in (FeaturePrediction, JointEmbedding):
        with pytest.raises(FileNotFoundError, match="train_heads"):
            strategy(tmp_path / "nowhere")


def test_wrong_embedding_size_is_a_clear_error(artifact: Path) -> None:
    photo = make_photo(0.5, 0.5)
    photo.embedding = np.zeros(5, dtype=np.float32)  # the synthetic encoder is 8-d
    with pytest.raises(ValueError, match="retrain the heads"):
        JointEmbedding(artifact).project(photo)
    with pytest.raises(ValueError, match="retrain the heads"):
        FeaturePrediction(artifact).predict(photo)


# --- reverse retrieval ---------------------------------------------------------------------------------


def _identity_mlp(in_dim: int, picks: list[int]) -> MLPParams:
    """x -> (x[picks]) through Linear [x, -x] -> identity BatchNorm -> ReLU -> Linear [1, -1]."""
    k = len(picks)
    w1 = np.zeros((in_dim, 2 * k), dtype=np.float32)
    for j, p in enumerate(picks):
        w1[p, j], w1[p, k + j] = 1.0, -1.0
    w2 = np.concatenate([np.eye(k), -np.eye(k)]).astype(np.float32)
    ones, zeros = np.ones(2 * k, dtype=np.float32), np.zeros(2 * k, dtype=np.float32)
    return MLPParams(w1, zeros, zeros, ones - BN_EPS, ones, zeros, w2, np.zeros(k, dtype=np.float32))


def test_reverse_retrieval_ranks_the_matching_photo_first() -> None:
    # Joint space = (valence, energy) of the track, (x, y) of a 2-d photo embedding.
    track_in = 2 * 12 + 1 + 16  # features, mask, genre "other", audio slot (no text)
    model = HeadsModel(
        feature_in_mean=np.zeros(2 + 9, dtype=np.float32),
        feature_in_std=np.ones(2 + 9, dtype=np.float32),
        feature_head=_identity_mlp(2 + 9, list(range(2))),
        scaler=FeatureScaler(np.full(12, 0.5), np.full(12, 0.1)),
        joint_in_mean=np.zeros(2, dtype=np.float32),
        joint_in_std=np.ones(2, dtype=np.float32),
        photo_projection=_identity_mlp(2, [0, 1]),
        track_projection=_identity_mlp(
            track_in, [FEATURE_NAMES.index("valence"), FEATURE_NAMES.index("energy")]
        ),
        genres=[],
        use_text=False,
        card={"model_version": "toy"},
    )
    happy_calm = TrackRow(1, "A", "T", features={"valence": 0.9, "energy": 0.2})
    photos = np.array([[-1.0, 1.0], [1.0, 1.0], [1.0, -1.0], [-1.0, -1.0]], dtype=np.float32)
    order, scores = rank_photos_for_track(model, happy_calm, photos)
    assert order[0] == 2 and order[-1] == 0
    assert np.all((scores >= 0) & (scores <= 1))


# --- training ------------------------------------------------------------------------------------------


def test_tiny_training_writes_a_loadable_artifact(artifact: Path) -> None:
    model = HeadsModel.load(artifact)
    assert model.version == "heads-test" and model.embedding_dim == EMBED_DIM
    assert set(model.card["metrics"]) == {"val", "test"}
    val = model.card["metrics"]["val"]
    assert 0.0 <= val["joint_embedding"]["image_to_music"]["mrr"] <= 1.0
    assert "academic research only" in model.card["licences"]["emotion6"]
    # The reserved audio slot stays zero through training.
    assert not np.any(model.track_projection.w1[-16:])
    assert model.predict_features(np.zeros((3, EMBED_DIM + 9))).shape == (3, 12)


def test_cli_says_when_data_is_absent(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--data", str(tmp_path), "--out", str(tmp_path / "out")]) == 2
    assert "training data absent" in capsys.readouterr().err
