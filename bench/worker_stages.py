"""Where a worker run's time goes: wall time per stage of photos.services.execution.execute, and its
database statements, measured by wrapping the functions each stage calls (nothing in the platform knows
about it).

    stages = WorkerStages()
    with stages:  # wraps; unwraps on leaving
        for pk in runs:
            with stages.run():
                execute(pk, worker="bench")
    stages.summary()  # {"ms_per_run": {...}, "calls_per_run": {...}, "queries_per_run": ...}

Stages nest (the encoder is inside the analysis, the reasons inside the store): each stage's figure is its
own inclusive time, so they do not add up; "other" is the run's time outside the top-level stages.
A stage whose function a tree does not have is left out, so the same wrapping measures an older tree
(bench/serving.py runs it inside each tree's `manage.py shell`).
"""

from __future__ import annotations

import importlib
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

# (label, module, attribute path, top level): the top-level stages do not nest inside each other. A label
# may name several functions (one tree has one, another the other; a call of one inside the other counts
# once).
STAGES: tuple[tuple[str, str, str, bool], ...] = (
    ("claim", "photos.services.run_statements", "claim_returning", True),
    ("decode", "inference.adapter", "decode_photo", True),
    ("registry_read", "registry.serving", "use_active_versions", True),
    ("analyse", "recommender.pipeline", "Engine.analyse_each", True),
    ("  resize_normalise", "recommender.encoders", "EfficientNetLiteEncoder.preprocess", False),
    ("  resize_normalise", "recommender.encoders", "EfficientNetLiteEncoder.preprocess_nchw", False),
    ("  encoder", "recommender.encoders", "EfficientNetLiteEncoder._run", False),
    ("  encoder", "recommender.encoders", "EfficientNetLiteEncoder._run_onnx", False),
    ("  colour_stats", "recommender.photo_inputs", "colour_stats", False),
    ("  mood_model", "recommender.mood", "MoodModel.predict", False),
    ("  imagenet_labels", "recommender.pipeline", "top_labels", False),
    ("  colour_words", "recommender.pipeline", "describe_colour", False),
    ("  faces", "recommender.pipeline", "read_faces", False),
    ("index_lookup", "photos.services.execution", "ranking_index", True),
    ("  catalogue_version", "photos.services.runs", "catalogue_version", False),
    ("track_corrections", "registry.serving", "with_track_moods", True),
    ("ratings_read", "photos.services.execution", "user_feedback", True),
    ("filters", "photos.services.execution", "track_filter", True),
    ("recommend", "recommender.pipeline", "Engine.recommend", True),
    ("  candidate_search", "recommender.pipeline", "Engine._candidates", False),
    ("    va_neighbours", "recommender.catalogue_index", "TrackCatalogue.candidates", False),
    ("    vector_search", "recommender.catalogue_index", "TrackCatalogue.search_vectors", False),
    ("  scoring_fusion_diversity", "recommender.pipeline", "Engine._rank", False),
    ("    strategy_scores", "recommender.strategies.va_match", "VAMatch.score", False),
    ("    strategy_scores", "recommender.strategies.joint_embedding", "JointEmbedding.score", False),
    ("    personalise", "recommender.pipeline", "personalise", False),
    ("    diversify", "recommender.pipeline", "diversify", False),
    ("  joint_projection", "recommender.strategies.joint_embedding", "JointEmbedding.project", False),
    ("rerank", "registry.serving", "rerank", True),
    ("store", "photos.services.execution", "_store_result", True),
    ("  reasons", "recommender.ranking", "Ranking._make", False),
    ("  write", "photos.services.run_statements", "finish", False),
    ("engine_version", "inference.adapter", "engine_version", True),
)


class WorkerStages:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.cpu_seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self.runs = 0
        self.run_seconds = 0.0
        self.run_cpu_seconds = 0.0
        self.queries = 0
        self._patched: list[tuple[Any, str, Any]] = []
        self._depth: dict[str, int] = defaultdict(int)
        self.top_level = list(dict.fromkeys(label for label, *_, top in STAGES if top))

    def _wrap(self, label: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            self._depth[label] += 1
            started, cpu = time.perf_counter(), time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                self._depth[label] -= 1
                if self._depth[label] == 0:  # a recursive call counts once
                    self.seconds[label] += time.perf_counter() - started
                    self.cpu_seconds[label] += time.process_time() - cpu
                    self.calls[label] += 1

        return timed

    def __enter__(self) -> WorkerStages:
        for label, module_name, path, _ in STAGES:
            try:
                owner: Any = importlib.import_module(module_name)
            except ImportError:
                continue
            *parents, name = path.split(".")
            for parent in parents:
                owner = getattr(owner, parent, None)
            original = owner.__dict__.get(name) if owner is not None else None
            if original is None:
                continue
            wrapped = self._wrap(label, original)
            if isinstance(original, staticmethod):
                wrapped = staticmethod(self._wrap(label, original.__func__))
            setattr(owner, name, wrapped)
            self._patched.append((owner, name, original))
        return self

    def __exit__(self, *exc: object) -> None:
        for owner, name, original in reversed(self._patched):
            setattr(owner, name, original)
        self._patched.clear()

    @contextmanager
    def run(self) -> Iterator[None]:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        started, cpu = time.perf_counter(), time.process_time()
        with CaptureQueriesContext(connection) as queries:
            yield
        self.run_seconds += time.perf_counter() - started
        self.run_cpu_seconds += time.process_time() - cpu
        self.runs += 1
        self.queries += len(queries.captured_queries)

    def summary(self) -> dict[str, Any]:
        """Per run: wall ms and CPU ms of each stage (the CPU figure is the steadier one on a busy
        machine), calls and database statements."""
        n = max(1, self.runs)
        labels = list(dict.fromkeys(label for label, *_ in STAGES if label in self.seconds))

        def per_run(seconds: dict[str, float], total: float) -> dict[str, float]:
            ms = {label: round(1000 * seconds[label] / n, 3) for label in labels}
            top = sum(ms[label] for label in self.top_level if label in ms)
            ms_total = round(1000 * total / n, 3)
            return {**ms, "other": round(ms_total - top, 3), "total": ms_total}

        return {
            "ms_per_run": per_run(self.seconds, self.run_seconds),
            "cpu_ms_per_run": per_run(self.cpu_seconds, self.run_cpu_seconds),
            "calls_per_run": {label.strip(): round(self.calls[label] / n, 2) for label in labels},
            "queries_per_run": round(self.queries / n, 2),
        }
