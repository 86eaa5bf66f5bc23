"""Whole-image colour and texture statistics (Bhatt-style aesthetics cues) with plain numpy.

Everything is computed on a copy downscaled to at most ANALYSIS_SIDE pixels, so a 12-megapixel upload
costs the same as a thumbnail. All statistics are roughly in [0, 1] (warmth in [-1, 1]).
"""

from __future__ import annotations

import numpy as np
from PIL import Image

ANALYSIS_SIDE = 128

# Order matters: the mood model's input vector uses it, so appending is fine but reordering is not.
COLOUR_KEYS: tuple[str, ...] = (
    "brightness",
    "saturation",
    "contrast",
    "warmth",
    "colourfulness",
    "edge_density",
    "texture",
    "dark_fraction",
    "bright_fraction",
)


# uint8 -> [0, 1] float32, the same values as dividing each pixel by 255 in float32.
_UNIT = np.arange(256, dtype=np.float32) / np.float32(255.0)


def _small_planes(image: Image.Image) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The image at most ANALYSIS_SIDE px, as contiguous red, green and blue float32 planes in [0, 1].
    Separate planes, not one (h, w, 3) array: numpy's reductions over a last axis of 3 and arithmetic on
    strided channel views cost more than the statistics themselves."""
    img = image if image.mode == "RGB" else image.convert("RGB")
    w, h = img.size
    scale = ANALYSIS_SIDE / max(w, h)
    if scale < 1:
        img = img.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.Resampling.BILINEAR)
    r, g, b = (_UNIT[np.asarray(band)] for band in img.split())
    return r, g, b


def colour_stats(image: Image.Image) -> dict[str, float]:
    """Brightness, saturation, contrast, warmth, colourfulness and texture of the whole image."""
    r, g, b = _small_planes(image)
    luma = 0.299 * r + 0.587 * g + 0.114 * b
    cmax = np.maximum(np.maximum(r, g), b)
    cmin = np.minimum(np.minimum(r, g), b)
    saturation = np.where(cmax > 1e-6, (cmax - cmin) / np.maximum(cmax, 1e-6), 0.0)

    # Hasler & Suesstrunk (2003) colourfulness on the 0-1 scale (their 0-255 values divided by 255).
    rg = r - g
    yb = 0.5 * (r + g) - b
    colourfulness = float(
        np.sqrt(rg.std() ** 2 + yb.std() ** 2) + 0.3 * np.sqrt(rg.mean() ** 2 + yb.mean() ** 2)
    )

    # Texture: finite-difference gradient magnitude of luma; edge density = share of strong gradients.
    gx = np.abs(np.diff(luma, axis=1))
    gy = np.abs(np.diff(luma, axis=0))
    if gx.size and gy.size:
        grad = np.sqrt(gx[:-1, :] ** 2 + gy[:, :-1] ** 2)
    else:
        grad = np.zeros((1, 1), dtype=np.float32)

    return {
        "brightness": float(luma.mean()),
        "saturation": float(saturation.mean()),
        "contrast": float(luma.std()),
        "warmth": float((r - b).mean()),
        "colourfulness": colourfulness,
        "edge_density": float((grad > 0.1).mean()),
        "texture": float(grad.mean()),
        "dark_fraction": float((luma < 0.2).mean()),
        "bright_fraction": float((luma > 0.8).mean()),
    }


def colour_vector(stats: dict[str, float]) -> np.ndarray:
    return np.array([stats[k] for k in COLOUR_KEYS], dtype=np.float32)


def describe_colour(stats: dict[str, float]) -> list[str]:
    """A few plain words for the photo's look. Each threshold marks roughly the outer 15-20% of
    Emotion6 photos on that statistic, so most photos get only one or two words."""
    words: list[str] = []
    if stats["brightness"] >= 0.55:
        words.append("bright")
    elif stats["brightness"] <= 0.22:
        words.append("dark")
    if stats["warmth"] >= 0.15:
        words.append("warm")
    elif stats["warmth"] <= -0.04:
        words.append("cool")
    if stats["colourfulness"] >= 0.25:
        words.append("vivid")
    elif stats["saturation"] <= 0.12:
        words.append("muted")
    if stats["contrast"] >= 0.28:
        words.append("high-contrast")
    elif stats["contrast"] <= 0.13:
        words.append("soft")
    if stats["edge_density"] >= 0.28:
        words.append("busy")
    elif stats["edge_density"] <= 0.05:
        words.append("smooth")
    return words
