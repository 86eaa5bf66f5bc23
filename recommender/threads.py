"""Thread settings for a process that runs both torch and faiss.

torch and faiss-cpu each ship their own OpenMP runtime. Measured on the 2-core dev machine: with both
loaded and left at their defaults, their thread pools fight and one photo's encoding takes 0.3-1.3 s
instead of ~20 ms, and a 500-candidate FAISS search takes ~15 ms instead of 0.3 ms. Giving faiss one
thread (our queries are single, small searches) and then setting torch's count explicitly fixes both,
whatever the import order. Engine.__init__ calls configure_threads once per process.
"""

from __future__ import annotations

import os

import faiss
import torch


def available_cpus() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def configure_threads(torch_threads: int | None = None) -> int:
    """One faiss thread; torch_threads (default: the CPUs this process may use) for torch."""
    faiss.omp_set_num_threads(1)
    n = torch_threads or available_cpus()
    torch.set_num_threads(n)
    return n
