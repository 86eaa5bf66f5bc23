"""The engine's configuration, in one place: every setting the engine reads, its shipped default, and how it
is read from the environment.

- Which trained artifact of each kind is served: the one marked in artifacts/active.json (written by
  training, reviewed like code); EngineConfig's artifact defaults come from it, nowhere else.
- The default strategies and fusion weights: the best combination of the evaluation (DEFAULT_WEIGHTS).
- Deployment settings (encoder, device, threads, batching, ...): ENGINE_* environment variables, read by
  EngineConfig.from_environment. Django's settings hold the result (settings.ENGINE) and the adapter
  hands it to the engine; a script or benchmark calls from_environment itself.

This module imports nothing heavy (no torch, no faiss), so settings can import it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Literal

ARTIFACTS_DIR = Path(__file__).resolve().parent / "artifacts"
ACTIVE_FILE = ARTIFACTS_DIR / "active.json"

EFFICIENTNET_LITE0 = "efficientnet-lite0"
# An option, not the default: its mood model (mood-v4) reads valence better on held-out OASIS themes
# (r 0.60 against mood-v3's 0.55) at about twice Lite0's encoder time (artifacts/mood-v4/card.json).
EFFICIENTNET_LITE2 = "efficientnet-lite2"
# Only inside the pair below (its weights are a dependency for it, not an encoder of its own).
EFFICIENTNET_LITE1 = "efficientnet-lite1"
# An option for machines with time to spare (a GPU worker): Lite1 and Lite2 both at 340 px on each photo,
# read together by mood-v5, the best valence of the lab (r 0.66 against mood-v4's 0.60 on held-out OASIS
# themes) at about 5x Lite0's encoder time (artifacts/mood-v5/card.json, lite_pair.py).
EFFICIENTNET_LITE_PAIR = "efficientnet-lite1-lite2-340"
# CLIP from a local directory (clip.py, docs/clip.md); opt-in because no CLIP weights ship on PyPI.
CLIP = "clip"
ENCODERS: tuple[str, ...] = (EFFICIENTNET_LITE0, EFFICIENTNET_LITE2, EFFICIENTNET_LITE_PAIR, CLIP)
# The mood artifact an encoder other than the default is served with unless one is configured.
ENCODER_MOOD_ARTIFACTS: dict[str, str] = {EFFICIENTNET_LITE2: "mood-v4", EFFICIENTNET_LITE_PAIR: "mood-v5"}

# The default weights per kind of catalogue, chosen by recommender.lab.evaluation.kind_weights on OASIS
# photos (mood read out of fold) against catalogues of each kind, by theme-grouped cross-validation with
# the rule the reranker gate uses: fused weights replace the best single strategy only if, out of fold in
# an inner cross-validation over the choosing themes, they beat it on P@5 and NDCG@10 of every relevance
# with 95% confidence (a one-sided paired bootstrap over whole themes, lab/stats.py); a tie or a gain within
# the noise keeps the single strategy (docs/evaluation.md, "Catalogues of each kind"; a test checks these
# equal what the selection chose in the report). On every kind measured no mixture cleared it: the other
# strategies read the same photo embedding as the mood model, and the grid's best mixture on all themes
# (va_match 0.8, joint_embedding 0.2) gains at most a few thousandths out of fold, with lower bounds
# below 0 (below va_match alone on the demo catalogue). So va_match serves alone everywhere;
# joint_embedding stays configured, at weight 0, for the reranker's inputs. Re-measure with
# `manage.py evaluate` first.
# Previously: va_match 2/3, joint_embedding 1/3 (one val/test theme split), which trailed va_match alone.
DEFAULT_WEIGHTS: dict[str, float] = {
    "va_match": 1.0,
    "joint_embedding": 0.0,
}
# Catalogues whose tracks carry no audio features (the demo: human or editorial V/A, genre and tags) get
# these instead; the engine picks them when fewer than FEATURE_SHARE_MIN of the positioned tracks have
# features. The same rule keeps va_match alone here too (previously va_match 0.9, joint_embedding 0.1,
# chosen by a one-standard-error rule, which trailed va_match alone out of fold by 0.0002 NDCG@10).
VA_ONLY_WEIGHTS: dict[str, float] = {"va_match": 1.0, "joint_embedding": 0.0}
FEATURE_SHARE_MIN = 0.05
# A strategy that can score fewer than this share of the catalogue's tracks abstains almost everywhere:
# the adapted default gives it no weight (and the weight search leaves it out).
COVERAGE_MIN = 0.05
# The learned heads (feature_prediction, joint_embedding) were trained on EfficientNet-Lite0 embeddings,
# so another encoder gets the strategies that work from mood alone. Their weights by the same rule, over
# those two strategies on every kind of catalogue together (kinds.mood_only_check; a proxy: the photos
# read by the default encoder, as no out-of-fold Lite2 reading of OASIS exists in the lab): va_match
# alone; emotion stays scored at weight 0. Previously va_match 2/3, emotion 1/3 (a validation search),
# which trailed va_match alone on the demo and audio-only catalogues (P@5 -0.008 and -0.023).
MOOD_ONLY_WEIGHTS: dict[str, float] = {"va_match": 1.0, "emotion": 0.0}

Device = Literal["auto", "cpu", "cuda"]
DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda")
Runtime = Literal["onnx", "torch"]
RUNTIMES: tuple[str, ...] = ("onnx", "torch")
# The encoder's number format on CUDA (devices.resolve_precision; "auto" is what agrees with fp32 there).
Precision = Literal["auto", "fp32", "fp16", "bf16"]
PRECISIONS: tuple[str, ...] = ("auto", "fp32", "fp16", "bf16")


def active_artifact(kind: str) -> Path:
    """The directory of the served artifact of this kind ("mood" or "heads"), as active.json marks it."""
    active = json.loads(ACTIVE_FILE.read_text())
    try:
        return ARTIFACTS_DIR / active[kind]
    except KeyError:
        raise KeyError(f"{ACTIVE_FILE} marks no active {kind!r} artifact") from None


def default_model_dir() -> Path:
    """Where models exported at first use (ONNX files) are kept when nothing else is configured."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "photophone" / "models"


