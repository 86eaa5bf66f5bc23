"""One model cache per process: loaded once under a lock, keyed by options, unloaded when idle."""

from __future__ import annotations

import threading
import time

import pytest

from recommender.model_cache import ModelCache
from recommender.text import MINILM
from tests.recommender.helpers import grid_rows, mood_only_config


def test_concurrent_callers_load_a_model_once() -> None:
    cache = ModelCache()
    loads: list[int] = []

    def load() -> object:
        loads.append(1)
        time.sleep(0.2)
        return object()

    got: list[object] = []
    threads = [threading.Thread(target=lambda: got.append(cache.get("m", load, size=1))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(loads) == 1 and len({id(g) for g in got}) == 1


def test_options_are_part_of_the_key() -> None:
    cache = ModelCache()
    a = cache.get("m", object, device="cpu")
    b = cache.get("m", object, device="cuda")
    assert a is not b and cache.get("m", object, device="cpu") is a
    assert {str(m.key) for m in cache.loaded()} == {"m(device=cpu)", "m(device=cuda)"}


def test_a_failed_load_is_retried_by_the_next_caller() -> None:
    cache = ModelCache()

    def broken() -> object:
        raise OSError("weights missing")

    with pytest.raises(OSError, match="weights missing"):
        cache.get("m", broken)
    assert not cache.is_loaded("m")
    assert cache.get("m", lambda: "ok") == "ok"


def test_idle_models_are_unloaded_and_loaded_again_on_demand() -> None:
    cache = ModelCache()
    first = cache.get("idle", object)
    cache.get("busy", object)
    time.sleep(0.3)
    cache.get("busy", object)  # used just now
    assert [k.kind for k in cache.unload_idle(0.2)] == ["idle"]
    assert cache.is_loaded("busy") and not cache.is_loaded("idle")
    assert cache.get("idle", object) is not first


def test_the_idle_reaper_thread_unloads(monkeypatch) -> None:
    cache = ModelCache()
    cache.get("m", object)
    monkeypatch.setattr("recommender.model_cache.time.sleep", lambda s: threading.Event().wait(0.05))
    cache.start_idle_reaper(0.01)
    deadline = time.monotonic() + 5
    while cache.is_loaded("m") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not cache.is_loaded("m")


def test_the_engine_asks_the_cache_so_an_unloaded_model_is_freed_and_reloaded() -> None:
    from recommender.model_cache import MODELS
    from recommender.pipeline import Engine

    engine = Engine(mood_only_config())
    mood = engine.mood
    assert engine.mood is mood  # from the cache, not loaded twice
    MODELS.unload("mood")
    assert engine.mood is not mood


@pytest.mark.parametrize(("strategies", "kept"), [(("va_match",), False), (("va_match", "content"), True)])
def test_minilm_is_unloaded_after_the_index_build_unless_a_strategy_reads_text(strategies, kept) -> None:
    from recommender.config import EngineConfig
    from recommender.model_cache import MODELS
    from recommender.pipeline import Engine
    from recommender.text import text_encoder

    text_encoder()  # loaded, as an index build with text vectors leaves it
    weights = tuple((name, 1.0) for name in strategies)
    engine = Engine(EngineConfig(strategies=strategies, fusion_weights=weights))
    engine.build_catalogue(grid_rows(3, 2))
    assert MODELS.is_loaded(MINILM, max_length=128) is kept


def test_text_embeddings_are_kept_by_text_so_a_rebuild_needs_no_minilm(tmp_path) -> None:
    from recommender.model_cache import MODELS
    from recommender.text import embed_or_zero, text_encoder, use_embedding_store

    use_embedding_store(tmp_path)
    try:
        first = embed_or_zero(["pop; dance pop", "", "rock; hard rock", "pop; dance pop"], 64)
        assert (first[1] == 0).all() and (first[0] == first[3]).all()
        assert abs(float(first[0] @ first[0]) - 1) < 1e-5
        MODELS.clear()  # a new process: no MiniLM loaded
        again = embed_or_zero(["rock; hard rock", "pop; dance pop"], 64)
        assert not MODELS.is_loaded(MINILM, max_length=64)  # read back, not embedded again
        assert (again[0] == first[2]).all() and (again[1] == first[0]).all()
        mixed = embed_or_zero(["pop; dance pop", "jazz; bebop"], 64)  # one new text
        assert MODELS.is_loaded(MINILM, max_length=64)
        assert abs(float(mixed[1] @ text_encoder(64).encode(["jazz; bebop"])[0]) - 1) < 1e-5
    finally:
        use_embedding_store(None)
