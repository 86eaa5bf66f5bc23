"""The engine's configuration has one source: recommender/config.py (defaults, ENGINE_* variables)."""

from __future__ import annotations

import json

import pytest

from recommender.config import (
    ACTIVE_FILE,
    ARTIFACTS_DIR,
    CLIP,
    DEFAULT_WEIGHTS,
    EngineConfig,
)


def test_defaults_are_the_active_artifacts_and_the_evaluated_weights() -> None:
    config = EngineConfig.from_environment({})
    active = json.loads(ACTIVE_FILE.read_text())
    assert config.mood_artifact == str(ARTIFACTS_DIR / active["mood"])
    assert config.heads_artifact == str(ARTIFACTS_DIR / active["heads"])
    assert config.weights() == DEFAULT_WEIGHTS and config.strategies == tuple(DEFAULT_WEIGHTS)
    assert (config.device, config.runtime, config.threads) == ("auto", "onnx", None)
    assert config.precision == "auto"


def test_every_variable_is_read() -> None:
    config = EngineConfig.from_environment(
        {
            "ENGINE_DEVICE": "cpu",
            "ENGINE_RUNTIME": "torch",
            "ENGINE_PRECISION": "bf16",
            "ENGINE_THREADS": "3",
            "ENGINE_MODEL_DIR": "/srv/models",
            "ENGINE_BATCH_SIZE": "32",
            "ENGINE_BATCH_WAIT_MS": "5",
            "ENGINE_IDLE_UNLOAD_SECONDS": "600",
            "ENGINE_MOOD_ARTIFACT": "/srv/mood-v9",
            "ENGINE_HEADS_ARTIFACT": "/srv/heads-v9",
            "ENGINE_FUSION": "rrf",
            "ENGINE_WEIGHTS": "va_match=0.25, emotion=0.75",
        }
    )
    assert (config.device, config.runtime, config.threads, config.model_dir) == (
        "cpu",
        "torch",
        3,
        "/srv/models",
    )
    assert (config.batch_size, config.batch_wait_ms, config.idle_unload_seconds) == (32, 5.0, 600.0)
    assert config.precision == "bf16"
    assert (config.mood_artifact, config.heads_artifact, config.fusion) == (
        "/srv/mood-v9",
        "/srv/heads-v9",
        "rrf",
    )
    assert config.strategies == ("va_match", "emotion") and config.weights() == {
        "va_match": 0.25,
        "emotion": 0.75,
    }


def test_another_encoder_gets_the_mood_only_default_unless_weights_are_given() -> None:
    clip = EngineConfig.from_environment({"ENGINE_ENCODER": CLIP, "ENGINE_CLIP_DIR": "/srv/clip"})
    assert clip.strategies == ("va_match", "emotion") and not clip.faces and clip.clip_dir == "/srv/clip"
    chosen = EngineConfig.from_environment({"ENGINE_ENCODER": CLIP, "ENGINE_WEIGHTS": "va_match=1"})
    assert chosen.strategies == ("va_match",)


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"ENGINE_DEVICE": "gpu"}, "device 'gpu' is not one of auto, cpu, cuda"),
        ({"ENGINE_ENCODER": "resnet"}, "encoder 'resnet' is not one of"),
        ({"ENGINE_THREADS": "two"}, "ENGINE_THREADS='two' is not a valid int"),
        ({"ENGINE_THREADS": "0"}, "threads must be at least 1"),
        ({"ENGINE_WEIGHTS": "va_match"}, "'va_match' is not 'strategy=weight'"),
        ({"ENGINE_WEIGHTS": "va_match=-1"}, "must not be negative"),
        ({"ENGINE_RUNTIME": "tensorrt"}, "runtime 'tensorrt' is not one of onnx, torch"),
        ({"ENGINE_PRECISION": "int8"}, "precision 'int8' is not one of auto, fp32, fp16, bf16"),
    ],
)
def test_a_bad_value_is_a_clear_error(variables: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        EngineConfig.from_environment(variables)


def test_django_refuses_to_start_with_a_bad_engine_setting(tmp_path) -> None:
    import os
    import subprocess
    import sys

    from tests.conftest import REPO_ROOT

    env = {**os.environ, "ENGINE_DEVICE": "gpu", "PHOTOPHONE_VAR_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=REPO_ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode != 0
    assert (
        "ImproperlyConfigured: engine configuration: device 'gpu' is not one of auto, cpu, cuda"
        in done.stderr
    )