@dataclass(frozen=True)
class EngineConfig:
    """Hashable, so one Engine (and its models) can be cached per distinct config."""

    encoder: str = EFFICIENTNET_LITE0
    # The saved CLIP model directory when encoder is "clip" (ENGINE_CLIP_DIR; docs/clip.md).
    clip_dir: str = ""
    mood_artifact: str = field(default_factory=lambda: str(active_artifact("mood")))
    heads_artifact: str = field(default_factory=lambda: str(active_artifact("heads")))
    strategies: tuple[str, ...] = tuple(DEFAULT_WEIGHTS)
    fusion_weights: tuple[tuple[str, float], ...] = tuple(DEFAULT_WEIGHTS.items())
    # "weighted" (weighted score sum) or "rrf" (weighted reciprocal-rank fusion); see fusion.py.
    fusion: str = "weighted"
    # Default weights follow what the catalogue carries (weights_for); False when weights were set by hand.
    adapt_weights: bool = True
    # FAISS candidates per request (at least 4 * top_k); enlarged when artists repeat.
    candidate_pool: int = 500
    align_arousal: bool = True
    # Find faces and read their emotion in analyse() (faces.py, ~10-30 ms of CPU per photo), when a
    # configured strategy reads them (only aesthetics does).
    faces: bool = True
    # Track-vector sets with more rows than this get an approximate index (catalogue_index.py).
    approximate_above: int = 50_000
    # Where models run: "auto" is CUDA when torch sees a GPU, else the CPU.
    device: str = "auto"
    # The EfficientNet encoder on the CPU: ONNX Runtime (exported from the same weights at first use) or
    # traced torch. On CUDA the encoder always runs in torch.
    runtime: str = "onnx"
    # The encoder's number format on CUDA: "auto" (devices.AUTO_CUDA_PRECISION, chosen by its agreement
    # with fp32), "fp32" (IEEE, TF32 off), "fp16" or "bf16". On the CPU the encoder always runs in fp32.
    precision: str = "auto"
    # Threads for torch, ONNX Runtime and OpenMP in this process; None: its share of the cores (threads.py).
    threads: int | None = None
    # A worker process runs the encoder on a neighbour's cores while they are idle (idle_cpus.py).
    borrow_idle_cpus: bool = True
    # Exported models (ONNX files) are written here at first use.
    model_dir: str = field(default_factory=lambda: str(default_model_dir()))
    # Micro-batching: a worker takes up to batch_size queued photos per forward pass, waiting at most
    # batch_wait_ms for them (photos/services/execution.py). 1 on the CPU, where a batch saves little and
    # the wait would cost every photo; the GPU image sets 16 and 10 ms.
    batch_size: int = 1
    batch_wait_ms: float = 10.0
    # Unload a model nobody used for this many seconds (0: keep every model loaded).
    idle_unload_seconds: float = 0.0

    def __post_init__(self) -> None:
        problems = []
        if self.encoder not in ENCODERS:
            problems.append(f"encoder {self.encoder!r} is not one of {', '.join(ENCODERS)}")
        if self.device not in DEVICES:
            problems.append(f"device {self.device!r} is not one of {', '.join(DEVICES)}")
        if self.runtime not in RUNTIMES:
            problems.append(f"runtime {self.runtime!r} is not one of {', '.join(RUNTIMES)}")
        if self.precision not in PRECISIONS:
            problems.append(f"precision {self.precision!r} is not one of {', '.join(PRECISIONS)}")
        if self.threads is not None and self.threads < 1:
            problems.append(f"threads must be at least 1, not {self.threads}")
        if self.batch_size < 1 or self.batch_wait_ms < 0 or self.idle_unload_seconds < 0:
            problems.append("batch_size must be >= 1, batch_wait_ms and idle_unload_seconds >= 0")
        if any(w < 0 for _, w in self.fusion_weights):
            problems.append("fusion weights must not be negative")
        if problems:
            raise ValueError("engine configuration: " + "; ".join(problems))

    def weights(self) -> dict[str, float]:
        return dict(self.fusion_weights)

    def weights_for(
        self, feature_share: float, coverage: Mapping[str, float] | None = None
    ) -> dict[str, float]:
        """The fusion weights for a catalogue in which this share of the positioned tracks carries audio
        features, and each strategy can score the share of tracks `coverage` gives (absent: all). With
        the shipped default weights: VA_ONLY_WEIGHTS below FEATURE_SHARE_MIN, else DEFAULT_WEIGHTS, for
        the strategies configured, less those that see under COVERAGE_MIN of the tracks. Otherwise
        weights() as configured."""
        if not self.adapt_weights or self.weights() != DEFAULT_WEIGHTS:
            return self.weights()
        profile = VA_ONLY_WEIGHTS if feature_share < FEATURE_SHARE_MIN else DEFAULT_WEIGHTS
        shares = coverage or {}
        adapted = {
            n: w
            for n, w in profile.items()
            if n in self.strategies and w > 0 and shares.get(n, 1.0) >= COVERAGE_MIN
        }
        return adapted or self.weights()

    def with_weights(self, weights: Mapping[str, float]) -> EngineConfig:
        return replace(self, fusion_weights=tuple(sorted(weights.items())))

    @classmethod
    def for_encoder(cls, encoder: str, clip_dir: str = "", **overrides: object) -> EngineConfig:
        """The shipped default for an encoder (see MOOD_ONLY_WEIGHTS for encoders other than the default)."""
        if encoder == EFFICIENTNET_LITE0:
            return cls(encoder=encoder, clip_dir=clip_dir, **overrides)  # type: ignore[arg-type]
        settings: dict[str, object] = {
            "strategies": tuple(MOOD_ONLY_WEIGHTS),
            **(
                {"mood_artifact": str(ARTIFACTS_DIR / ENCODER_MOOD_ARTIFACTS[encoder])}
                if encoder in ENCODER_MOOD_ARTIFACTS
                else {}
            ),
            "fusion_weights": tuple(MOOD_ONLY_WEIGHTS.items()),
            "faces": False,  # no strategy of this set reads faces
        }
        settings.update(overrides)
        return cls(encoder=encoder, clip_dir=clip_dir, **settings)  # type: ignore[arg-type]

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> EngineConfig:
        """The served configuration: the shipped default for ENGINE_ENCODER, changed by these variables
        where set: ENGINE_CLIP_DIR, ENGINE_DEVICE (auto|cpu|cuda), ENGINE_RUNTIME (onnx|torch),
        ENGINE_PRECISION (auto|fp32|fp16|bf16, on CUDA), ENGINE_THREADS, ENGINE_BORROW_IDLE_CPUS (0|1),
        ENGINE_MODEL_DIR, ENGINE_BATCH_SIZE, ENGINE_BATCH_WAIT_MS, ENGINE_IDLE_UNLOAD_SECONDS,
        ENGINE_MOOD_ARTIFACT, ENGINE_HEADS_ARTIFACT, ENGINE_FUSION and
        ENGINE_WEIGHTS ("va_match=0.5,emotion=0.5": the strategies that run and their weights)."""
        env = os.environ if environ is None else environ
        overrides: dict[str, object] = {}
        readers: dict[str, tuple[str, Callable[[str], object]]] = {
            "ENGINE_DEVICE": ("device", str),
            "ENGINE_RUNTIME": ("runtime", str),
            "ENGINE_PRECISION": ("precision", str),
            "ENGINE_THREADS": ("threads", int),
            "ENGINE_BORROW_IDLE_CPUS": ("borrow_idle_cpus", flag),
            "ENGINE_MODEL_DIR": ("model_dir", str),
            "ENGINE_BATCH_SIZE": ("batch_size", int),
            "ENGINE_BATCH_WAIT_MS": ("batch_wait_ms", float),
            "ENGINE_IDLE_UNLOAD_SECONDS": ("idle_unload_seconds", float),
            "ENGINE_MOOD_ARTIFACT": ("mood_artifact", str),
            "ENGINE_HEADS_ARTIFACT": ("heads_artifact", str),
            "ENGINE_FUSION": ("fusion", str),
        }
        for variable, (name, parse) in readers.items():
            raw = env.get(variable, "").strip()
            if raw:
                try:
                    overrides[name] = parse(raw)
                except ValueError:
                    raise ValueError(f"{variable}={raw!r} is not a valid {parse.__name__}") from None
        if weights := env.get("ENGINE_WEIGHTS", "").strip():
            parsed = parse_weights(weights)
            overrides["strategies"] = tuple(parsed)
            overrides["fusion_weights"] = tuple(parsed.items())
            overrides["adapt_weights"] = False  # weights set by hand are served as they are
        encoder = env.get("ENGINE_ENCODER", "").strip() or EFFICIENTNET_LITE0
        return cls.for_encoder(encoder, clip_dir=env.get("ENGINE_CLIP_DIR", "").strip(), **overrides)

    def describe(self) -> dict[str, object]:
        """Every setting by name (for logs and the worker's start-up line)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def flag(text: str) -> bool:
    """'1', 'true', 'yes', 'on' -> True; '0', 'false', 'no', 'off' -> False (any case)."""
    value = text.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{text!r} is not 0 or 1")


def parse_weights(text: str) -> dict[str, float]:
    """'va_match=0.5, emotion=0.5' -> {'va_match': 0.5, 'emotion': 0.5}."""
    weights: dict[str, float] = {}
    for part in text.split(","):
        name, sep, value = part.partition("=")
        try:
            if not sep or not name.strip():
                raise ValueError
            weights[name.strip()] = float(value)
        except ValueError:
            raise ValueError(f"ENGINE_WEIGHTS: {part.strip()!r} is not 'strategy=weight'") from None
    return weights
