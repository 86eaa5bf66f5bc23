"""Thread budgets (recommender/threads.py): who gets how many threads."""

from __future__ import annotations

from pathlib import Path

import pytest

from recommender import threads


@pytest.fixture
def four_cpus(monkeypatch) -> None:
    monkeypatch.setattr(threads.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    monkeypatch.setattr(threads, "cgroup_cpu_quota", lambda: None)


def test_a_command_takes_one_thread_and_a_worker_its_share_of_the_cpus(four_cpus, monkeypatch) -> None:
    monkeypatch.delenv("ENGINE_PROCESSES", raising=False)
    assert threads.thread_budget() == 1  # a command: it cannot know what runs beside it
    monkeypatch.setenv("ENGINE_PROCESSES", "1")
    assert threads.thread_budget() == 4  # a solo worker
    monkeypatch.setenv("ENGINE_PROCESSES", "2")
    assert threads.thread_budget() == 2
    monkeypatch.setenv("ENGINE_PROCESSES", "8")
    assert threads.thread_budget() == 1  # never below one
    assert threads.thread_budget(threads=3) == 3  # ENGINE_THREADS wins


def test_a_cgroup_quota_caps_the_cpus(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setattr(threads.os, "sched_getaffinity", lambda pid: set(range(16)))
    (tmp_path / "cpu.max").write_text("300000 100000\n")
    assert threads.cgroup_cpu_quota(tmp_path) == 3.0
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert threads.cgroup_cpu_quota(tmp_path) is None
    v1 = tmp_path / "v1"
    (v1 / "cpu").mkdir(parents=True)
    (v1 / "cpu" / "cpu.cfs_quota_us").write_text("150000")
    (v1 / "cpu" / "cpu.cfs_period_us").write_text("100000")
    assert threads.cgroup_cpu_quota(v1) == 1.5
    monkeypatch.setattr(threads, "cgroup_cpu_quota", lambda: 3.0)
    assert threads.available_cpus() == 3


def test_a_worker_tells_its_processes_how_many_share_the_cpus(monkeypatch) -> None:
    from photos.tasks import _share_the_cores

    class Prefork:
        pool_cls = "celery.concurrency.prefork:TaskPool"
        concurrency = 3

    class Solo:
        pool_cls = "solo"
        concurrency = 4

    monkeypatch.delenv("ENGINE_PROCESSES", raising=False)
    _share_the_cores(Prefork())
    assert threads.os.environ["ENGINE_PROCESSES"] == "3"
    _share_the_cores(Solo())
    assert threads.os.environ["ENGINE_PROCESSES"] == "1"
