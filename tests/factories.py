"""Factories for tests: each makes a valid object with as little as possible said."""

from __future__ import annotations

import io

import factory
import numpy as np
from django.core.files.base import ContentFile
from PIL import Image

from accounts.models import User
from catalogue.models import Track
from photos.models import Photo, Run
from recommender.config import EFFICIENTNET_LITE2, EFFICIENTNET_LITE_PAIR
from recommender.lab.rerank_offline import OfflineEval
from registry.models import ModelVersion


def jpeg_bytes(colour: tuple[int, int, int] = (200, 120, 40), size: tuple[int, int] = (64, 48)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "JPEG")
    return buffer.getvalue()


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.django.Password("correct horse battery staple")


class TrackFactory(factory.django.DjangoModelFactory[Track]):
    class Meta:
        model = Track

    external_id = factory.Sequence(lambda n: f"track-{n}")
    title = factory.Sequence(lambda n: f"Song {n}")
    artist = factory.Sequence(lambda n: f"Artist {n}")
    genre = "pop"
    valence = factory.Sequence(lambda n: (n * 37 % 100) / 100)
    arousal = factory.Sequence(lambda n: (n * 61 % 100) / 100)


class PhotoFactory(factory.django.DjangoModelFactory[Photo]):
    class Meta:
        model = Photo

    owner = factory.SubFactory(UserFactory)
    sha256 = factory.Sequence(lambda n: f"{n:064x}")
    original_name = "photo.jpg"
    image = factory.LazyAttribute(lambda p: ContentFile(jpeg_bytes(), name=f"{p.sha256}.jpg"))


class RunFactory(factory.django.DjangoModelFactory[Run]):
    class Meta:
        model = Run

    photo = factory.SubFactory(PhotoFactory)
    user = factory.LazyAttribute(lambda r: r.photo.owner)


def wav_bytes(seconds: float = 6.0, bpm: float = 100.0, rate: int = 22_050) -> bytes:
    """A real WAV file: a decaying 440 Hz click every beat over quiet noise (deterministic)."""
    import io

    import numpy as np
    import soundfile

    rng = np.random.default_rng(0)
    signal = 0.01 * rng.standard_normal(int(seconds * rate)).astype(np.float32)
    click = np.sin(2 * np.pi * 440 * np.arange(int(0.05 * rate)) / rate) * np.exp(
        -np.arange(int(0.05 * rate)) / 200
    )
    for start in range(0, len(signal) - len(click), int(rate * 60 / bpm)):
        signal[start : start + len(click)] += 0.8 * click.astype(np.float32)
    out = io.BytesIO()
    soundfile.write(out, signal, rate, format="WAV")
    return out.getvalue()


def another_servable_mood(served: ModelVersion) -> ModelVersion:
    """The newest mood version other than served that the registry can activate (mood-v4 and mood-v5 read
    other encoders' photos and are served only through ENGINE_ENCODER, never by activation)."""
    versions = ModelVersion.objects.filter(kind="mood").exclude(pk=served.pk)
    return versions.exclude(data_snapshot__encoder__in=[EFFICIENTNET_LITE2, EFFICIENTNET_LITE_PAIR]).latest(
        "pk"
    )


def synthetic_offline_evaluation(
    strategies: tuple[str, ...] = ("emotion", "va_match"), photos: int = 120, seed: int = 1
) -> OfflineEval:
    """An offline evaluation of the world the gate's tests rate in (tests/registry/test_training.py,
    tests/recommender/test_rerank_gate.py): uniform photo and
    track moods, strategies that see the closeness of the two through noise, and a track truly relevant
    when it shares the photo's quadrant."""
    rng = np.random.default_rng(seed)
    photo_va = rng.uniform(size=(photos, 2))
    catalogue = rng.uniform(size=(200, 2))

    def quadrant(va: np.ndarray) -> np.ndarray:
        return (va[..., 0] > 0.5) * 2 + (va[..., 1] > 0.5)

    rows, engine = [], []
    scores: dict[str, list[np.ndarray]] = {s: [] for s in strategies}
    for p in range(photos):
        closeness = 1 - np.hypot(*(catalogue - photo_va[p]).T) / np.sqrt(2)
        noisy = {s: np.clip(closeness + rng.normal(0, 0.3, len(closeness)), 0, 1) for s in strategies}
        fused = np.mean([noisy[s] for s in strategies], axis=0)
        top = np.argsort(-fused, kind="stable")[:50]
        rows.append(top)
        engine.append(fused[top])
        for s in strategies:
            scores[s].append(noisy[s][top])
    at = np.array(rows)
    photo_class = quadrant(photo_va)
    return OfflineEval(
        strategies,
        np.array(engine),
        {s: np.array(v) for s, v in scores.items()},
        photo_va,
        photo_va,
        catalogue[at],
        quadrant(catalogue[at]) == photo_class[:, None],
        np.array([(quadrant(catalogue) == c).sum() for c in photo_class]),
        photo_class,
        np.array([f"theme {p // 3}" for p in range(photos)]),
    )
