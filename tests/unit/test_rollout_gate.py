"""The rollout gate's decision on hand-made fleet states: the members of a wave are the spokes the revision
declares, whatever has reported."""

from __future__ import annotations

from razee.fleet.model import Wave
from razee.rollout.gate import SpokeRollout, decide, wave_states

WAVES = [
    Wave(name="canary", bake_time="10m", max_failures=0),
    Wave(name="main", max_failures="50%"),
    Wave(name="last", require_approval=True),
]
NOW = 100_000.0


def spoke(
    name: str,
    wave: str,
    revision: str = "new",
    result: str = "applied",
    applied: float | None = NOW - 3600,
    unhealthy: int = 0,
    degraded: int = 0,
    tried_result: str = "",
) -> SpokeRollout:
    return SpokeRollout(
        name, wave, revision, result, applied, unhealthy, degraded, tried=bool(tried_result), tried_result=tried_result
    )


def declared(fleet: list[SpokeRollout]) -> dict[str, str]:
    return {s.spoke: s.wave for s in fleet}


def test_first_wave_goes_first_and_later_waves_wait_for_it() -> None:
    fleet = [spoke("c1", "canary", revision="old"), spoke("m1", "main", revision="old")]
    assert decide("new", "canary", WAVES, declared(fleet), fleet, NOW).allowed
    waiting = decide("new", "main", WAVES, declared(fleet), fleet, NOW)
    assert not waiting.allowed and "wave canary: waiting for 1 of 1 spoke(s) to apply new" in waiting.reason
    assert waiting.waiting_for == ("c1",) and "c1: not applied (applied at old)" in waiting.reason


def test_a_silent_declared_spoke_holds_the_next_wave_and_is_named() -> None:
    fleet = [spoke("c1", "canary"), spoke("m1", "main", revision="old")]
    members = {**declared(fleet), "c2": "canary"}  # c2 is declared and has never reported
    held = decide("new", "main", WAVES, members, fleet, NOW)
    assert not held.allowed and not held.halted and held.waiting_for == ("c2",)
    assert "c2: never reported" in held.reason
    # a wave none of whose members ever reported is not "done" either
    nobody = decide("new", "main", WAVES, {"c9": "canary", "m1": "main"}, [], NOW)
    assert not nobody.allowed and nobody.waiting_for == ("c9",)
    # a spoke the revision no longer declares stops counting, even if it still reports something else
    gone = [spoke("c1", "canary"), spoke("c2", "canary", revision="old", result="failed")]
    assert decide("new", "main", WAVES, {"c1": "canary"}, gone, NOW).allowed
    # a declared wave with no member at all holds nothing
    assert decide("new", "main", WAVES, {"m1": "main"}, [], NOW).allowed


def test_progress_deadline_turns_silence_into_a_failure() -> None:
    waves = [Wave(name="canary", max_failures=0, progress_deadline="5m"), Wave(name="main")]
    members = {"c1": "canary", "c2": "canary", "m1": "main"}
    fleet = [spoke("c1", "canary", applied=NOW - 10)]
    within = decide("new", "main", waves, members, fleet, NOW, started=NOW - 60)
    assert not within.allowed and not within.halted and within.waiting_for == ("c2",)
    late = decide("new", "main", waves, members, fleet, NOW, started=NOW - 301)
    assert late.halted and late.failed == ("c2",) and "no progress within 5m: c2" in late.reason
    tolerant = [Wave(name="canary", max_failures=1, progress_deadline="5m"), Wave(name="main")]
    assert decide("new", "main", tolerant, members, fleet, NOW, started=NOW - 301).allowed
    states = wave_states("new", tolerant, members, fleet, NOW, NOW - 301)
    assert states[0].timed_out == ("c2",) and states[0].applied == ("c1",)
    # a later wave's deadline counts from when the wave before it finished (applied and baked)
    three = [Wave(name="canary", bake_time="1m"), Wave(name="main", progress_deadline="2m"), Wave(name="last")]
    members = {"c1": "canary", "m1": "main", "l1": "last"}
    fleet = [spoke("c1", "canary", applied=NOW - 100)]  # main may start at NOW - 40: its 2m end at NOW + 80
    assert decide("new", "last", three, members, fleet, NOW, started=NOW - 1000).waiting_for == ("m1",)
    assert decide("new", "last", three, members, fleet, NOW + 90, started=NOW - 1000).halted


