"""The one backoff: waits double from `first` up to `cap`, spread by the jitter, and start over on success."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from razee.backoff import INFRA, NOTIFY, Backoff, Retry


def test_waits_double_up_to_the_cap() -> None:
    b = Backoff(first=1.0, cap=10.0, jitter=0.0)
    assert [b.delay(n) for n in range(1, 7)] == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    assert b.delay(10_000) == 10.0  # a long outage stays at the cap, never overflows


@given(first=st.floats(0.001, 10), extra=st.floats(0, 100), factor=st.floats(1, 4), jitter=st.floats(0, 0.9),
       attempt=st.integers(1, 200), r=st.floats(0, 1))
def test_a_wait_stays_within_the_jitter_of_its_base(first: float, extra: float, factor: float, jitter: float,
                                                     attempt: int, r: float) -> None:
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


@pytest.mark.parametrize("bad", [dict(first=0, cap=1), dict(first=2, cap=1), dict(first=1, cap=2, factor=0.5),
                                 dict(first=1, cap=2, jitter=1.0)])
def test_nonsense_settings_are_refused(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        Backoff(**bad)
    with pytest.raises(ValueError):
        NOTIFY.base(0)


def test_the_named_settings() -> None:
    assert (NOTIFY.first, NOTIFY.cap) == (1.0, 60.0) and (INFRA.first, INFRA.jitter) == (0.2, 0.5)
