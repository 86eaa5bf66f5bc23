"""Track-vector versions: what computes each strategy's vectors, combined into one digest."""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from recommender.catalogue_index import TrackRepresentation
from recommender.heads.model import DEFAULT_HEADS_DIR, HeadsModel
from recommender.strategies import ContentMatch, VAMatch
from recommender.strategies.base import representations_version
from recommender.strategies.feature_prediction import FeaturePrediction
from recommender.strategies.joint_embedding import JointEmbedding
from recommender.text import text_model_version
from recommender.types import TrackRow


class Toy:
    name = "toy"

    def __init__(self, version: str | None) -> None:
        self.version = version

    def track_representations(self) -> Mapping[str, TrackRepresentation]:
        def ones(rows: Sequence[TrackRow]) -> np.ndarray:
            return np.ones((len(rows), 2), dtype=np.float32)

        return {"toy": ones}

    def representation_version(self) -> str:
        assert self.version is not None
        return self.version


class Unversioned:
    name = "unversioned"

    def track_representations(self) -> Mapping[str, TrackRepresentation]:
        return {"plain": lambda rows: np.zeros((len(rows), 1), dtype=np.float32)}


def test_the_digest_follows_each_strategy_version_and_ignores_strategies_without_vectors() -> None:
    base = representations_version([VAMatch(), Toy("a")])
    assert base == representations_version([Toy("a")]) == representations_version([Toy("a"), VAMatch()])
    assert representations_version([Toy("b")]) != base
    assert representations_version([Toy("a"), Unversioned()]) not in (base, representations_version([]))
    assert len(base) == 12


def test_heads_strategies_are_versioned_by_model_version_and_weights(tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(DEFAULT_HEADS_DIR, copy)
    shipped = HeadsModel.load(DEFAULT_HEADS_DIR)
    assert FeaturePrediction(copy).representation_version() == FeaturePrediction().representation_version()
    assert shipped.version in FeaturePrediction().representation_version()
    assert FeaturePrediction().representation_version() != JointEmbedding().representation_version()

    # A retrained artifact under the same model_version: other weights, same card.
    retrained = HeadsModel.load(DEFAULT_HEADS_DIR)
    retrained.track_projection.w2 = retrained.track_projection.w2 * 0.5
    retrained.save(tmp_path / "retrained")
    assert HeadsModel.load(tmp_path / "retrained").version == shipped.version
    for strategy in (FeaturePrediction, JointEmbedding):
        assert (
            strategy(tmp_path / "retrained").representation_version() != strategy().representation_version()
        )
    assert representations_version([JointEmbedding(tmp_path / "retrained")]) != representations_version(
        [JointEmbedding()]
    )


def test_content_is_versioned_by_its_text_model_without_loading_it() -> None:
    strategy = ContentMatch()
    version = strategy.representation_version()
    assert text_model_version() in version and strategy._encoder is None
