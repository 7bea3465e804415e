"""Whole-fleet work (render, preview) spread over the machine's cores by forking.

Rendering is CPU-bound Python, so threads do not help. Forked workers inherit the loaded fleet and compiled
templates instead of receiving them, and send back only their results. Small jobs stay in process: forking costs
more than rendering a few small spokes. One process (`--processes 1`, RAZEE_PROCESSES=1, read by the CLI) turns
it off.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

from razee.gcpause import paused_gc

T = TypeVar("T")
R = TypeVar("R")

MIN_CLUSTERS = 300  # below this many clusters in all, one process is faster than forking
_JOB: Callable[[Any], Any] | None = None


def workers(processes: int | None = None) -> int:
    """`processes` when given (at least 1), else one per core this process may run on."""
    if processes is not None and processes >= 1:
        return processes
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _run(item: Any) -> Any:
    assert _JOB is not None
    return _JOB(item)


def fork_map(job: Callable[[T], R], items: Sequence[T], weight: int, processes: int | None = None) -> list[R]:
    """`[job(i) for i in items]`, in order, in forked workers when `weight` (clusters involved) makes it pay.

    `job` must return picklable values and report failures as values, not exceptions, so that every item's
    problems are collected as they would be in process.
    """
    n = min(workers(processes), len(items))
    if n <= 1 or weight < MIN_CLUSTERS or "fork" not in multiprocessing.get_all_start_methods():
        return [job(i) for i in items]
    global _JOB
    _JOB = job
    # Objects alive now are inherited, not garbage: frozen, the workers' collectors neither scan them nor touch
    # (and so copy) their pages.
    gc.freeze()
    try:
        with paused_gc(), ProcessPoolExecutor(max_workers=n, mp_context=multiprocessing.get_context("fork")) as pool:
            return list(pool.map(_run, items, chunksize=1))
    finally:
        _JOB = None
        gc.unfreeze()
