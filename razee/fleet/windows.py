"""Maintenance windows: is one open at a given instant, and when does the next open (in its own time zone)?

Instants are POSIX seconds from the hub's clock; cron fields are matched against the local wall-clock minutes that
occur in the window's time zone (zoneinfo), so daylight-saving changes follow the rules in razee/fleet/cron.py.
The search walks UTC quarter-hours: every time zone's offset is a multiple of 15 minutes, so one quarter-hour has
one local hour and date, and whole quarter-hours that cannot match are skipped at once.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from razee.fleet.cron import Cron, parse_cron

MAX_WINDOW = 7 * 86_400
HORIZON = 366 * 86_400
"""How far ahead the next opening is looked for; a cron that matches less often than yearly never opens."""
QUARTER = 900


class WindowSpec(Protocol):
    @property
    def cron(self) -> str: ...

    @property
    def duration(self) -> str: ...

    @property
    def timezone(self) -> str: ...


@dataclass(frozen=True)
class Opening:
    at: float  # POSIX seconds
    timezone: str

    def describe(self) -> str:
        local = datetime.fromtimestamp(self.at, _zone(self.timezone))
        return f"{local:%Y-%m-%d %H:%M} {local.tzname()} ({self.timezone})"


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@lru_cache(maxsize=256)
def _cron(text: str) -> Cron:
    return parse_cron(text)


def _seconds(duration: str) -> int:
    from razee.fleet.model import parse_duration

    return parse_duration(duration)


def check_window(cron: str, duration: str, timezone: str) -> None:
    """ValueError with what is wrong: the cron, the time zone, or a duration of zero or over 7 days."""
    parse_cron(cron)
    try:
        _zone(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {timezone!r} (use an IANA name such as Europe/Berlin)") from None
    seconds = _seconds(duration)
    if not 0 < seconds <= MAX_WINDOW:
        raise ValueError(f"window duration {duration} must be more than 0s and at most 7 days")


def _starts(cron: Cron, zone: ZoneInfo, begin: int, end: int, step: int) -> Iterator[int]:
    """Minutes (POSIX seconds) in [begin, end) whose local time matches, walking forward (step > 0) or back."""
    block = ((begin if step > 0 else end - 1) // QUARTER) * QUARTER
    while (block < end) if step > 0 else (block + QUARTER > begin):
        local = datetime.fromtimestamp(block, zone)
        if local.hour in cron.hours and local.month in cron.months and cron.day_matches(local):
            minutes = range(0, QUARTER, 60) if step > 0 else range(QUARTER - 60, -60, -60)
            for off in minutes:
                t = block + off
                if begin <= t < end and datetime.fromtimestamp(t, zone).minute in cron.minutes:
                    yield t
        block += QUARTER if step > 0 else -QUARTER


def is_open(window: WindowSpec, now: float) -> bool:
    """A start within the last `duration` seconds (a window is [start, start + duration))."""
    span = _seconds(window.duration)
    t = int(now)
    return next(_starts(_cron(window.cron), _zone(window.timezone), t - span + 1, t + 1, -1), None) is not None


def next_opening(window: WindowSpec, now: float) -> Opening | None:
    t = int(now)
    start = next(_starts(_cron(window.cron), _zone(window.timezone), t + 1, t + HORIZON, 1), None)
    return Opening(float(start), window.timezone) if start is not None else None


def window_reason(windows: Sequence[WindowSpec], now: float) -> str:
    """'' when `windows` is empty or one is open; otherwise why a wave waits, with the soonest opening."""
    if not windows or any(is_open(w, now) for w in windows):
        return ""
    openings = [o for o in (next_opening(w, now) for w in windows) if o is not None]
    if not openings:
        return "outside its maintenance windows, and none opens within a year"
    soonest = min(openings, key=lambda o: o.at)
    return f"next window opens at {soonest.describe()}"
