"""bench/gpu.py runs the GPU worker's code on whatever device there is: checked here on the CPU."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import REPO_ROOT


def test_the_gpu_bench_prints_json_as_it_goes_on_the_cpu(tmp_path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "bench/gpu.py",
            "--device",
            "cpu",
            "--photos",
            "4",
            "--batches",
            "1,2",
            "--reference",
            "2",
            "--precisions",
            "fp32",
            "--catalogues",
            "synthetic",
            "--threads",
            "1",
            "--micro-batch",
            "2",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "ENGINE_MODEL_DIR": str(tmp_path / "models")},
    )
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert records[0]["device"] == "cpu"
    batches = [r for r in records if "batch" in r]
    assert [r["batch"] for r in batches] == [1, 2] and all(r["photos_per_s"] > 0 for r in batches)
    assert all(
        r["prepare_ms_per_photo_1_threads"] > 0 and r["forward_ms_per_photo"]["fp32"] > 0 for r in batches
    )
    # the CUDA code path (torch fp32) on the CPU against the CPU engine (ONNX Runtime fp32)
    agreement = next(r for r in records if "agreement" in r)
    assert agreement["precision"] == "fp32" and agreement["valence_abs_diff_max"] <= 1e-4
    assert agreement["synthetic"]["top10_tie_aware_min"] == 1.0
    micro = next(r for r in records if "micro_batching" in r)
    assert micro["only_the_bad_item_failed"] and micro["failed_items"] == [2]
