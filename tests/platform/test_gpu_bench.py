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
    agreement = next(r for r in records if "agreement" in r)
    assert agreement["valence_abs_diff_max"] == 0.0 and agreement["top10_overlap_mean"] == 1.0
