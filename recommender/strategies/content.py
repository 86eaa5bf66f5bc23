"""Content path of Mood Melody Mapper (Jadhav & Kaur): what the photo shows against the track's words.

Photo text: "a photo of <ImageNet labels>, <colour words>" plus the user's context, each embedded with
MiniLM; the query is the normalised sum, so the user's words weigh as much as what the model saw.
Track vector ("text_minilm", computed when the catalogue is built): "title by artist" and the track's
genre and tags (playlist names, subgenres); see ContentMatch.track_vectors. Score: the cosine, rescaled
linearly from [COS_LOW, COS_HIGH] to [0, 1] (MiniLM cosines between such short texts are small). The
strategy proposes its own nearest tracks, so a strong topic match competes even when its mood is far
from the photo's.

Reasons name the track's tags/genre (kept by the catalogue with its titles) closest to the photo text.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence

import numpy as np

from ..catalogue_index import TrackCatalogue, TrackRepresentation
from ..text import TextEncoder, text_encoder, text_model_version
from ..types import PhotoAnalysis, TrackRow
from .base import StrategyResult

TEXT_VECTORS = "text_minilm"
# Share of the track vector from "title by artist"; the rest is the mean of its genre/tag vectors.
TITLE_WEIGHT = 0.4
# Cosine -> score: COS_LOW and below is 0, COS_HIGH and above is 1. For Emotion6 photos against the
# 28k-track Spotify set, the median track's cosine is about 0.21 and the best track's 0.31-0.56.
COS_LOW = 0.15
COS_HIGH = 0.55
# ImageNet labels kept for the photo text: the best one, then others while each has at least this
# probability, until they cover LABEL_MASS of it.
LABEL_MIN_PROB = 0.05
LABEL_MASS = 0.8
MAX_LABELS = 5
# Only the best-matching candidates get their closest words named (each word is embedded once).
WORDED_CANDIDATES = 20
_WORD_CACHE_SIZE = 20_000
# On first use of a catalogue, embed its whole tag vocabulary at once when it is at most this big.
WARM_VOCABULARY = 5_000
# "title by artist" vectors are kept, so a rebuild after a catalogue change embeds only new tracks.
_TITLE_CACHE_SIZE = 50_000


def track_title(row: TrackRow) -> str:
    return f"{row.title} by {row.artist}" if row.artist else row.title


def track_words(genre: str, tags: Sequence[str]) -> tuple[str, ...]:
    """Genre and tags, de-duplicated case-insensitively, in order."""
    seen: set[str] = set()
    words = []
    for word in [genre, *tags]:
        word = word.strip()
        if word and word.lower() not in seen:
            seen.add(word.lower())
            words.append(word)
    return tuple(words)


def photo_labels(photo: PhotoAnalysis) -> list[str]:
    labels: list[str] = []
    mass = 0.0
    for name, prob in photo.labels[:MAX_LABELS]:
        if labels and (prob < LABEL_MIN_PROB or mass >= LABEL_MASS):
            break
        labels.append(name)
        mass += prob
    return labels


def photo_text(photo: PhotoAnalysis) -> str:
    """'a photo of beach, sandbar, bright, warm' ('' when there is nothing to say)."""
    words = photo_labels(photo) + list(photo.descriptors)
    return f"a photo of {', '.join(words)}" if words else ""


def rescale(cosine: np.ndarray) -> np.ndarray:
    return np.clip((np.asarray(cosine, dtype=np.float64) - COS_LOW) / (COS_HIGH - COS_LOW), 0.0, 1.0)


class ContentMatch:
    name = "content"

    def __init__(self, encoder: TextEncoder | None = None) -> None:
        self._encoder = encoder
        self._queries: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
        self._words: OrderedDict[str, np.ndarray] = OrderedDict()
        self._titles: dict[str, np.ndarray] = {}
        self._warmed: set[str] = set()

    # It reads text for every photo: the engine keeps MiniLM loaded after building the index.
    uses_text_model = True

    @property
    def encoder(self) -> TextEncoder:
        return self._encoder if self._encoder is not None else text_encoder()

    def track_representations(self) -> Mapping[str, TrackRepresentation]:
        def texts(rows: Sequence[TrackRow]) -> np.ndarray:
            return self.track_vectors(rows)

        return {TEXT_VECTORS: texts}

    def representation_version(self) -> str:
        encoder = self._encoder.version if self._encoder is not None else text_model_version()
        # Bump the /2 when the way track texts are built or combined changes.
        return f"{TEXT_VECTORS}/2:{encoder}:title_weight={TITLE_WEIGHT}"

    def track_vectors(self, rows: Sequence[TrackRow]) -> np.ndarray:
        """TITLE_WEIGHT * "title by artist" + (1 - TITLE_WEIGHT) * mean of its genre/tag vectors, unit
        length. Tags repeat across tracks (456 distinct in the 28k-track Spotify set), so each word is
        embedded once and each distinct genre/tag combination averaged once; the cost is one short text
        per distinct title."""
        titles = self._embed_titles([track_title(r) for r in rows])
        combos: dict[tuple[str, ...], int] = {}  # distinct genre/tag combination -> its slot
        slots = [combos.setdefault(track_words(r.genre, r.tags), len(combos)) for r in rows]
        vocab = self._embed_words({w for combo in combos for w in combo})
        means = np.zeros((len(combos), titles.shape[1]), dtype=np.float32)
        for slot, combo in enumerate(combos):
            if combo:
                means[slot] = np.mean([vocab[w] for w in combo], axis=0)
        has_words = np.array([bool(combo) for combo in combos], dtype=bool)[slots]
        mixed = TITLE_WEIGHT * titles + (1 - TITLE_WEIGHT) * means[slots]
        out = np.where(has_words[:, None], mixed, titles)
        return (out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)).astype(np.float32)

    def _embed_titles(self, texts: list[str]) -> np.ndarray:
        """(len(texts), 384) through the title cache, so a rebuild embeds only new titles."""
        new = sorted({t for t in texts if t not in self._titles})
        if len(self._titles) + len(new) > _TITLE_CACHE_SIZE:
            self._titles.clear()
            new = sorted(set(texts))
        self._titles.update(zip(new, self.encoder.encode(new), strict=True))
        if not texts:
            return np.zeros((0, self.encoder.dim), dtype=np.float32)
        return np.stack([self._titles[t] for t in texts])

    def _embed_words(self, words: set[str]) -> dict[str, np.ndarray]:
        """word -> unit vector for these words, through a bounded cache."""
        missing = sorted(w for w in words if w not in self._words)
        found = {w: self._words[w] for w in words if w in self._words}
        if missing:
            found.update(zip(missing, self.encoder.encode(missing), strict=True))
            self._words.update((w, found[w]) for w in missing)
            while len(self._words) > _WORD_CACHE_SIZE:
                self._words.popitem(last=False)
        return found

    def query(self, photo: PhotoAnalysis) -> np.ndarray | None:
        """The photo's unit query vector, or None when there is neither a label, a colour word nor context."""
        key = (photo_text(photo), photo.context.strip())
        if key in self._queries:
            self._queries.move_to_end(key)
            return self._queries[key]
        texts = [t for t in key if t]
        if not texts:
            return None
        q = self.encoder.encode(texts).sum(axis=0)
        q = (q / max(float(np.linalg.norm(q)), 1e-12)).astype(np.float32)
        self._queries[key] = q
        if len(self._queries) > 16:  # candidates() and score() of one request share it
            self._queries.popitem(last=False)
        return q

    def candidates(
        self, photo: PhotoAnalysis, target: tuple[float, float], catalogue: TrackCatalogue, k: int
    ) -> np.ndarray:
        q = self.query(photo)
        if q is None or TEXT_VECTORS not in catalogue.vectors:
            return np.zeros(0, dtype=np.int64)
        return catalogue.search_vectors(TEXT_VECTORS, q, k)[0]

    def score(
        self,
        photo: PhotoAnalysis,
        target: tuple[float, float],
        catalogue: TrackCatalogue,
        candidate_idx: np.ndarray,
    ) -> StrategyResult:
        n = len(candidate_idx)
        q = self.query(photo)
        if q is None or TEXT_VECTORS not in catalogue.vectors:
            return StrategyResult(np.full(n, 0.5), [""] * n)  # nothing to compare: neutral
        cos = np.asarray(catalogue.vectors[TEXT_VECTORS])[candidate_idx] @ q
        scores = rescale(cos)
        shown = self._shown(photo)
        verb = "match" if photo.context.strip() else "matches"
        best = np.argsort(-cos)[:WORDED_CANDIDATES]
        named = self._closest_words(q, catalogue, [int(candidate_idx[i]) for i in best])

        def explain(positions: np.ndarray) -> list[str]:
            reasons = []
            for pos in positions:
                words = named.get(int(candidate_idx[pos]))
                if words:
                    reasons.append(f"{shown} {verb} the track's words ({', '.join(words)}) {scores[pos]:.2f}")
                else:
                    reasons.append(f"{shown} vs the track's title and tags: text match {scores[pos]:.2f}")
            return reasons

        return StrategyResult(scores, explain)

    @staticmethod
    def _shown(photo: PhotoAnalysis) -> str:
        labels = photo_labels(photo)[:3] or photo.descriptors[:3]
        text = f"what the photo shows ({', '.join(labels)})" if labels else "the photo"
        context = photo.context.strip()
        if context:
            short = context if len(context) <= 40 else context[:37] + "..."
            text += f' and your words ("{short}")'
        return text

    def _closest_words(
        self, q: np.ndarray, catalogue: TrackCatalogue, rows: Sequence[int], k: int = 2
    ) -> dict[int, list[str]]:
        """row -> its k tags/genre closest to the query; each new word is embedded once (one batch)."""
        if catalogue.version not in self._warmed:  # a loaded catalogue: embed its vocabulary in one go
            self._warmed.add(catalogue.version)
            vocabulary = {
                w
                for genre, tags in zip(catalogue.genres, catalogue.tags, strict=True)
                for w in track_words(genre, tags)
            }
            if len(vocabulary) <= WARM_VOCABULARY:
                self._embed_words(vocabulary)
        words = {row: track_words(catalogue.genres[row], catalogue.tags[row]) for row in rows}
        vocab = self._embed_words({w for ws in words.values() for w in ws})
        out = {}
        for row, ws in words.items():
            sims = [float(vocab[w] @ q) for w in ws]
            out[row] = [ws[i] for i in np.argsort(sims)[::-1][:k]]
        return out
