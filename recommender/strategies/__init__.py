"""Scoring strategies. Each one is registered by name; EngineConfig picks which run and their weights."""

from __future__ import annotations

from collections.abc import Callable

from .aesthetics import AestheticsMatch
from .base import NeedsTrackVectors, ProposesCandidates, Strategy, StrategyResult
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

__all__ = [
    "STRATEGIES",
    "AestheticsMatch",
    "ContentMatch",
    "EmotionAgreement",
    "NeedsTrackVectors",
    "ProposesCandidates",
    "Strategy",
    "StrategyResult",
    "VAMatch",
    "imuse_similarity",
]
