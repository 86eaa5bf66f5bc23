"""Borrowing idle cores (recommender/idle_cpus.py): a worker process runs the encoder wider only while its
neighbours leave their cores idle, with the same outputs; real processes hold the locks."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from recommender import idle_cpus, threads
from recommender.encoders import EfficientNetLiteEncoder


def hold_slot(path: Path) -> subprocess.Popen[str]:
    """Another process that holds the lock on one slot file until its stdin closes."""
    code = textwrap.dedent(
        f"""
        import fcntl, sys
        f = open({str(path)!r}, "a+b")
        fcntl.flock(f, fcntl.LOCK_EX)
        print("held", flush=True)
        sys.stdin.read()
        """
    )
    neighbour = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert neighbour.stdout is not None and neighbour.stdout.readline().strip() == "held"
    return neighbour


def test_a_process_runs_wide_only_while_its_neighbours_slot_is_free(tmp_path: Path) -> None:
    slots = idle_cpus.CpuSlots(cpus=2, budget=1, wide=2, directory=tmp_path)
    with slots.hold() as n:
        assert n == 2
    neighbour = hold_slot(tmp_path / "cpu-1")
    try:
        with slots.hold() as n:
            assert n == 1  # its own share: the neighbour is busy
    finally:
        neighbour.communicate("")
    with slots.hold() as n:
        assert n == 2  # the neighbour let go


def test_a_wide_run_holds_both_slots_until_it_ends(tmp_path: Path) -> None:
    mine = idle_cpus.CpuSlots(cpus=2, budget=1, wide=2, directory=tmp_path)
    theirs = idle_cpus.CpuSlots(cpus=2, budget=1, wide=2, directory=tmp_path)
    theirs._pid = -2  # opened as another process would: its own open files
    with mine.hold() as n:
        assert n == 2
        with theirs.hold() as m:
            assert m == 1  # no slot free: it runs on its own share without waiting
    with theirs.hold() as m:
        assert m == 2


def _threads_in_child(slots: idle_cpus.CpuSlots, out: multiprocessing.Queue) -> None:
    with slots.hold() as n:
        out.put(n)


def test_a_forked_worker_process_opens_its_own_slots(tmp_path: Path) -> None:
    """flock belongs to the open file: a child using its parent's files would share the parent's locks
    and think the parent's cores idle."""
    slots = idle_cpus.CpuSlots(cpus=2, budget=1, wide=2, directory=tmp_path)
    context = multiprocessing.get_context("fork")
    out: multiprocessing.Queue = context.Queue()
    with slots.hold() as n:
        assert n == 2
        child = context.Process(target=_threads_in_child, args=(slots, out))
        child.start()
        got = out.get(timeout=30)
        child.join(30)
    assert got == 1


@pytest.fixture
def two_cpus(monkeypatch) -> Iterator[None]:
    monkeypatch.setattr(threads.os, "sched_getaffinity", lambda pid: {0, 1})
    monkeypatch.setattr(threads, "cgroup_cpu_quota", lambda: None)
    yield
    idle_cpus.configure_lending(False)


def test_only_a_worker_with_spare_cpus_borrows(two_cpus, monkeypatch) -> None:
    monkeypatch.delenv("ENGINE_PROCESSES", raising=False)
    assert idle_cpus.configure_lending(True) is None  # a command: one thread, no borrowing
    monkeypatch.setenv("ENGINE_PROCESSES", "2")
    slots = idle_cpus.configure_lending(True)
    assert slots is not None and (slots.budget, slots.wide) == (1, 2)
    assert idle_cpus.configure_lending(False) is None  # ENGINE_BORROW_IDLE_CPUS=0
    assert idle_cpus.configure_lending(True, threads=1) is None  # ENGINE_THREADS set by hand
    monkeypatch.setenv("ENGINE_PROCESSES", "1")
    assert idle_cpus.configure_lending(True) is None  # a solo worker already has every core


def test_the_setting_reads_from_the_environment() -> None:
    from recommender.config import EngineConfig

    assert EngineConfig.from_environment({}).borrow_idle_cpus is True
    assert EngineConfig.from_environment({"ENGINE_BORROW_IDLE_CPUS": "0"}).borrow_idle_cpus is False
    with pytest.raises(ValueError, match="ENGINE_BORROW_IDLE_CPUS='maybe'"):
        EngineConfig.from_environment({"ENGINE_BORROW_IDLE_CPUS": "maybe"})


def test_the_encoder_runs_wider_when_it_may_with_the_same_outputs(
    two_cpus, monkeypatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ENGINE_PROCESSES", "2")
    monkeypatch.setattr(idle_cpus, "slots_directory", lambda: tmp_path / "slots")
    threads.configure_threads()
    encoder = EfficientNetLiteEncoder(runtime="onnx", model_dir=tmp_path / "models", jit=False)
    rng = np.random.default_rng(3)
    photos = [Image.fromarray(rng.integers(0, 255, (240, 320, 3), dtype=np.uint8)) for _ in range(3)]
    alone = encoder.encode_full(photos)
    assert encoder._wider_sessions == {}  # borrowing off: its own session only

    idle_cpus.configure_lending(True)
    wide = encoder.encode_full(photos)
    session = encoder._wider_sessions[2]
    assert session.get_session_options().intra_op_num_threads == 2
    for got, want in zip(wide, alone, strict=True):
        assert np.allclose(got, want, atol=1e-5), float(np.abs(got - want).max())

    calls: list[int] = []
    original = encoder._session_with

    def session_with(n: int) -> object:
        calls.append(n)
        return original(n)

    monkeypatch.setattr(encoder, "_session_with", session_with)
    neighbour = hold_slot(tmp_path / "slots" / "cpu-0")
    try:
        encoder.encode_full(photos[:1])
    finally:
        neighbour.communicate("")
    encoder.encode_full(photos[:1])
    assert calls == [1, 2]  # its own share while the neighbour ran, wide once it stopped
