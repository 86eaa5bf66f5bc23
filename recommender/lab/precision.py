"""How far an engine in reduced precision (fp16, bf16) is from the fp32 engine: mood and top 10.

Used by bench/gpu.py (the GPU against the CPU engine) and tests/recommender/test_precision.py (the CUDA
code path run on the CPU against the CPU engine). The tolerances are devices.MOOD_TOLERANCE and
devices.TOP10_SCORE_EPS; why a top 10 is compared tie-aware is in devices.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from recommender.catalogue_index import TrackCatalogue
from recommender.devices import TOP10_SCORE_EPS
from recommender.pipeline import Engine
from recommender.types import PhotoAnalysis


def mood_differences(got: Sequence[PhotoAnalysis], reference: Sequence[PhotoAnalysis]) -> dict[str, float]:
    """Largest and mean absolute differences in valence and arousal, largest in any emotion."""
    dv = np.array([abs(x.valence - y.valence) for x, y in zip(got, reference, strict=True)])
    da = np.array([abs(x.arousal - y.arousal) for x, y in zip(got, reference, strict=True)])
    de = np.array(
        [
            max(abs(x.emotions[k] - y.emotions[k]) for k in y.emotions)
            for x, y in zip(got, reference, strict=True)
        ]
    )
    cos = np.array([float(np.dot(x.embedding, y.embedding)) for x, y in zip(got, reference, strict=True)])
    return {
        "valence_abs_diff_max": round(float(dv.max()), 5),
        "valence_abs_diff_mean": round(float(dv.mean()), 5),
        "arousal_abs_diff_max": round(float(da.max()), 5),
        "arousal_abs_diff_mean": round(float(da.mean()), 5),
        "emotion_abs_diff_max": round(float(de.max()), 5),
        "embedding_cosine_min": round(float(cos.min()), 6),
    }


@dataclass(frozen=True)
class TopAgreement:
    """One photo's top k under a reduced precision against fp32's."""

    overlap: float  # share of the reduced top k that fp32 ranks in its top k
    tie_aware: float  # share that fp32 ranks in its top k or scores within eps of its k-th track
    same_first: bool
    near_ties: int  # tracks outside fp32's top k that fp32 scores within eps of its k-th
    gap_kth_next: float  # fp32 score of its k-th track minus the best fp32 score outside its top k


def top_agreement(
    top: Sequence[int],
    reference_top: Sequence[int],
    reference_scores: dict[int, float],
    eps: float = TOP10_SCORE_EPS,
) -> TopAgreement:
    """top: the reduced precision's top k track ids; reference_top: fp32's; reference_scores: fp32's
    score of every track it scored (a whole-catalogue ranking)."""
    k = len(reference_top)
    ref_top = {int(t) for t in reference_top}
    kth = min(reference_scores[t] for t in ref_top)
    agrees = [int(t) in ref_top or reference_scores.get(int(t), -np.inf) >= kth - eps for t in top]
    rest = np.array([s for t, s in reference_scores.items() if t not in ref_top])
    return TopAgreement(
        overlap=len(ref_top & {int(t) for t in top}) / k,
        tie_aware=float(np.mean(agrees)),
        same_first=bool(len(top)) and int(top[0]) == int(reference_top[0]),
        near_ties=int(np.count_nonzero(rest >= kth - eps)),
        gap_kth_next=float(kth - rest.max()) if len(rest) else float("inf"),
    )


def top10_agreement(
    engine: Engine,
    got: Sequence[PhotoAnalysis],
    reference_engine: Engine,
    reference: Sequence[PhotoAnalysis],
    catalogue: TrackCatalogue,
    eps: float = TOP10_SCORE_EPS,
) -> dict[str, float]:
    """Each photo's top 10 from engine (with its analysis) against reference_engine's (with its own),
    fp32's score of every track taken from its whole-catalogue ranking."""
    found = []
    for x, y in zip(got, reference, strict=True):
        top = engine.recommend(x, catalogue, top_k=10).track_ids[:10]
        reference_top = reference_engine.recommend(y, catalogue, top_k=10).track_ids[:10]
        whole = reference_engine.recommend(y, catalogue, top_k=len(catalogue))
        n = whole.scored
        scores = dict(zip(whole.track_ids[:n].tolist(), whole.scores[:n].tolist(), strict=True))
        found.append(top_agreement(top.tolist(), reference_top.tolist(), scores, eps))
    return {
        "top10_overlap_mean": round(float(np.mean([a.overlap for a in found])), 4),
        "top10_overlap_min": round(float(np.min([a.overlap for a in found])), 2),
        "top10_tie_aware_mean": round(float(np.mean([a.tie_aware for a in found])), 4),
        "top10_tie_aware_min": round(float(np.min([a.tie_aware for a in found])), 2),
        "same_first_track": round(float(np.mean([a.same_first for a in found])), 4),
        "fp32_near_ties_median": float(np.median([a.near_ties for a in found])),
        "fp32_gap_10th_11th_median": round(float(np.median([a.gap_kth_next for a in found])), 6),
        "tie_eps": eps,
    }


def made_up_photos(count: int, seed: int = 0) -> list[Image.Image]:
    """Seeded smooth colour fields with shapes: photos for where Emotion6 is absent (bench/gpu.py) and for
    tests that must not depend on ../shared."""
    rng = np.random.default_rng(seed)
    photos = []
    for _ in range(count):
        y, x = np.mgrid[0:240, 0:320]
        field = rng.integers(0, 255, 3) + 60 * np.stack(
            [np.sin(x / rng.uniform(20, 80)), np.cos(y / rng.uniform(20, 80)), 0 * x], -1
        )
        image = Image.fromarray(np.clip(field, 0, 255).astype(np.uint8))
        draw = ImageDraw.Draw(image)
        for _ in range(3):
            x0, y0 = int(rng.integers(0, 240)), int(rng.integers(0, 180))
            draw.ellipse((x0, y0, x0 + 60, y0 + 50), fill=tuple(int(c) for c in rng.integers(0, 255, 3)))
        photos.append(image)
    return photos