def test_bake_time_and_urgent() -> None:
    fleet = [spoke("c1", "canary", applied=NOW - 60), spoke("m1", "main", revision="old")]
    baking = decide("new", "main", WAVES, declared(fleet), fleet, NOW)
    assert not baking.allowed and "baking: 540s left of 10m" in baking.reason
    assert decide("new", "main", WAVES, declared(fleet), fleet, NOW, urgent=True).allowed
    assert decide("new", "main", WAVES, declared(fleet), fleet, NOW + 600).allowed


def test_failures_halt_later_waves_even_when_urgent() -> None:
    fleet = [spoke("c1", "canary", result="failed"), spoke("m1", "main", revision="old")]
    halted = decide("new", "main", WAVES, declared(fleet), fleet, NOW, urgent=True)
    assert not halted.allowed and halted.halted and "wave canary has 1 failed spoke(s) (c1)" in halted.reason
    rejected = [spoke("c1", "canary", revision="old", tried_result="rejected")]
    assert decide("new", "main", WAVES, declared(rejected), rejected, NOW).halted
    degraded = [spoke("c1", "canary", unhealthy=2, degraded=1)]
    assert decide("new", "main", WAVES, declared(degraded), degraded, NOW).halted
    rolling = [spoke("c1", "canary", unhealthy=2)]
    decision = decide("new", "main", WAVES, declared(rolling), rolling, NOW)
    assert not decision.allowed and not decision.halted  # still rolling out: wait, do not halt
    assert "c1: 2 object(s) not healthy yet" in decision.reason


def test_share_of_failures_allowed_and_approval() -> None:
    fleet = [spoke("c1", "canary"), spoke("m1", "main", result="failed"), spoke("m2", "main")]
    gated = decide("new", "last", WAVES, declared(fleet), fleet, NOW)
    assert not gated.allowed and not gated.halted and "needs approval" in gated.reason  # 1 of 2 failed is 50 %
    assert decide("new", "last", WAVES, declared(fleet), fleet, NOW, approved=frozenset({"last"})).allowed
    worse = [spoke("c1", "canary"), spoke("m1", "main", result="failed"), spoke("m2", "main", result="failed")]
    assert decide("new", "last", WAVES, declared(worse), worse, NOW, approved=frozenset({"last"})).halted


def test_pause_and_fix_forward() -> None:
    fleet = [spoke("c1", "canary", revision="broken", result="failed")]
    assert decide("broken", "main", WAVES, declared(fleet), fleet, NOW).halted
    assert decide("fixed", "canary", WAVES, declared(fleet), fleet, NOW).allowed  # a newer revision starts anew
    assert not decide("fixed", "canary", WAVES, declared(fleet), fleet, NOW, paused=True).allowed


def test_refusing_a_newer_revision_is_no_failure_of_the_one_a_spoke_enforces() -> None:
    """Found by the fleet soak (issue 28): after a commit the policy gate refused, every agent reported `rejected`
    under the revision it kept enforcing; the gate counted that revision failed on them, halted it although it had
    completed, and onFailure: rollback sent the canaries back to an older revision."""
    fleet = [
        spoke("c1", "canary", revision="good", result="rejected"),
        spoke("m1", "main", revision="good", result="rejected"),
    ]
    states = wave_states("good", WAVES[:2], declared(fleet), fleet, NOW, NOW - 7200)
    assert [(s.applied, s.failed) for s in states] == [(("c1",), ()), (("m1",), ())]
    assert decide("good", "main", WAVES, declared(fleet), fleet, NOW).allowed
    # a spoke that never applied anything reports the refused revision itself: that stays a failure
    first = [spoke("c1", "canary", revision="bad", result="rejected", applied=None)]
    assert decide("bad", "main", WAVES, declared(first), first, NOW).halted
