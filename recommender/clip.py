"""CLIP from a local directory: image embeddings plus zero-shot emotion and scene labels.

No CLIP weights ship on PyPI, so this encoder is opt-in (see docs/clip.md): a user who has a saved CLIP
model (e.g. openai/clip-vit-base-patch32 written with save_pretrained) sets ENGINE_ENCODER=clip and
ENGINE_CLIP_DIR=/path. Everything loads with local_files_only=True; nothing is fetched from a hub.

What CLIP adds over the default encoder:

- the embedding: CLIP's L2-normalised image embedding (projection_dim, 512 for ViT-B/32);
- zero-shot labels: the photo's embedding against text prompts embedded once at load time, turned into
  probabilities with a softmax scaled by CLIP's own logit_scale. EMOTION_PROMPTS give a distribution over
  the 7 Emotion6 labels and SCENE_PROMPTS one over ~40 scenes; the best scenes become PhotoAnalysis.labels;
- a mood model that works without training (ZeroShotMood): emotions from EMOTION_PROMPTS, valence as
  p("pleasant" vs "unpleasant") and arousal from p("exciting" vs "calm"). A mood head trained on CLIP
  features (train_mood --encoder clip) is preferred when one exists; see clip_mood().
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from .colour import COLOUR_KEYS
from .encoders import CLIP, ImageEncoder, l2_normalise
from .mood import PHOTO_AROUSAL_MEAN, PHOTO_AROUSAL_SD, MoodModel, MoodPrediction, softmax
from .types import IMAGE_EMOTIONS

# One prompt per Emotion6 label, in IMAGE_EMOTIONS order.
EMOTION_PROMPTS: dict[str, str] = {
    "anger": "a photo that evokes anger",
    "disgust": "a photo that evokes disgust",
    "fear": "a photo that evokes fear",
    "joy": "a photo that evokes joy",
    "sadness": "a photo that evokes sadness",
    "surprise": "a photo that evokes surprise",
    "neutral": "an ordinary photo that evokes no particular emotion",
}

# Scene label -> prompt. The labels are what users see (PhotoAnalysis.labels).
SCENE_PROMPTS: dict[str, str] = {
    "beach": "a photo of a beach",
    "sea": "a photo of the sea",
    "lake": "a photo of a lake",
    "river": "a photo of a river",
    "waterfall": "a photo of a waterfall",
    "mountain": "a photo of mountains",
    "forest": "a photo of a forest",
    "desert": "a photo of a desert",
    "countryside": "a photo of the countryside",
    "garden": "a photo of a garden with flowers",
    "park": "a photo of a park",
    "sunset": "a photo of a sunset",
    "sunrise": "a photo of a sunrise",
    "night sky": "a photo of the night sky with stars",
    "rain": "a photo of a rainy day",
    "snow": "a photo of snow",
    "fog": "a photo of fog",
    "storm": "a photo of a storm",
    "city street": "a photo of a city street",
    "city street at night": "a photo of a city street at night",
    "skyline": "a photo of a city skyline",
    "road trip": "a photo of a road trip",
    "train station": "a photo of a train station",
    "airport": "a photo of an airport",
    "cafe": "a photo of a cafe",
    "restaurant": "a photo of a restaurant",
    "kitchen": "a photo of a kitchen",
    "living room": "a photo of a living room",
    "bedroom": "a photo of a bedroom",
    "office": "a photo of an office",
    "library": "a photo of a library",
    "gym": "a photo of a gym",
    "sports": "a photo of a sports game",
    "concert": "a photo of a concert",
    "party": "a photo of a party",
    "nightclub": "a photo of a nightclub",
    "wedding": "a photo of a wedding",
    "birthday": "a photo of a birthday celebration",
    "festival": "a photo of a festival",
    "family": "a photo of a family together",
    "friends": "a photo of friends having fun",
    "couple": "a photo of a couple in love",
    "children playing": "a photo of children playing",
    "pet": "a photo of a pet",
    "food": "a photo of food",
    "ruins": "a photo of old ruins",
    "cemetery": "a photo of a cemetery",
    "hospital": "a photo of a hospital",
}

# (negative, positive) prompt pairs for the zero-shot valence and arousal estimates.
VALENCE_PROMPTS = ("a photo that feels unpleasant", "a photo that feels pleasant")
AROUSAL_PROMPTS = ("a photo that feels calm", "a photo that feels exciting")

ZERO_SHOT_MOOD_VERSION = "zero-shot-clip-v1"
# The engine aligns photo arousal from Emotion6's narrow band (pipeline.align_arousal), so zero-shot
# arousal is put on that band: p(exciting) 0..1 -> Emotion6 mean -2 sd..+2 sd.
ZERO_SHOT_AROUSAL_SPREAD = 4 * PHOTO_AROUSAL_SD
# A trained CLIP mood head may live next to the CLIP weights it was trained on.
MOOD_SUBDIR = "mood"

_WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin")
_TOKENIZER_FILES = ("tokenizer.json", "vocab.json")


class ClipDirectoryError(FileNotFoundError):
    """ENGINE_CLIP_DIR is unset, missing or does not hold a complete saved CLIP model."""


def _directory_error(directory: str | Path, problem: str) -> ClipDirectoryError:
    return ClipDirectoryError(
        f"ENGINE_CLIP_DIR={directory or '(unset)'} must hold a saved CLIP model "
        f"(config.json, weights, tokenizer files); see docs/clip.md. Problem: {problem}"
    )


def check_clip_directory(directory: str | Path) -> Path:
    """The directory as a Path if it looks like a complete save_pretrained CLIP model; else a clear error."""
    if not str(directory):
        raise _directory_error(directory, "ENGINE_CLIP_DIR is not set")
    path = Path(directory)
    if not path.is_dir():
        raise _directory_error(directory, "no such directory")
    missing = []
    if not (path / "config.json").is_file():
        missing.append("config.json")
    if not any((path / f).is_file() for f in _WEIGHT_FILES):
        missing.append("weights (" + " or ".join(_WEIGHT_FILES) + ")")
    if not any((path / f).is_file() for f in _TOKENIZER_FILES):
        missing.append("tokenizer (tokenizer.json or vocab.json + merges.txt)")
    if not (path / "preprocessor_config.json").is_file():
        missing.append("preprocessor_config.json")
    if missing:
        raise _directory_error(directory, "missing " + ", ".join(missing))
    return path


@dataclass
class ZeroShot:
    """Zero-shot probabilities for n photos."""

    emotions: np.ndarray  # (n, 7), IMAGE_EMOTIONS order, rows sum to 1
    scenes: np.ndarray  # (n, len(SCENE_PROMPTS)), SCENE_PROMPTS order, rows sum to 1

    def top_scenes(self, k: int = 5) -> list[list[tuple[str, float]]]:
        """Per photo, the k most likely scenes as (label, probability), best first."""
        names = list(SCENE_PROMPTS)
        out = []
        for row in self.scenes:
            best = np.argsort(-row, kind="stable")[:k]
            out.append([(names[j], float(row[j])) for j in best])
        return out


class ClipEncoder:
    """A CLIP model saved with save_pretrained in a local directory; CPU, inference only."""

    name = CLIP

    def __init__(self, directory: str | Path, *, batch_size: int = 16) -> None:
        self.directory = check_clip_directory(directory)
        try:
            from transformers import AutoTokenizer, CLIPImageProcessor, CLIPModel

            self.model = CLIPModel.from_pretrained(self.directory, local_files_only=True).eval()
            self.image_processor = CLIPImageProcessor.from_pretrained(self.directory, local_files_only=True)
            self.tokenizer = AutoTokenizer.from_pretrained(self.directory, local_files_only=True)
        except (OSError, ValueError, ImportError) as exc:
            raise _directory_error(directory, f"could not load it: {exc}") from exc
        self.dim = int(self.model.config.projection_dim)
        self.logit_scale = float(self.model.logit_scale.detach().exp())
        self.batch_size = batch_size
        # Text prompts are embedded once; each photo then costs one matrix product per prompt set.
        self.emotion_text = self.embed_text(list(EMOTION_PROMPTS.values()))
        self.scene_text = self.embed_text(list(SCENE_PROMPTS.values()))
        self.valence_text = self.embed_text(list(VALENCE_PROMPTS))
        self.arousal_text = self.embed_text(list(AROUSAL_PROMPTS))

    def embed_text(self, prompts: Sequence[str]) -> np.ndarray:
        """(len(prompts), dim) float32, L2-normalised CLIP text embeddings."""
        tokens = self.tokenizer(list(prompts), padding=True, truncation=True, return_tensors="pt")
        with torch.inference_mode():
            features = self.model.get_text_features(
                input_ids=tokens["input_ids"], attention_mask=tokens["attention_mask"]
            )
        return l2_normalise(features.float().numpy())

    def encode(self, images: Sequence[Image.Image]) -> np.ndarray:
        parts: list[np.ndarray] = []
        with torch.inference_mode():
            for start in range(0, len(images), self.batch_size):
                batch = [im.convert("RGB") for im in images[start : start + self.batch_size]]
                pixels = self.image_processor(images=batch, return_tensors="pt")["pixel_values"]
                parts.append(self.model.get_image_features(pixel_values=pixels).float().numpy())
        if not parts:
            return np.zeros((0, self.dim), np.float32)
        return l2_normalise(np.concatenate(parts))

    def _probabilities(self, embeddings: np.ndarray, text: np.ndarray) -> np.ndarray:
        return softmax(self.logit_scale * (np.asarray(embeddings, np.float64) @ text.T.astype(np.float64)))

    def zero_shot(self, embeddings: np.ndarray) -> ZeroShot:
        """Emotion and scene distributions for image embeddings from encode()."""
        return ZeroShot(
            emotions=self._probabilities(embeddings, self.emotion_text),
            scenes=self._probabilities(embeddings, self.scene_text),
        )

    def scene_labels(self, embeddings: np.ndarray, k: int = 5) -> list[list[tuple[str, float]]]:
        """Per photo, the k most likely scenes as (label, probability), best first."""
        return self.zero_shot(embeddings).top_scenes(k)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


@dataclass
class ZeroShotMood(MoodModel):
    """A MoodModel made from CLIP text prompts instead of training: works with CLIP out of the box.

    Input rows are [CLIP embedding, colour vector] like any mood model (the colour weights are zero).
    Emotions: softmax(logit_scale * e . t_emotion), exactly the zero-shot distribution.
    Valence: p(pleasant) of the VALENCE_PROMPTS pair = sigmoid(logit_scale * e . (t_pos - t_neg)).
    Arousal: p(exciting) of the AROUSAL_PROMPTS pair, mapped onto Emotion6's arousal band.
    Weights are the prompt embeddings times logit_scale; the model is not meant to be saved and loaded
    as a trained artifact (MoodModel.load would apply linear, not sigmoid, valence/arousal heads).
    """

    @classmethod
    def from_encoder(cls, encoder: ClipEncoder) -> ZeroShotMood:
        pad = np.zeros(len(COLOUR_KEYS))
        scale = encoder.logit_scale
        d = encoder.dim + len(COLOUR_KEYS)

        def head(pair: np.ndarray) -> np.ndarray:
            return np.concatenate([scale * (pair[1] - pair[0]).astype(np.float64), pad])

        w_emotion = np.zeros((d, len(IMAGE_EMOTIONS)))
        w_emotion[: encoder.dim] = scale * encoder.emotion_text.T.astype(np.float64)
        card = {
            "model_version": ZERO_SHOT_MOOD_VERSION,
            "encoder": CLIP,
            "task": "zero-shot: valence, arousal and Emotion6 emotions from CLIP text prompts, no training",
            "emotions": list(IMAGE_EMOTIONS),
            "prompts": {
                "emotions": EMOTION_PROMPTS,
                "valence": list(VALENCE_PROMPTS),
                "arousal": list(AROUSAL_PROMPTS),
            },
            "clip_dir": str(encoder.directory),
        }
        return cls(
            mean=np.zeros(d),
            std=np.ones(d),
            w_valence=head(encoder.valence_text),
            b_valence=0.0,
            w_arousal=np.concatenate([head(encoder.arousal_text), np.zeros(2)]),
            b_arousal=0.0,
            w_emotion=w_emotion,
            b_emotion=np.zeros(len(IMAGE_EMOTIONS)),
            card=card,
        )

    def predict(self, x: np.ndarray) -> MoodPrediction:
        x = np.atleast_2d(np.asarray(x, dtype=np.float64))
        if x.shape[1] != self.input_dim:
            raise ValueError(f"mood model expects {self.input_dim} inputs, got {x.shape[1]}")
        valence = _sigmoid(x @ self.w_valence + self.b_valence)
        p_exciting = _sigmoid(x @ self.w_arousal[:-2] + self.b_arousal)
        arousal = np.clip(PHOTO_AROUSAL_MEAN + ZERO_SHOT_AROUSAL_SPREAD * (p_exciting - 0.5), 0.0, 1.0)
        return MoodPrediction(valence, arousal, softmax(x @ self.w_emotion + self.b_emotion))


def _trained_clip_head(directory: Path) -> bool:
    card = directory / "card.json"
    if not (card.is_file() and (directory / "weights.npz").is_file()):
        return False
    return bool(json.loads(card.read_text()).get("encoder") == CLIP)


def clip_mood(encoder: ImageEncoder, mood_artifact: str | Path) -> MoodModel:
    """The mood model for a CLIP engine: a trained CLIP head if there is one, else ZeroShotMood.

    Looked for, in order: mood_artifact (EngineConfig.mood_artifact) if its card says it was trained on
    clip, then <ENGINE_CLIP_DIR>/mood/ (where docs/clip.md suggests train_mood writes it).
    """
    if not isinstance(encoder, ClipEncoder):
        raise TypeError(f"clip_mood needs a ClipEncoder, not {type(encoder).__name__}")
    for directory in (Path(mood_artifact), encoder.directory / MOOD_SUBDIR):
        if _trained_clip_head(directory):
            model = MoodModel.load(directory)
            expected = encoder.dim + len(COLOUR_KEYS)
            if model.input_dim != expected:
                raise ValueError(
                    f"CLIP mood head at {directory} expects {model.input_dim} inputs but this CLIP model "
                    f"gives {expected}: it was trained on a different CLIP model; retrain it (docs/clip.md)"
                )
            return model
    return ZeroShotMood.from_encoder(encoder)
