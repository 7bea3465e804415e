"""The rollout-state answer is one wire type (razee.wire.RolloutState): what the hub writes, the agent reads."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from razee.wire import Rollback, RolloutState, SpokeState


def test_the_hub_writes_camel_case_and_the_agent_reads_it_back() -> None:
    state = RolloutState(
        revision="a" * 40,
        paused=True,
        paused_by="ops",
        approved=["canary"],
        now=10.0,
        clock=11.0,
        since=5.0,
        halted="wave canary failed",
        on_failure="rollback",
        spokes=[
            SpokeState(
                spoke="s1",
                wave="canary",
                revision="a" * 40,
                result="applied",
                applied_at=7.0,
                tried=True,
                tried_result="applied",
                check_failed="check error-rate = 0.9 (max 0.5)",
            )
        ],
        rollback=Rollback.model_validate({"from": "a" * 40, "to": "b" * 40, "reason": "halted", "by": "hub"}),
    )
    wire = state.to_wire()
    assert wire["pausedBy"] == "ops" and wire["onFailure"] == "rollback"
    assert wire["spokes"][0]["appliedAt"] == 7.0 and wire["spokes"][0]["checkFailed"].startswith("check")
    assert wire["rollback"] == {"from": "a" * 40, "to": "b" * 40, "reason": "halted", "by": "hub"}
    assert RolloutState.model_validate(wire) == state


def test_an_answer_without_rollback_carries_none_and_newer_fields_are_ignored() -> None:
    doc = {"revision": "r", "now": 1.0, "spokes": [], "complete": True, "aFieldOfANewerHub": 1}
    state = RolloutState.model_validate(doc)
    assert state.complete and state.rollback is None and state.clock is None
    assert "rollback" not in state.to_wire()


@pytest.mark.parametrize(
    "doc",
    [
        {},
        {"revision": "r"},
        {"revision": "r", "now": "soon"},
        {"revision": "r", "now": 1.0, "spokes": [{"spoke": "s"}]},
    ],
)
def test_an_answer_that_is_not_a_rollout_state_is_refused(doc: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        RolloutState.model_validate(doc)
