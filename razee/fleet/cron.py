"""A 5-field cron expression (minute hour day-of-month month day-of-week), as crontab(5) defines it.

Written here rather than taken from croniter: windows need only matching ("does this local minute match?"), which
is some 60 lines, and croniter's maintenance has wavered (it was declared unmaintained in 2024 before being taken
over); its DST handling is also its own. Matching is done on local wall-clock minutes that actually occur, so on
the day clocks spring forward a window that would open in the skipped hour does not open, and on the day they fall
back one that opens in the repeated hour opens twice (docs/rollout.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12), ("day of week", 0, 7))
NAMES = {
    3: ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"],
    4: ["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
}


@dataclass(frozen=True)
class Cron:
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    any_day: bool  # day of month is `*`
    any_weekday: bool  # day of week is `*`

    def matches(self, local: datetime) -> bool:
        """Does this local time's minute match? Day-of-month and day-of-week are OR-ed when both are restricted."""
        if local.minute not in self.minutes or local.hour not in self.hours or local.month not in self.months:
            return False
        return self.day_matches(local)

    def day_matches(self, local: datetime) -> bool:
        dom = local.day in self.days
        dow = (local.isoweekday() % 7) in self.weekdays
        if self.any_day or self.any_weekday:
            return dom and dow
        return dom or dow


def _value(text: str, index: int) -> int:
    names = NAMES.get(index)
    if names and text.lower() in names:
        return names.index(text.lower()) + (1 if index == 3 else 0)
    if not text.isdigit():
        raise ValueError(f"{FIELDS[index][0]}: {text!r} is not a number")
    return int(text)


def _field(text: str, index: int) -> frozenset[int]:
    name, low, high = FIELDS[index]
    out: set[int] = set()
    for part in text.split(","):
        rng, _, step_text = part.partition("/")
        step = int(step_text) if step_text.isdigit() and int(step_text) > 0 else 0
        if step_text and not step:
            raise ValueError(f"{name}: step {step_text!r} is not a positive number")
        if rng == "*":
            start, end = low, high
        elif "-" in rng:
            a, _, b = rng.partition("-")
            start, end = _value(a, index), _value(b, index)
        else:
            start = end = _value(rng, index)
            if step:
                end = high
        if not (low <= start <= high and low <= end <= high) or start > end:
            raise ValueError(f"{name}: {part!r} is outside {low}-{high}")
        out.update(range(start, end + 1, step or 1))
    if index == 4 and 7 in out:  # 7 is Sunday too
        out = (out - {7}) | {0}
    return frozenset(out)


def parse_cron(text: str) -> Cron:
    """The expression, or ValueError naming the field at fault."""
    parts = text.split()
    if len(parts) != 5:
        raise ValueError(
            f"cron {text!r} needs 5 fields (minute hour day-of-month month day-of-week), it has {len(parts)}"
        )
    sets = [_field(p, i) for i, p in enumerate(parts)]
    return Cron(sets[0], sets[1], sets[2], sets[3], sets[4], parts[2] == "*", parts[4] == "*")
