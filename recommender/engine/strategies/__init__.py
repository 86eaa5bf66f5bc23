"""Scoring strategies. Each one is registered by name; EngineConfig picks which run and their weights."""

from __future__ import annotations

from collections.abc import Callable

from .base import NeedsTrackVectors, ProposesCandidates, Strategy, StrategyResult
from .emotion_agreement import EmotionAgreement
from .va_match import VAMatch, imuse_similarity

STRATEGIES: dict[str, Callable[[], Strategy]] = {
    VAMatch.name: VAMatch,
    EmotionAgreement.name: EmotionAgreement,
}

__all__ = [
    "STRATEGIES",
    "EmotionAgreement",
    "NeedsTrackVectors",
    "ProposesCandidates",
    "Strategy",
    "StrategyResult",
    "VAMatch",
    "imuse_similarity",
]
