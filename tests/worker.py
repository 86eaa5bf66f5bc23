"""Start a real Celery worker process against the database and broker a test (or benchmark) uses."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.db import connection

REPO_ROOT = Path(__file__).resolve().parent.parent


def database_url() -> str:
    """A URL for the database this process is using right now (the test database under pytest)."""
    s = connection.settings_dict
    if s["ENGINE"] == "django.db.backends.postgresql":
        user = s.get("USER") or "postgres"
        auth = f"{user}:{s['PASSWORD']}@" if s.get("PASSWORD") else f"{user}@"
        return f"postgres://{auth}{s.get('HOST') or '127.0.0.1'}:{s.get('PORT') or 5432}/{s['NAME']}"
    return f"sqlite:///{s['NAME']}"


def celery_worker_command(python: str, *options: str) -> list[str]:
    """A Celery worker of this project (run in the checkout's folder), logging at info, without the
    control-channel chatter (gossip, mingle, heartbeat) that a lone test or benchmark worker does not need."""
    return [
        python,
        "-m",
        "celery",
        "-A",
        "config",
        "worker",
        "-l",
        "info",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        *options,
    ]


class Worker:
    # The pool options; PreforkWorker runs the compose CPU worker's.
    pool: tuple[str, ...] = ("--pool=solo",)

    def __init__(
        self, broker_url: str, log_path: Path, queues: str = "inference,default", **extra_env: str
    ) -> None:
        env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "CELERY_BROKER_URL": broker_url,
            "MEDIA_ROOT": str(settings.MEDIA_ROOT),
            "ENGINE_INDEX_DIR": str(settings.ENGINE_INDEX_DIR),
            "PHOTOPHONE_PRELOAD": "1",
            **extra_env,
        }
        self.log_path = log_path
        self.log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            celery_worker_command(
                sys.executable,
                "-Q",
                queues,
                *self.pool,
                "-n",
                f"test-{os.getpid()}-{time.monotonic_ns()}@%h",
            ),
            cwd=REPO_ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited early:\n{self.log_path.read_text()[-3000:]}")
            if b" ready." in self.log_path.read_bytes():
                return
            time.sleep(0.2)
        raise TimeoutError(f"worker not ready after {timeout}s:\n{self.log_path.read_text()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL: the way a worker dies when a node is lost or the OOM killer strikes."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.log.close()
        _wait_for_other_sessions_to_close()


def _wait_for_other_sessions_to_close(timeout: float = 5) -> None:
    """PostgreSQL ends a dead worker's session a moment after the process; the test database's
    teardown fails if it is still there."""
    if connection.vendor != "postgresql":
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            if cursor.fetchone()[0] == 0:
                return
        time.sleep(0.1)


def point_celery_at(broker_url: str) -> str:
    """Make this process publish to `broker_url` from now on; returns the previous URL."""
    from config.celery import app

    old = str(app.conf.broker_url)
    app.conf.broker_url = broker_url
    app._pool = None  # the cached connection pools still point at the old broker
    app.amqp._producer_pool = None
    return old


class PreforkWorker(Worker):
    """The compose CPU worker's pool: prefork, two processes sharing the cores."""

    pool = ("--pool=prefork", "--concurrency=2")
