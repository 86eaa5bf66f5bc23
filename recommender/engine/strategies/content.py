"""Content path of Mood Melody Mapper (Jadhav & Kaur): what the photo shows against the track's words.

Photo text: "a photo of <ImageNet labels>, <colour words>" plus the user's context, each embedded with
MiniLM; the query is the normalised sum, so the user's words weigh as much as what the model saw.
Track vector ("text_minilm", computed when the catalogue is built): "title by artist" and the track's
genre and tags (playlist names, subgenres); see ContentMatch.track_vectors. Score: the cosine, rescaled
linearly from [COS_LOW, COS_HIGH] to [0, 1] (MiniLM cosines between such short texts are small). The
strategy proposes its own nearest tracks, so a strong topic match competes even when its mood is far
from the photo's.

Reasons name the track's tags/genre closest to the photo text. TrackCatalogue keeps no tags, so they
travel with the catalogue as a second representation, "text_words": the Unicode code points of
"genre|tag|tag..." (whole words, up to WORDS_CHARS characters), saved and memory-mapped like any
other vector.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence

import numpy as np

from ..catalogue_index import TrackCatalogue, TrackRepresentation
from ..text import TextEncoder, get_text_encoder
from ..types import PhotoAnalysis, TrackRow
from .base import StrategyResult

TEXT_VECTORS = "text_minilm"
WORD_VECTORS = "text_words"
WORDS_CHARS = 128
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


def track_words(row: TrackRow) -> list[str]:
    """Genre and tags, de-duplicated case-insensitively, in order."""
    seen: set[str] = set()
    words = []
    for word in [row.genre, *row.tags]:
        word = word.strip()
        if word and word.lower() not in seen and "|" not in word:
            seen.add(word.lower())
            words.append(word)
    return words


def encode_words(words: Sequence[str]) -> np.ndarray:
    """'genre|tag|...' as float32 code points (exact: code points < 2^24), zero-padded; whole words
    only, as many as fit in WORDS_CHARS."""
    text = ""
    for word in words:
        joined = f"{text}|{word}" if text else word
        if len(joined) > WORDS_CHARS:
            break
        text = joined
    out = np.zeros(WORDS_CHARS, dtype=np.float32)
    out[: len(text)] = [ord(c) for c in text]
    return out


def decode_words(vector: np.ndarray) -> list[str]:
    text = "".join(chr(int(c)) for c in np.asarray(vector) if c > 0)
    return [w for w in text.split("|") if w]


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

    @property
    def encoder(self) -> TextEncoder:
        if self._encoder is None:
            self._encoder = get_text_encoder()
        return self._encoder

    def track_representations(self) -> Mapping[str, TrackRepresentation]:
        def texts(rows: Sequence[TrackRow]) -> np.ndarray:
            return self.track_vectors(rows)

        def words(rows: Sequence[TrackRow]) -> np.ndarray:
            return np.stack([encode_words(track_words(r)) for r in rows]).reshape(len(rows), WORDS_CHARS)

        return {TEXT_VECTORS: texts, WORD_VECTORS: words}

    def track_vectors(self, rows: Sequence[TrackRow]) -> np.ndarray:
        """TITLE_WEIGHT * "title by artist" + (1 - TITLE_WEIGHT) * mean of its genre/tag vectors, unit
        length. Tags repeat across tracks (456 distinct in the 28k-track Spotify set), so each is embedded
        once: a 30k catalogue costs about one short text per track instead of one long one."""
        texts = [track_title(r) for r in rows]
        new = sorted({t for t in texts if t not in self._titles})
        if len(self._titles) + len(new) > _TITLE_CACHE_SIZE:
            self._titles.clear()
            new = sorted(set(texts))
        self._titles.update(zip(new, self.encoder.encode(new), strict=True))
        titles = np.stack([self._titles[t] for t in texts]) if texts else np.zeros((0, 384), np.float32)
        per_row = [track_words(r) for r in rows]
        vocab = self._embed_words({w for ws in per_row for w in ws})
        out = np.empty_like(titles)
        for i, ws in enumerate(per_row):
            v = titles[i]
            if ws:
                v = TITLE_WEIGHT * v + (1 - TITLE_WEIGHT) * np.mean([vocab[w] for w in ws], axis=0)
            out[i] = v / max(float(np.linalg.norm(v)), 1e-12)
        return out

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
        reasons = []
        for pos in range(n):
            words = named.get(int(candidate_idx[pos]))
            if words:
                reasons.append(f"{shown} {verb} the track's words ({', '.join(words)}) {scores[pos]:.2f}")
            else:
                reasons.append(f"{shown} vs the track's title and tags: text match {scores[pos]:.2f}")
        return StrategyResult(scores, reasons)

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
        if WORD_VECTORS not in catalogue.vectors:
            return {}
        matrix = np.asarray(catalogue.vectors[WORD_VECTORS])
        if catalogue.version not in self._warmed:  # a loaded catalogue: embed its vocabulary in one go
            self._warmed.add(catalogue.version)
            vocabulary = {w for combo in np.unique(matrix, axis=0) for w in decode_words(combo)}
            if len(vocabulary) <= WARM_VOCABULARY:
                self._embed_words(vocabulary)
        words = {row: decode_words(matrix[row]) for row in rows}
        vocab = self._embed_words({w for ws in words.values() for w in ws})
        out = {}
        for row, ws in words.items():
            sims = [float(vocab[w] @ q) for w in ws]
            out[row] = [ws[i] for i in np.argsort(sims)[::-1][:k]]
        return out
