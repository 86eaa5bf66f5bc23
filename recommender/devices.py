"""Where models run and in which number format.

ENGINE_DEVICE=auto|cpu|cuda (auto: CUDA when torch sees a GPU, else the CPU).
ENGINE_PRECISION=auto|fp32|fp16|bf16: the image encoder's format on CUDA. The CPU always runs fp32 (ONNX
Runtime by default). "auto" is AUTO_CUDA_PRECISION, the reduced format whose outputs agree with fp32
within the tolerances below; bench/gpu.py measures each format against the CPU engine and
tests/recommender/test_precision.py checks them on the CPU, with the CUDA code path run on device="cpu".

What reduced precision changes (measured on the CPU, 64 Emotion6 photos, torch fp16/bf16 against fp32):
the rounding error is spread over the whole backbone, not one layer. Keeping the pooled feature, its
statistics and the classifier in fp32 moved the valence difference only from 0.0026 to 0.0025 (fp16)
and running the first half of the blocks in fp32 as well only to 0.0008, at the price of the costliest
layers; so the whole encoder runs in the one format. fp16 keeps valence and arousal within 0.003 of
fp32, bf16 (8 bits of mantissa against fp16's 11) only within 0.04: bf16 is not used unless asked for.

A top 10 over a dense catalogue is not a sound thing to hold to equality: in fp32's own ranking the
10th and 11th tracks' fused scores are a median 0.0006 apart over 20,000 tracks spread evenly in
valence/arousal and 0.00006 over the 28,352 TidyTuesday tracks, with 22 and 110 tracks within 0.01 of
the 10th, so any change of the mood in the third decimal swaps near-tied tracks. Agreement of a ranking
is therefore counted tie-aware: a track of the reduced top 10 agrees when fp32 also ranks it in its top
10 or scores it within TOP10_SCORE_EPS of fp32's 10th track. Measured on the CPU (64 Emotion6 photos,
bench/gpu.py --device cpu --threads 1 --reference 64): fp16 keeps valence within 0.0031 (mean 0.0009),
arousal 0.0020, emotions 0.0033; its strict top-10 overlap is 0.91 (TidyTuesday), 0.92 (20k synthetic),
0.99 (demo), as on the H200 (0.88), and its tie-aware overlap 1.0 for every photo and catalogue. bf16:
valence within 0.038, tie-aware overlap 0.66 (synthetic) to 0.97 (demo) on average, 0 for some photos.
"""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)

# The format "auto" picks on CUDA: the fastest one within the tolerances below (see the module docstring).
AUTO_CUDA_PRECISION = "fp16"
# Largest allowed difference from fp32 in valence and arousal (0-1 scale) and in each emotion's
# probability. For scale: mood-v3 predicts held-out valence with an error of ~0.1 and shows it to users
# with two decimals.
MOOD_TOLERANCE = 0.01
# Fused-score margin (scores are 0-1, shown to users with two decimals) within which a track of the
# reduced top 10 counts as tied with fp32's 10th.
TOP10_SCORE_EPS = 0.01


def resolve_device(setting: str) -> str:
    """ "cpu" or "cuda" for a configured device; asking for CUDA where there is none is an error."""
    import torch

    if setting == "cpu":
        return "cpu"
    available = torch.cuda.is_available()
    if setting == "cuda" and not available:
        raise RuntimeError("ENGINE_DEVICE=cuda, but torch sees no CUDA device (is this the GPU image?)")
    return "cuda" if available else "cpu"


def resolve_precision(setting: str, device: str) -> str:
    """The encoder's format ("fp32", "fp16" or "bf16") for a configured precision on a resolved device:
    fp32 on the CPU whatever the setting (ONNX Runtime runs fp32), the setting on CUDA, "auto" there
    being AUTO_CUDA_PRECISION."""
    if not device.startswith("cuda"):
        return "fp32"
    return AUTO_CUDA_PRECISION if setting == "auto" else setting


def use_ieee_fp32() -> None:
    """fp32 on CUDA as IEEE fp32: torch otherwise runs fp32 convolutions in TF32 (10 bits of mantissa, as
    coarse as fp16), so "fp32" would not agree with the CPU any better than fp16. The long-standing flags,
    not torch 2.9's fp32_precision: mixing the two makes torch refuse to read them back."""
    import torch

    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
