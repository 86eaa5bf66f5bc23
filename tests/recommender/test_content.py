"""The content path: MiniLM text encoder, ImageNet label names, and the "content" strategy."""

from __future__ import annotations

import numpy as np

from recommender.catalogue_index import TrackCatalogue
from recommender.imagenet import imagenet_labels, top_labels
from recommender.pipeline import Engine, EngineConfig
from recommender.strategies import ContentMatch, VAMatch
from recommender.strategies.content import TEXT_VECTORS, TITLE_WEIGHT, photo_text, track_words
from recommender.text import text_encoder, text_model_version
from recommender.types import TrackRow
from tests.recommender.helpers import make_photo


def test_text_encoder_gives_unit_vectors_and_related_texts_are_closer() -> None:
    vectors = text_encoder().encode(["sunny beach summer", "beach party", "funeral dirge"])
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.2
    assert text_encoder().encode([]).shape == (0, 384)


def test_batches_do_not_change_the_embeddings() -> None:
    texts = ["rain", "a long sentence about a quiet night in the city", "sun", "dance"]
    encoder = text_encoder()
    assert np.allclose(encoder.encode(texts, batch_size=1), encoder.encode(texts, batch_size=256), atol=1e-4)


def test_imagenet_labels_are_the_thousand_classes_in_order() -> None:
    labels = imagenet_labels()
    assert len(labels) == 1000
    assert labels[0] == "tench" and labels[1] == "goldfish"
    assert labels[207] == "Golden Retriever" and labels[281] == "tabby cat"
    assert labels[340] == "zebra" and labels[504] == "coffee mug"
    assert labels[977] == "sandbar" and labels[978] == "beach" and labels[980] == "volcano"


def test_top_labels_are_sorted_probabilities() -> None:
    logits = np.zeros((2, 1000), dtype=np.float32)
    logits[0, 978], logits[0, 977], logits[1, 340] = 9.0, 8.0, 5.0
    first, second = top_labels(logits, k=3)
    assert [name for name, _ in first[:2]] == ["beach", "sandbar"]
    assert first[0][1] > first[1][1] > first[2][1] and sum(p for _, p in first) <= 1.0
    assert second[0][0] == "zebra"


def test_repeated_texts_are_embedded_once_with_the_same_vector() -> None:
    encoder = text_encoder()
    texts = ["rain", "sun", "rain", "a long sentence about a quiet night in the city", "sun"]
    vectors = encoder.encode(texts)
    assert np.array_equal(vectors[0], vectors[2]) and np.array_equal(vectors[1], vectors[4])
    assert np.allclose(vectors, encoder.encode(texts[:2] + texts[3:4])[[0, 1, 0, 2, 1]], atol=1e-5)
    assert encoder.version == text_model_version() and "all-minilm-l6-v2" in encoder.version


def test_track_words_are_the_genre_then_distinct_tags() -> None:
    assert track_words("pop", ["Pop", " summer hits ", "", "a|b", "summer hits"]) == (
        "pop",
        "summer hits",
        "a|b",
    )
    assert track_words("", []) == ()


def test_track_vectors_mix_title_and_words_and_match_one_by_one_encoding() -> None:
    rows = [*_rows(), TrackRow(4, "Nobody", "Untagged", 0.5, 0.5)]
    strategy = ContentMatch()
    vectors = strategy.track_vectors(rows)
    encoder = strategy.encoder
    for row, vector in zip(rows, vectors, strict=True):
        title = encoder.encode([f"{row.title} by {row.artist}"])[0]
        words = track_words(row.genre, row.tags)
        mean = encoder.encode(list(words)).mean(axis=0) if words else 0.0
        expected = title if not words else TITLE_WEIGHT * title + (1 - TITLE_WEIGHT) * mean
        assert np.allclose(vector, expected / np.linalg.norm(expected), atol=1e-4)
    assert strategy.track_vectors([]).shape == (0, 384)


def _rows() -> list[TrackRow]:
    return [
        TrackRow(1, "Sun Crew", "Golden Hour", 0.6, 0.6, genre="pop", tags=["summer beach", "holiday hits"]),
        TrackRow(2, "Grey Skies", "Streetlights", 0.6, 0.6, genre="ambient", tags=["rainy night", "sleep"]),
        TrackRow(3, "Metalheads", "Forge", 0.6, 0.6, genre="metal", tags=["workout", "heavy"]),
    ]


def test_content_ranks_the_beach_track_first_for_a_beach_holiday_photo() -> None:
    photo = make_photo(0.6, 0.5)
    photo.labels = [("beach", 0.6), ("sandbar", 0.3), ("lakeshore", 0.05)]
    photo.descriptors = ["bright", "warm"]
    # lakeshore is left out: beach and sandbar already cover 90% of the probability.
    assert photo_text(photo) == "a photo of beach, sandbar, bright, warm"
    engine = Engine(
        EngineConfig(fusion_weights=(("va_match", 0.1), ("content", 1.0))),
        strategies=[VAMatch(), ContentMatch()],
    )
    catalogue = engine.build_catalogue(_rows())
    assert list(catalogue.vectors) == [TEXT_VECTORS] and catalogue.vectors[TEXT_VECTORS].shape == (3, 384)
    ranked = engine.recommend(photo, catalogue, top_k=3, context="holiday")
    assert [r.track_id for r in ranked][:1] == [1]
    assert ranked[-1].track_id != 1
    for r in ranked:
        assert 0.0 <= r.strategy_scores["content"] <= 1.0
    assert ranked[0].strategy_scores["content"] > ranked[-1].strategy_scores["content"]
    reason = next(t for t in ranked[0].reasons if "match the track's words" in t)
    assert "beach" in reason and "holiday" in reason and "summer beach" in reason


def test_content_proposes_candidates_and_is_neutral_without_text() -> None:
    engine = Engine(EngineConfig(), strategies=[VAMatch(), ContentMatch()])
    catalogue = engine.build_catalogue(_rows())
    strategy = ContentMatch()
    photo = make_photo(0.5, 0.5)
    assert strategy.candidates(photo, photo.va, catalogue, 5).size == 0
    result = strategy.score(photo, photo.va, catalogue, np.arange(3))
    assert np.allclose(result.scores, 0.5)
    photo.context = "heavy metal workout"
    assert strategy.candidates(photo, photo.va, catalogue, 1).tolist() == [2]


def test_content_scores_survive_save_and_load(tmp_path) -> None:
    engine = Engine(EngineConfig(), strategies=[ContentMatch()])
    loaded = TrackCatalogue.load(engine.build_catalogue(_rows()).save(tmp_path / "idx"))
    photo = make_photo(0.5, 0.5)
    photo.context = "rainy night"
    strategy = ContentMatch()
    rows = strategy.candidates(photo, photo.va, loaded, 3)
    assert rows[0] == 1
    result = strategy.score(photo, photo.va, loaded, rows)
    assert "rainy night" in result.reasons[0]
    assert loaded.tags[1] == ["rainy night", "sleep"] and loaded.genres[1] == "ambient"
