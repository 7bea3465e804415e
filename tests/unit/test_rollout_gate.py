"""The rollout gate's decision on hand-made fleet states."""

from __future__ import annotations

from razee.fleet.model import Wave
from razee.rollout.gate import SpokeRollout, decide

WAVES = [Wave(name="canary", bake_time="10m", max_failures=0), Wave(name="main", max_failures="50%"),
         Wave(name="last", require_approval=True)]
NOW = 100_000.0


def spoke(name: str, wave: str, revision: str = "new", result: str = "applied", applied: float = NOW - 3600,
          unhealthy: int = 0, degraded: int = 0, tried_result: str = "") -> SpokeRollout:
    return SpokeRollout(name, wave, revision, result, applied, unhealthy, degraded, tried=bool(tried_result),
                        tried_result=tried_result)


def test_first_wave_goes_first_and_later_waves_wait_for_it() -> None:
    fleet = [spoke("c1", "canary", revision="old"), spoke("m1", "main", revision="old")]
    assert decide("new", "canary", WAVES, fleet, NOW).allowed
    waiting = decide("new", "main", WAVES, fleet, NOW)
    assert not waiting.allowed and "wave canary: 1 of 1 spoke(s) have not applied new" in waiting.reason


def test_bake_time_and_urgent() -> None:
    fleet = [spoke("c1", "canary", applied=NOW - 60), spoke("m1", "main", revision="old")]
    baking = decide("new", "main", WAVES, fleet, NOW)
    assert not baking.allowed and "baking: 540s left of 10m" in baking.reason
    assert decide("new", "main", WAVES, fleet, NOW, urgent=True).allowed
    assert decide("new", "main", WAVES, fleet, NOW + 600).allowed


def test_failures_halt_later_waves_even_when_urgent() -> None:
    fleet = [spoke("c1", "canary", result="failed"), spoke("m1", "main", revision="old")]
    halted = decide("new", "main", WAVES, fleet, NOW, urgent=True)
    assert not halted.allowed and halted.halted and "wave canary has 1 failed spoke(s) (c1)" in halted.reason
    rejected = [spoke("c1", "canary", revision="old", tried_result="rejected")]
    assert decide("new", "main", WAVES, rejected, NOW).halted
    degraded = [spoke("c1", "canary", unhealthy=2, degraded=1)]
    assert decide("new", "main", WAVES, degraded, NOW).halted
    rolling = decide("new", "main", WAVES, [spoke("c1", "canary", unhealthy=2)], NOW)
    assert not rolling.allowed and not rolling.halted  # still rolling out: wait, do not halt
    assert "not healthy yet" in rolling.reason


def test_share_of_failures_allowed_and_approval() -> None:
    fleet = [spoke("c1", "canary"), spoke("m1", "main", result="failed"), spoke("m2", "main")]
    gated = decide("new", "last", WAVES, fleet, NOW)
    assert not gated.allowed and not gated.halted and "needs approval" in gated.reason  # 1 of 2 failed is 50 %
    assert decide("new", "last", WAVES, fleet, NOW, approved=frozenset({"last"})).allowed
    worse = [spoke("c1", "canary"), spoke("m1", "main", result="failed"), spoke("m2", "main", result="failed")]
    assert decide("new", "last", WAVES, worse, NOW, approved=frozenset({"last"})).halted


def test_pause_and_fix_forward() -> None:
    fleet = [spoke("c1", "canary", revision="broken", result="failed")]
    assert decide("broken", "main", WAVES, fleet, NOW).halted
    assert decide("fixed", "canary", WAVES, fleet, NOW).allowed  # a newer revision starts its own rollout
    assert not decide("fixed", "canary", WAVES, fleet, NOW, paused=True).allowed
