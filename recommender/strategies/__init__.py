"""Scoring strategies. Each one is registered by name; EngineConfig picks which run and their weights."""

from __future__ import annotations

from collections.abc import Callable

from ..config import EngineConfig
from .aesthetics import AestheticsMatch
from .base import NeedsTrackVectors, ProposesCandidates, QueriesFromEmbeddings, Strategy, StrategyResult
from .content import ContentMatch
from .emotion_agreement import EmotionAgreement
from .feature_prediction import FeaturePrediction
from .joint_embedding import JointEmbedding
from .va_match import VAMatch, imuse_similarity

STRATEGIES: dict[str, Callable[[], Strategy]] = {
    VAMatch.name: VAMatch,
    EmotionAgreement.name: EmotionAgreement,
    FeaturePrediction.name: FeaturePrediction,
    JointEmbedding.name: JointEmbedding,
    ContentMatch.name: ContentMatch,
    AestheticsMatch.name: AestheticsMatch,
}


# The strategies built on the heads artifact take its directory.
_READ_HEADS: dict[str, Callable[[str], Strategy]] = {
    FeaturePrediction.name: FeaturePrediction,
    JointEmbedding.name: JointEmbedding,
}


def make_strategy(name: str, config: EngineConfig) -> Strategy:
    """The strategy registered under name, set up from the config (heads strategies get its artifact)."""
    try:
        factory = STRATEGIES[name]
    except KeyError:
        raise ValueError(f"unknown strategy {name!r}; known: {', '.join(sorted(STRATEGIES))}") from None
    if name in _READ_HEADS:
        return _READ_HEADS[name](config.heads_artifact)
    return factory()


__all__ = [
    "STRATEGIES",
    "AestheticsMatch",
    "ContentMatch",
    "EmotionAgreement",
    "NeedsTrackVectors",
    "ProposesCandidates",
    "QueriesFromEmbeddings",
    "Strategy",
    "StrategyResult",
    "VAMatch",
    "imuse_similarity",
    "make_strategy",
]
