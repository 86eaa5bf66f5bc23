"""Audio analysis cost and output (what a worker spends on a track added as audio).

    python bench/audio.py [--repeat 1]

Runs the analyser over the Emotify clips in ../shared/data/audio_clips (24 one-minute MP3s, six each of
classical, electronic, pop and rock), timing each stage: decoding + resampling, the whole analysis
(mel spectrogram, vibenet's ONNX model, tempo, loudness) and model loading. Prints one JSON object:
per-clip p50/p95 ms, seconds of audio per second of CPU, peak RSS, and each genre's mean features
(a sanity check: classical should read acoustic and low-energy). Single thread, as the workers run it.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

import numpy as np  # noqa: E402

from recommender.audio_analysis import AudioAnalyser, decode  # noqa: E402

CLIPS = REPO_ROOT.parent / "shared" / "data" / "audio_clips"
SHOWN = ("acousticness", "energy", "danceability", "valence", "tempo", "loudness")


def percentile(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)), 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1, help="passes over the clips")
    args = parser.parse_args()
    paths = sorted(CLIPS.glob("*/*.mp3"))
    if not paths:
        print(json.dumps({"error": f"no clips at {CLIPS} (see DESIGN.md section 6)"}))
        return 1

    analyser = AudioAnalyser(threads=1)
    start = time.perf_counter()
    analyser.analyse(paths[0])  # loads the model and the mel front end
    load_ms = (time.perf_counter() - start) * 1000

    decode_ms: list[float] = []
    total_ms: list[float] = []
    audio_seconds = 0.0
    by_genre: dict[str, list[dict[str, float]]] = {}
    for _ in range(args.repeat):
        for path in paths:
            t0 = time.perf_counter()
            decode(path)
            t1 = time.perf_counter()
            reading = analyser.analyse(path)
            t2 = time.perf_counter()
            decode_ms.append((t1 - t0) * 1000)
            total_ms.append((t2 - t1) * 1000)
            audio_seconds += reading.analysed_seconds
            by_genre.setdefault(path.parent.name, []).append(reading.features)

    result = {
        "clips": len(paths),
        "passes": args.repeat,
        "clip_seconds_mean": round(audio_seconds / len(total_ms), 1),
        "model_load_ms": round(load_ms),
        "analysis_ms": {"p50": percentile(total_ms, 50), "p95": percentile(total_ms, 95)},
        "of_which_decode_ms": {"p50": percentile(decode_ms, 50), "p95": percentile(decode_ms, 95)},
        "audio_seconds_per_wall_second": round(audio_seconds / (sum(total_ms) / 1000), 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "genre_means": {
            genre: {k: round(statistics.mean(f[k] for f in feats if k in f), 3) for k in SHOWN}
            for genre, feats in sorted(by_genre.items())
        },
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
