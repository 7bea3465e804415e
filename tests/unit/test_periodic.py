"""The hub's one background-loop helper: runs at once and on its timer, soon after a nudge, survives a failing
step, and stops cleanly."""

from __future__ import annotations

import threading
import time

from razee.hub.periodic import Periodic


def _until(check: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline
        time.sleep(0.01)


def test_runs_at_once_then_after_a_nudge_and_survives_a_failing_step() -> None:
    calls: list[float] = []
    stopped = threading.Event()

    def step() -> None:
        calls.append(time.monotonic())
        if len(calls) == 2:
            raise RuntimeError("the database is away for a moment")

    loop = Periodic("test-loop", step, every=3600, on_stop=stopped.set)
    loop.start()
    _until(lambda: len(calls) == 1)
    loop.nudge()
    _until(lambda: len(calls) == 2)  # the timer is an hour: only the nudge can have run it
    loop.nudge()
    _until(lambda: len(calls) == 3)  # the failure did not end the loop
    loop.close()
    assert stopped.is_set() and not loop.running


def test_a_burst_of_nudges_costs_one_step_and_first_wait_waits() -> None:
    calls: list[int] = []
    loop = Periodic("test-burst", lambda: calls.append(1), every=3600, coalesce=0.5, first_wait=True)
    loop.start()
    time.sleep(0.3)
    assert calls == []  # first_wait: nothing before the first nudge or timer
    for _ in range(20):
        loop.nudge()
    _until(lambda: len(calls) >= 1)
    time.sleep(1.0)
    assert len(calls) == 1
    loop.close()
