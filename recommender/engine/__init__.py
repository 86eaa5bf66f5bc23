"""Photophone's ML engine: plain Python (numpy, torch, faiss, PIL), no Django.

Typical use from a worker:

    engine = get_engine()                      # loads models once per process
    photo = engine.analyse(pil_image)          # mood, emotions, embedding, colour
    catalogue = TrackCatalogue.load(index_dir) # or TrackCatalogue.build(rows, version=fingerprint)
    ranked = engine.recommend(photo, catalogue, top_k=10, feedback=items, mode="match")
"""

from .catalogue_index import TrackCatalogue
from .describe import describe_mood, describe_photo
from .pipeline import Engine, EngineConfig, get_engine, lift_target
from .tracks import IMAGE_TO_MUSIC, MUSIC_EMOTIONS, track_position
from .types import IMAGE_EMOTIONS, FeedbackItem, PhotoAnalysis, RankedTrack, TrackRow

__all__ = [
    "IMAGE_EMOTIONS",
    "IMAGE_TO_MUSIC",
    "MUSIC_EMOTIONS",
    "Engine",
    "EngineConfig",
    "FeedbackItem",
    "PhotoAnalysis",
    "RankedTrack",
    "TrackCatalogue",
    "TrackRow",
    "describe_mood",
    "describe_photo",
    "get_engine",
    "lift_target",
    "track_position",
]
