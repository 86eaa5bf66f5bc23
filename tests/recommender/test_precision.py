"""ENGINE_PRECISION: the encoder's format on CUDA, and its agreement with fp32 within the stated tolerances
(devices.MOOD_TOLERANCE, devices.TOP10_SCORE_EPS). The CUDA code path (the torch encoder, uint8 batches
scaled on the device, the chosen format) runs here on the CPU against the CPU engine (ONNX Runtime fp32)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from recommender import devices, pipeline
from recommender.catalogue_index import TrackCatalogue
from recommender.devices import AUTO_CUDA_PRECISION, MOOD_TOLERANCE, resolve_precision, use_ieee_fp32
from recommender.encoders import EfficientNetLiteEncoder
from recommender.lab.precision import made_up_photos, mood_differences, top10_agreement, top_agreement
from recommender.model_cache import ModelCache
from recommender.pipeline import Engine, EngineConfig
from recommender.types import TrackRow


@pytest.fixture(scope="module")
def cpu_engine(tmp_path_factory) -> Engine:
    config = EngineConfig(device="cpu", model_dir=str(tmp_path_factory.mktemp("models")))
    return Engine(config)


@pytest.fixture(scope="module")
def dense_catalogue(cpu_engine: Engine) -> TrackCatalogue:
    """3,000 tracks spread evenly over valence/arousal: near-ties everywhere, as in bench/gpu.py's 20k."""
    rng = np.random.default_rng(1)
    rows = [
        TrackRow(track_id=i, artist=f"Artist {i % 600}", title=f"Track {i}", valence=v, arousal=a)
        for i, (v, a) in enumerate(rng.uniform(0, 1, size=(3_000, 2)), start=1)
    ]
    return cpu_engine.build_catalogue(rows)


def test_the_precision_applies_on_cuda_only_and_auto_is_the_agreeing_reduced_format() -> None:
    for setting in ("auto", "fp32", "fp16", "bf16"):
        assert resolve_precision(setting, "cpu") == "fp32"
    assert resolve_precision("auto", "cuda") == AUTO_CUDA_PRECISION == "fp16"
    assert [resolve_precision(p, "cuda:1") for p in ("fp32", "fp16", "bf16")] == ["fp32", "fp16", "bf16"]


def test_the_engine_asks_the_model_cache_for_the_resolved_precision(monkeypatch) -> None:
    made: list[dict[str, object]] = []

    def make_encoder(name: str, **options: object) -> object:
        made.append(options)
        return object()

    monkeypatch.setattr(pipeline, "make_encoder", make_encoder)
    monkeypatch.setattr(pipeline, "MODELS", ModelCache())  # the stand-ins stay out of the process's cache
    monkeypatch.setattr(pipeline, "resolve_device", lambda setting: "cuda")
    Engine(EngineConfig(device="auto", precision="bf16")).encoder  # noqa: B018 - loads through the cache
    Engine(EngineConfig(device="auto", precision="auto")).encoder  # noqa: B018
    Engine(EngineConfig(device="auto", precision="fp16")).cpu_encoder  # noqa: B018 - the OOM fallback
    assert [(m["device"], m["precision"]) for m in made] == [
        ("cuda", "bf16"),
        ("cuda", AUTO_CUDA_PRECISION),
        ("cpu", "fp32"),
    ]


def test_fp32_on_cuda_means_ieee_fp32_not_tf32() -> None:
    before = (torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32)
    try:
        torch.backends.cudnn.allow_tf32 = True  # torch's default for convolutions
        use_ieee_fp32()
        assert not torch.backends.cudnn.allow_tf32 and not torch.backends.cuda.matmul.allow_tf32
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = before


def test_a_batch_is_scaled_from_uint8_as_the_float_reference() -> None:
    encoder = EfficientNetLiteEncoder(runtime="torch", jit=False)
    photos = made_up_photos(3)
    pixels = encoder.prepare(photos)
    assert pixels.dtype == np.uint8 and pixels.shape == (3, 224, 224, 3)
    expected = (pixels.astype(np.float32) - 127.0) / 128.0
    got = encoder.preprocess(photos)
    assert got.is_contiguous(memory_format=torch.channels_last)
    assert np.array_equal(got.permute(0, 2, 3, 1).numpy(), expected)


def test_top_agreement_counts_near_ties_apart_from_real_disagreement() -> None:
    scores = {1: 0.90, 2: 0.80, 3: 0.700, 4: 0.699, 5: 0.50}
    swapped_tie = top_agreement([1, 2, 4], [1, 2, 3], scores, eps=0.01)
    assert (swapped_tie.overlap, swapped_tie.tie_aware, swapped_tie.same_first) == (2 / 3, 1.0, True)
    assert swapped_tie.near_ties == 1 and swapped_tie.gap_kth_next == pytest.approx(0.001)
    far = top_agreement([5, 2, 1], [1, 2, 3], scores, eps=0.01)
    assert (far.overlap, far.tie_aware, far.same_first) == (2 / 3, 2 / 3, False)


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_the_cuda_code_path_agrees_with_the_cpu_engine_within_the_tolerances(
    precision: str, cpu_engine: Engine, dense_catalogue: TrackCatalogue
) -> None:
    encoder = EfficientNetLiteEncoder(runtime="torch", device="cpu", precision=precision, batch_size=4)
    reduced = Engine(cpu_engine.config, encoder=encoder)
    photos = made_up_photos(6)
    got, reference = reduced.analyse_batch(photos), cpu_engine.analyse_batch(photos)
    differences = mood_differences(got, reference)
    worst = max(
        differences[k] for k in ("valence_abs_diff_max", "arousal_abs_diff_max", "emotion_abs_diff_max")
    )
    assert worst <= (1e-4 if precision == "fp32" else MOOD_TOLERANCE)
    ranked = top10_agreement(reduced, got, cpu_engine, reference, dense_catalogue)
    assert ranked["top10_tie_aware_min"] == 1.0
    if precision == "fp32":
        assert ranked["top10_overlap_min"] == 1.0


def test_bf16_is_measurably_coarser_than_fp16_so_auto_does_not_pick_it(cpu_engine: Engine) -> None:
    photos = made_up_photos(4)
    reference = cpu_engine.analyse_batch(photos)
    worst = {}
    for precision in ("fp16", "bf16"):
        encoder = EfficientNetLiteEncoder(runtime="torch", device="cpu", precision=precision, jit=False)
        got = Engine(cpu_engine.config, encoder=encoder).analyse_batch(photos)
        worst[precision] = mood_differences(got, reference)["embedding_cosine_min"]
    assert 1 - worst["bf16"] > 2 * (1 - worst["fp16"])
    assert devices.AUTO_CUDA_PRECISION != "bf16"


def test_an_unknown_precision_is_refused() -> None:
    with pytest.raises(ValueError, match="precision 'fp8' is not one of"):
        EfficientNetLiteEncoder(runtime="torch", precision="fp8")
    with pytest.raises(ValueError, match="precision 'fp8' is not one of"):
        replace(EngineConfig(), precision="fp8")
