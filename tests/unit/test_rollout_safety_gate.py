"""The gate's decision table for issue 27: checks, maintenance windows (DST included), rollback targets."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from razee.agent.checks import judge
from razee.fleet.model import Check, Wave, Window
from razee.fleet.windows import is_open, next_opening, window_reason
from razee.rollout.gate import SpokeRollout, Windows, decide, revision_halt, wave_states
from razee.rollout.rollback import rollback_target

CHECK = Check(name="error-rate", query="up", max=0.5)
WAVES = [Wave(name="canary", max_failures=0, checks=[CHECK]), Wave(name="main")]
NOW = 100_000.0
MEMBERS = {"c1": "canary", "m1": "main"}
CHICAGO = ZoneInfo("America/Chicago")


def spoke(name: str, wave: str, revision: str = "new", **kw: object) -> SpokeRollout:
    return replace(SpokeRollout(name, wave, revision, "applied", NOW - 60, 0), **kw)  # type: ignore[arg-type]


def test_a_failed_check_fails_the_spoke_and_the_halt_names_check_and_value() -> None:
    fleet = [
        spoke("c1", "canary", check_failed="check error-rate = 0.93 (max 0.5)"),
        spoke("m1", "main", revision="old"),
    ]
    held = decide("new", "main", WAVES, MEMBERS, fleet, NOW)
    assert held.halted and held.failed == ("c1",)
    assert held.reason == (
        "halted: wave canary has 1 failed spoke(s) (c1); c1: check error-rate = 0.93 (max 0.5); it allows 0"
    )
    # sticky: rolled back to an older revision, the spoke still counts as failed for this one
    back = [spoke("c1", "canary", revision="old", result="waiting", check_failed="check error-rate = 0.93 (max 0.5)")]
    assert decide("new", "main", WAVES, MEMBERS, back, NOW).halted


def test_a_check_without_a_passing_result_holds_and_the_deadline_fails_it() -> None:
    waiting = [spoke("c1", "canary", checks_waiting="check error-rate has no passing result yet (unreachable)")]
    held = decide("new", "main", WAVES, MEMBERS, waiting, NOW, started=NOW - 60)
    assert not held.allowed and not held.halted and "c1: check error-rate has no passing result" in held.reason
    late = [Wave(name="canary", checks=[CHECK], progress_deadline="5m"), Wave(name="main")]
    timed_out = decide("new", "main", late, MEMBERS, waiting, NOW, started=NOW - 301)
    assert timed_out.halted and "no progress within 5m: c1" in timed_out.reason
    # a wave without checks ignores check results; passing checks let the next wave go
    assert decide("new", "main", [Wave(name="canary"), Wave(name="main")], MEMBERS, waiting, NOW).allowed
    assert decide("new", "main", WAVES, MEMBERS, [spoke("c1", "canary")], NOW).allowed


def test_a_failure_in_the_last_wave_halts_the_revision() -> None:
    fleet = [spoke("c1", "canary"), spoke("m1", "main", result="failed")]
    states = wave_states("new", WAVES, MEMBERS, fleet, NOW, NOW - 600)
    halt = revision_halt(WAVES, states)
    assert halt is not None and halt.reason.startswith("halted: wave main has 1 failed spoke(s) (m1)")
    assert revision_halt(WAVES, wave_states("new", WAVES, MEMBERS, [spoke("c1", "canary")], NOW, NOW)) is None


@pytest.mark.parametrize(
    ("values", "check", "result", "value"),
    [
        ([0.1, 0.3], CHECK, "pass", 0.3),
        ([0.1, 0.9], CHECK, "fail", 0.9),
        ([], CHECK, "fail", None),
        ([], Check(name="e", query="up", max=1, missing="pass"), "pass", None),
        ([float("nan")], CHECK, "fail", None),
        ([2.0], Check(name="e", query="up", min=3), "fail", 2.0),
        ([4.0, 5.0], Check(name="e", query="up", min=3), "pass", 4.0),
    ],
)
def test_judging_a_query_result(values: list[float], check: Check, result: str, value: float | None) -> None:
    judged = judge(check, values)
    assert (judged.result, judged.value) == (result, value)


def _at(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> float:
    return datetime(year, month, day, hour, minute, second, tzinfo=CHICAGO).timestamp()


WEEKNIGHTS = Window(cron="0 2 * * 1-5", duration="4h", timezone="America/Chicago")


@pytest.mark.parametrize(
    ("instant", "open_", "reason"),
    [
        (_at(2026, 3, 6, 1, 59), False, "next window opens at 2026-03-06 02:00 CST (America/Chicago)"),  # Friday
        (_at(2026, 3, 6, 2, 0), True, ""),
        (_at(2026, 3, 6, 5, 59), True, ""),
        (_at(2026, 3, 6, 6, 0), False, "next window opens at 2026-03-09 02:00 CDT (America/Chicago)"),  # over the DST
    ],
)
def test_windows_open_and_close_in_their_time_zone(instant: float, open_: bool, reason: str) -> None:
    assert is_open(WEEKNIGHTS, instant) is open_
    assert window_reason([WEEKNIGHTS], instant) == reason


def test_spring_forward_skips_a_window_in_the_missing_hour_and_fall_back_repeats_one() -> None:
    nightly = Window(cron="30 2 * * *", duration="30m", timezone="America/Chicago")
    opening = next_opening(nightly, _at(2026, 3, 7, 12, 0))
    assert opening is not None and opening.describe() == "2026-03-09 02:30 CDT (America/Chicago)"  # 8th: no 02:30
    # 3:00 CDT comes 1 s after 01:59:59 CST on the 8th: a window at 3 opens one real second later
    three = Window(cron="0 3 * * *", duration="1h", timezone="America/Chicago")
    assert next_opening(three, _at(2026, 3, 8, 1, 59, 59)).at - _at(2026, 3, 8, 1, 59, 59) == 1
    # 2026-11-01: 01:00-02:00 happens twice (CDT, then CST); a 01:30 window opens in both
    half_past_one = Window(cron="30 1 * * *", duration="30m", timezone="America/Chicago")
    first = next_opening(half_past_one, _at(2026, 11, 1, 0, 0))
    assert first is not None and first.describe() == "2026-11-01 01:30 CDT (America/Chicago)"
    second = next_opening(half_past_one, first.at + 1)
    assert second is not None and second.describe() == "2026-11-01 01:30 CST (America/Chicago)"
    assert second.at - first.at == 3600


def test_windows_hold_a_wave_until_open_except_urgent_or_started() -> None:
    closed = Windows([WEEKNIGHTS], _at(2026, 3, 6, 1, 0), label="region us-south")
    fleet = [spoke("c1", "canary"), spoke("m1", "main", revision="old")]
    held = decide("new", "main", WAVES, MEMBERS, fleet, NOW, windows=closed)
    assert held.reason == (
        "wave main in region us-south waits for a maintenance window: next window opens at "
        "2026-03-06 02:00 CST (America/Chicago)"
    )
    assert decide(
        "new", "main", WAVES, MEMBERS, fleet, NOW, windows=replace(closed, clock=_at(2026, 3, 6, 3, 0))
    ).allowed
    assert decide("new", "main", WAVES, MEMBERS, fleet, NOW, windows=closed, urgent=True).allowed
    # a wave that started inside the window finishes after it closed
    started = [*fleet, spoke("m2", "main")]
    members = {**MEMBERS, "m2": "main"}
    assert decide("new", "main", WAVES, members, started, NOW, windows=closed).allowed
    # ...but only in its own region (peers)
    assert not decide(
        "new", "main", WAVES, members, started, NOW, windows=replace(closed, peers=frozenset({"m1"}))
    ).allowed
    assert decide("new", "main", WAVES, MEMBERS, fleet, NOW, windows=Windows()).allowed  # no windows: any time


@pytest.mark.parametrize(
    ("had", "completed", "expected"),
    [
        (["bad", "v2", "v1"], {"v2", "v1"}, "v2"),  # the newest completed one it had
        (["bad", "v2", "v1"], {"v1"}, "v1"),  # v2 never completed (the canary took bad before main finished v2)
        (["bad"], {"v0"}, None),  # never had a completed revision: nothing to return to
        (["bad", "v1"], {"bad", "v1"}, "v1"),  # never the halted one itself
    ],
)
def test_rollback_target(had: list[str], completed: set[str], expected: str | None) -> None:
    assert rollback_target(had, completed, "bad") == expected


def test_a_new_rollback_is_one_notification() -> None:
    from razee.hub.transitions import Snapshot, SpokeView, changes

    spokes = {"c1": SpokeView("held", "us-south", 0, 0)}
    before = Snapshot(0.0, spokes)
    after = Snapshot(1.0, spokes, rollbacks={("c1", "b" * 40): ("g" * 40, "halted: wave canary ...")})
    events = changes(before, after)
    assert [(e.kind, e.spoke, e.region, e.revision, e.state) for e in events] == [
        ("rollout-rolled-back", "c1", "us-south", "b" * 40, "g" * 40)
    ]
    assert events[0].text == f"spoke c1 rolled back from {'b' * 12} to {'g' * 12}: halted: wave canary ..."
    assert changes(after, after) == []
