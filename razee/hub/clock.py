"""The hub's calendar clock, which maintenance windows are judged by (the agents' clocks are data, never time).

For tests and demos only: RAZEE_HUB_TEST_CLOCK=<POSIX seconds> (read once, when the hub starts) makes the hub's
calendar start at that instant and run on in real time, so a test can put the hub a minute before a window opens
and watch a wave wait for it. Durations (bake times, progress deadlines) keep using the real clock, so they are
unaffected. Never set it in production.
"""

from __future__ import annotations

import os
import time

TEST_CLOCK_ENV = "RAZEE_HUB_TEST_CLOCK"


def _offset() -> float:
    value = os.environ.get(TEST_CLOCK_ENV, "").strip()
    if not value:
        return 0.0
    try:
        return float(value) - time.time()
    except ValueError:
        raise SystemExit(f"{TEST_CLOCK_ENV}={value!r} is not a number of POSIX seconds") from None


OFFSET = _offset()


def calendar_now() -> float:
    """POSIX seconds on the hub's calendar (real time unless a test moved it)."""
    return time.time() + OFFSET
