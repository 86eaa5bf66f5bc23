"""Audio -> Spotify-style features and an audio embedding, for tracks added as audio.

The model is vibenet's (PyPI `vibenet`, GPL-3.0-or-later): a distilled EfficientNet over a 128-band
log-mel spectrogram of 16 kHz mono audio, pooled over time, with a 256-d trunk and one head per feature.
We run its ONNX file with onnxruntime and its own mel front end (`vibenet.core.extract_mel`), so the
input is exactly what it was trained on. Besides its seven outputs we read the trunk activation (the
input of every head) as the track's audio embedding: it is what the model "hears", kept on the track
for models trained with audio later.

What comes from where:

    acousticness, danceability, energy, instrumentalness, liveness, speechiness, valence  vibenet
    tempo           onset-autocorrelation estimate from the same mel spectrogram (BPM; `estimate_tempo`)
    loudness        RMS level of the whole decoded signal in dBFS (Spotify reports LUFS-like dB;
                    the two agree in scale, not exactly)
    duration_ms     decoded length

key, mode and time_signature stay unknown: no estimator here is reliable enough to be worth a value.
Decoding is libsndfile's (WAV, FLAC, OGG, MP3); anything it cannot read is an `AudioError`.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.resources
import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from .threads import onnx_session_options

SAMPLE_RATE = 16_000  # vibenet's input rate
MIN_SECONDS = 3.0
MAX_SECONDS = 300.0  # longer audio is analysed from its first five minutes
MEL_HOP = 320  # samples per mel frame in vibenet's front end: 50 frames a second
EMBEDDING_NAME = "gelu"  # the ONNX node after the shared trunk, before the per-feature heads
EMBEDDING_DIM = 256
VIBENET_FEATURES: tuple[str, ...] = (
    "acousticness",
    "danceability",
    "energy",
    "instrumentalness",
    "liveness",
    "speechiness",
    "valence",
)
# vibenet's heads for these give logits of a likelihood (sigmoid); the others are clipped regressions.
_LIKELIHOOD_FEATURES = frozenset({"acousticness", "instrumentalness", "liveness"})


class AudioError(ValueError):
    """The audio cannot be analysed; the message is meant for the person who uploaded it."""


@dataclass(frozen=True)
class AudioReading:
    features: dict[str, float]  # Spotify-style feature name -> value
    embedding: np.ndarray = field(repr=False)  # (EMBEDDING_DIM,) float32, L2-normalised
    seconds: float  # decoded length
    analysed_seconds: float
    model_version: str


def decode(source: str | Path | BinaryIO) -> tuple[np.ndarray, float]:
    """Mono float32 at SAMPLE_RATE, and the full length in seconds. Raises AudioError."""
    import soundfile
    import soxr

    try:
        with soundfile.SoundFile(source) as f:
            rate = f.samplerate
            seconds = f.frames / rate if f.frames > 0 else 0.0
            frames = f.read(int(MAX_SECONDS * rate), dtype="float32", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError, TypeError) as exc:
        raise AudioError(f"not a readable audio file (WAV, FLAC, OGG or MP3): {exc}") from exc
    if frames.size == 0:
        raise AudioError("the audio file holds no samples")
    mono = frames.mean(axis=1)
    if not np.isfinite(mono).all():
        raise AudioError("the audio holds invalid (NaN or infinite) samples")
    seconds = max(seconds, len(mono) / rate)
    if seconds < MIN_SECONDS:
        raise AudioError(f"the audio is {seconds:.1f} s long; at least {MIN_SECONDS:.0f} s is needed")
    if rate != SAMPLE_RATE:
        mono = soxr.resample(mono, rate, SAMPLE_RATE)
    return np.ascontiguousarray(mono, dtype=np.float32), float(seconds)


def loudness_dbfs(signal: np.ndarray) -> float:
    rms = float(np.sqrt(np.mean(np.square(signal, dtype=np.float64))))
    return float(np.clip(20.0 * np.log10(max(rms, 1e-6)), -60.0, 0.0))


def estimate_tempo(mel_db: np.ndarray, frames_per_second: float) -> float | None:
    """Tempo in BPM from a log-mel spectrogram (bands x frames): the autocorrelation of the spectral-flux
    onset envelope, weighted by a log-normal prior around 120 BPM (one octave wide), as in the usual
    onset-autocorrelation estimators. None when the audio has no periodic onsets."""
    flux = np.maximum(0.0, np.diff(mel_db, axis=1)).mean(axis=0)
    if flux.size < 4 * frames_per_second:
        return None
    # A 3-frame smoothing: a beat period that falls between two 20 ms frames would otherwise lose to
    # its double (140 BPM read as 70 on a click track).
    flux = np.convolve(flux, np.array([0.25, 0.5, 0.25]), mode="same")
    flux = flux - flux.mean()
    spectrum = np.fft.rfft(flux, n=2 * flux.size)
    autocorr = np.fft.irfft(spectrum * np.conj(spectrum))[: flux.size]
    if autocorr[0] <= 0:
        return None
    lags = np.arange(int(frames_per_second * 60 / 250), int(frames_per_second * 60 / 30) + 1)
    lags = lags[(lags > 0) & (lags < flux.size)]
    bpm = 60.0 * frames_per_second / lags
    prior = np.exp(-0.5 * np.log2(bpm / 120.0) ** 2)
    strength = autocorr[lags] / autocorr[0]
    best = int(np.argmax(strength * prior))
    if strength[best] <= 0.05:
        return None
    # Parabolic interpolation between neighbouring lags: frames are 20 ms, too coarse near 150 BPM.
    lag = float(lags[best])
    if 0 < best < len(lags) - 1:
        left, centre, right = autocorr[lags[best - 1]], autocorr[lags[best]], autocorr[lags[best + 1]]
        denominator = left - 2 * centre + right
        if denominator < 0:
            lag += 0.5 * (left - right) / denominator
    return float(60.0 * frames_per_second / lag)


def _model_path() -> Path:
    return Path(str(importlib.resources.files("vibenet.artifacts") / "efficientnet_model.onnx"))


class AudioAnalyser:
    """Loads the ONNX model once (lazily, thread-safe); `analyse` is safe to call from many threads."""

    def __init__(self, threads: int = 1) -> None:
        self.threads = threads
        self._session: Any = None
        self._lock = threading.Lock()
        self._version: str | None = None

    @property
    def model_version(self) -> str:
        if self._version is None:
            digest = hashlib.sha256(_model_path().read_bytes()).hexdigest()[:12]
            self._version = f"vibenet-{importlib.metadata.version('vibenet')}-{digest}"
        return self._version

    def _ensure_session(self) -> Any:
        with self._lock:
            if self._session is None:
                import onnx
                import onnxruntime

                model = onnx.load(str(_model_path()))
                model.graph.output.append(
                    onnx.helper.make_tensor_value_info(EMBEDDING_NAME, onnx.TensorProto.FLOAT, None)
                )
                options = onnx_session_options(self.threads)
                self._session = onnxruntime.InferenceSession(
                    model.SerializeToString(), options, providers=["CPUExecutionProvider"]
                )
            return self._session

    def analyse(self, source: str | Path | BinaryIO) -> AudioReading:
        signal, seconds = decode(source)
        return self.analyse_signal(signal, seconds)

    def analyse_signal(self, signal: np.ndarray, seconds: float | None = None) -> AudioReading:
        """`signal`: mono float32 at SAMPLE_RATE."""
        session = self._ensure_session()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pydub, imported by vibenet.core, warns about a missing ffmpeg
            from vibenet.core import extract_mel

        mel = extract_mel(signal, SAMPLE_RATE)
        logits, trunk = session.run(None, {"x": mel[np.newaxis]})
        features: dict[str, float] = {}
        for name, logit in zip(VIBENET_FEATURES, np.asarray(logits)[0], strict=True):
            value = 1.0 / (1.0 + np.exp(-logit)) if name in _LIKELIHOOD_FEATURES else np.clip(logit, 0, 1)
            features[name] = round(float(value), 4)
        features["loudness"] = round(loudness_dbfs(signal), 2)
        tempo = estimate_tempo(mel, SAMPLE_RATE / MEL_HOP)
        if tempo is not None:
            features["tempo"] = round(tempo, 1)
        analysed = len(signal) / SAMPLE_RATE
        total = seconds if seconds is not None else analysed
        features["duration_ms"] = round(total * 1000)
        embedding = np.asarray(trunk, dtype=np.float32).reshape(-1)
        embedding /= max(float(np.linalg.norm(embedding)), 1e-12)
        return AudioReading(features, embedding, float(total), float(analysed), self.model_version)


def embedding_to_bytes(embedding: np.ndarray) -> bytes:
    return np.asarray(embedding, dtype="<f4").tobytes()


def embedding_from_bytes(raw: bytes) -> np.ndarray:
    return np.frombuffer(raw, dtype="<f4").copy()
