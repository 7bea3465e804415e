"""The one backoff: waits double from `first` up to `cap`, spread by the jitter, and start over on success."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from razee.backoff import (
    DELIVERY,
    FAILED_PASS_FIRST,
    FAILED_PASS_FLOOR,
    INFRA,
    INGEST_RACE,
    NOTIFY,
    RECONNECT,
    WATCH,
    Backoff,
    Retry,
    failed_pass,
)


def test_waits_double_up_to_the_cap() -> None:
    b = Backoff(first=1.0, cap=10.0, jitter=0.0)
    assert [b.delay(n) for n in range(1, 7)] == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    assert b.delay(10_000) == 10.0  # a long outage stays at the cap, never overflows


@given(
    first=st.floats(0.001, 10),
    extra=st.floats(0, 100),
    factor=st.floats(1, 4),
    jitter=st.floats(0, 0.9),
    attempt=st.integers(1, 200),
    r=st.floats(0, 1),
)
def test_a_wait_stays_within_the_jitter_of_its_base(
    first: float, extra: float, factor: float, jitter: float, attempt: int, r: float
) -> None:
    b = Backoff(first, first + extra, factor, jitter)
    base = b.base(attempt)
    assert first <= base <= b.cap
    assert base * (1 - jitter) - 1e-9 <= b.delay(attempt, lambda: r) <= base * (1 + jitter) + 1e-9
    assert b.base(attempt + 1) >= base


def test_retry_counts_failures_in_a_row_and_starts_over() -> None:
    r = Retry(Backoff(first=0.5, cap=4.0, jitter=0.0))
    assert [r.failed() for _ in range(5)] == [0.5, 1.0, 2.0, 4.0, 4.0]
    r.succeeded()
    assert r.failed() == 0.5


@pytest.mark.parametrize(
    "bad",
    [dict(first=0, cap=1), dict(first=2, cap=1), dict(first=1, cap=2, factor=0.5), dict(first=1, cap=2, jitter=1.0)],
)
def test_nonsense_settings_are_refused(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        Backoff(**bad)
    with pytest.raises(ValueError):
        NOTIFY.base(0)


def test_the_named_settings() -> None:
    assert (NOTIFY.first, NOTIFY.cap) == (1.0, 60.0) and (INFRA.first, INFRA.jitter) == (0.2, 0.5)


def test_a_failed_pass_is_retried_from_a_second_doubling_up_to_the_interval_without_jitter() -> None:
    r = Retry(failed_pass(60.0), rand=lambda: 1.0)  # no jitter: the extreme draw changes nothing
    assert [r.failed() for _ in range(8)] == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0]
    r.succeeded()
    assert r.failed() == FAILED_PASS_FIRST
    # a short interval caps the very first wait: a retry never comes later than the next pass would
    assert [failed_pass(0.5).delay(n) for n in (1, 2, 5)] == [0.5, 0.5, 0.5]
    assert failed_pass(0).delay(1) == FAILED_PASS_FLOOR  # passes back to back: nothing to back off within


def draw(r: float) -> Callable[[], float]:
    """A random source that always draws `r` (0: the shortest jittered wait, 1: the longest)."""
    return lambda: r


def test_each_loops_numbers_are_the_documented_ones() -> None:
    """The settings' docstrings promise these (docs and the modules that use them quote them)."""
    assert (DELIVERY.first, DELIVERY.cap, DELIVERY.jitter) == (1.0, 300.0, 0.25)
    assert (WATCH.first, WATCH.cap) == (0.5, 30.0)
    # the kube client's reconnect: at once, twice, never spread out (every verb it sends is idempotent)
    assert [RECONNECT.delay(n, lambda: 0.9) for n in (1, 2, 3)] == [0.1, 0.2, 0.2]
    # the hub store's ingest race: milliseconds, spread by half so that two replicas do not collide again
    assert INGEST_RACE.cap <= 0.05 and INGEST_RACE.jitter == 0.5
    assert {INGEST_RACE.delay(1, draw(r)) for r in (0.0, 1.0)} == {0.005, 0.015}
    # DELIVERY's set-aside span (razee/agent/delivery.py: 8 tries take about 1.5 to 2.5 minutes)
    spans = [sum(DELIVERY.delay(n, draw(r)) for n in range(1, 8)) for r in (0.0, 1.0)]
    assert 90 <= spans[0] < spans[1] <= 160
