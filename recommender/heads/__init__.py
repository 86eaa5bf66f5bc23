"""Learned heads over the frozen photo embedding: DYLUMO-style audio-feature prediction and an
Emo-CLIM-style emotion-aligned photo/music joint embedding. Inference is numpy (model.py); the torch
pieces for training are in nets.py and lab/training/ (train_heads.py, the entry point, with heads_data.py,
heads_fit.py, heads_eval.py and heads_card.py)."""

from __future__ import annotations

from .model import DEFAULT_HEADS_DIR, HeadsModel, load_heads, rank_photos_for_track, require_artifact

__all__ = ["DEFAULT_HEADS_DIR", "HeadsModel", "load_heads", "rank_photos_for_track", "require_artifact"]
