"""Models exported to ONNX at first use: whole or absent, rebuilt when damaged, checked against torch."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from recommender.encoders import EfficientNetLiteEncoder
from recommender.onnx_export import ExportError, export_name, exported_session


class Tiny(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = torch.nn.Conv2d(3, 4, 3)
        self.fc = torch.nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        pooled = self.conv(x).mean(dim=(2, 3))
        return pooled, self.fc(pooled)


PROBE = torch.rand(2, 3, 8, 8)


def _run(session, x: torch.Tensor) -> list[np.ndarray]:
    return session.run(None, {"input": x.numpy()})


def test_first_use_exports_and_later_uses_load_the_file(tmp_path: Path) -> None:
    path = tmp_path / "tiny.onnx"
    module = Tiny().eval()
    session = exported_session(module, path, PROBE, ("pooled", "logits"))
    assert path.exists() and (tmp_path / "tiny.onnx.sha256").exists()
    written = path.stat().st_mtime_ns
    again = exported_session(module, path, PROBE, ("pooled", "logits"))
    assert path.stat().st_mtime_ns == written  # loaded, not exported again
    x = torch.rand(3, 3, 8, 8)
    with torch.inference_mode():
        expected = module(x)
    for got in (_run(session, x), _run(again, x)):  # dynamic batch size
        for e, g in zip(expected, got, strict=True):
            assert np.allclose(e.numpy(), g, atol=1e-5)
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


@pytest.mark.parametrize("damage", ["truncate", "garbage", "no digest"])
def test_a_damaged_file_is_exported_again_with_a_warning(tmp_path: Path, caplog, damage: str) -> None:
    path = tmp_path / "tiny.onnx"
    module = Tiny().eval()
    exported_session(module, path, PROBE, ("pooled", "logits"))
    whole = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(whole[: len(whole) // 2])
    elif damage == "garbage":
        path.write_bytes(b"\x00" * len(whole))
    else:
        (tmp_path / "tiny.onnx.sha256").unlink()
    with caplog.at_level(logging.WARNING, logger="recommender.onnx_export"):
        session = exported_session(module, path, PROBE, ("pooled", "logits"))
    assert "is damaged" in caplog.text and "exporting it again" in caplog.text
    assert path.read_bytes() == whole
    assert _run(session, PROBE)[1].shape == (2, 2)


def test_an_export_that_computes_something_else_is_refused_and_nothing_is_left(tmp_path, monkeypatch) -> None:
    path = tmp_path / "tiny.onnx"
    module = Tiny().eval()
    real_run = module.forward

    # torch answers differently from what was exported (as a broken exporter would produce)
    calls = {"n": 0}

    def drifting(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        calls["n"] += 1
        pooled, logits = real_run(x)
        return pooled, logits + (1.0 if calls["n"] > 1 else 0.0)

    monkeypatch.setattr(module, "forward", drifting)
    with pytest.raises(ExportError, match="differs from torch"):
        exported_session(module, path, PROBE, ("pooled", "logits"))
    assert not path.exists() and not any(p.suffix == ".tmp" for p in tmp_path.iterdir())


def test_the_export_name_follows_the_weights(tmp_path: Path) -> None:
    a, b = tmp_path / "a.bin", tmp_path / "b.bin"
    a.write_bytes(b"weights one")
    b.write_bytes(b"weights two")
    assert export_name("m", a) != export_name("m", b) and export_name("m", a) == export_name("m", a)


@pytest.fixture(scope="module")
def photos() -> list[Image.Image]:
    rng = np.random.default_rng(1)
    return [Image.fromarray(rng.integers(0, 255, (300, 400, 3), dtype=np.uint8)) for _ in range(5)]


def test_the_onnx_encoder_gives_the_torch_encoders_outputs(tmp_path_factory, photos) -> None:
    model_dir = tmp_path_factory.mktemp("models")
    onnx = EfficientNetLiteEncoder(runtime="onnx", model_dir=model_dir)
    eager = EfficientNetLiteEncoder(runtime="torch", jit=False)
    assert onnx.runtime == "onnx" and eager.runtime == "torch"
    for got, want in zip(onnx.encode_full(photos), eager.encode_full(photos), strict=True):
        assert np.allclose(got, want, atol=1e-4), float(np.abs(got - want).max())


def test_the_encoder_falls_back_to_torch_when_the_export_fails(tmp_path, monkeypatch, caplog, photos) -> None:
    def failing(*args, **kwargs):
        raise ExportError("exporting efficientnet-lite0 to ONNX failed: no space left on device")

    monkeypatch.setattr("recommender.encoders.exported_session", failing)
    with caplog.at_level(logging.WARNING, logger="recommender.encoders"):
        encoder = EfficientNetLiteEncoder(runtime="onnx", model_dir=tmp_path, jit=False)
    assert encoder.runtime == "torch"
    assert "no space left on device; the encoder runs in torch instead" in caplog.text
    assert encoder.encode(photos[:1]).shape == (1, 1280)


def test_without_onnx_runtime_the_encoder_runs_in_torch_with_a_warning(tmp_path, monkeypatch, caplog) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # as on a machine with only torch installed
    with caplog.at_level(logging.WARNING, logger="recommender.encoders"):
        encoder = EfficientNetLiteEncoder(runtime="onnx", model_dir=tmp_path, jit=False)
    assert encoder.runtime == "torch" and "the encoder runs in torch instead" in caplog.text
    assert encoder.encode([Image.new("RGB", (64, 48), (200, 120, 40))]).shape == (1, 1280)
    assert [p.name for p in tmp_path.iterdir() if p.suffix in (".onnx", ".tmp")] == []
