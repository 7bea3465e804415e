"""The agent's loop: when its next pass runs (razee/agent/core.py `_Pace`), and which revisions' metric checks a pass
runs (razee/agent/runner.py)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from razee.agent.core import _Pace
from razee.agent.report import PassReport
from razee.agent.runner import PassRunner
from razee.wire import PassOutcome

REVISION = "a" * 40


def _report(result: PassOutcome) -> PassReport:
    report = PassReport(result, "spoke-1", "us-south", "agent-1")
    report.source = {"revision": REVISION}
    return report


def test_a_spoke_held_by_the_gate_looks_again_at_the_next_poll() -> None:
    """Found by the fleet soak (issue 28): a main-wave spoke with nothing applied yet, held while the canary wave
    applied and baked a fleet's first revision, waited a whole interval (60 s) before asking again, because its
    report names the revision it waits for and the loop took that revision as seen."""
    pace = _Pace(60.0)
    pace.passed(_report(PassOutcome.WAITING), None)
    assert pace.last_seen is None  # a fetch that finds REVISION is news: the next poll runs a pass
    assert not pace.due()  # the interval itself is untouched


def test_a_refused_revision_is_not_passed_again_at_every_poll() -> None:
    """Found by the fleet soak (issue 28): while the newest commit was one the gate refused, each agent ran a full
    pass and sent a report every poll (5 s) instead of every interval, since its report names the revision it keeps
    enforcing and the refused tip never counted as seen."""
    refused = "b" * 40
    pace = _Pace(60.0)
    report = _report(PassOutcome.REJECTED)  # enforcing REVISION, the last good one
    report.newest = refused
    pace.passed(report, None)
    assert pace.last_seen == refused and not pace.due()  # a fetch that finds the refused tip again is no news


def test_a_pass_on_the_newest_revision_waits_for_the_interval() -> None:
    pace = _Pace(60.0)
    pace.passed(_report(PassOutcome.IN_SYNC), None)
    assert pace.last_seen == REVISION and not pace.due()


class _NoChecks:
    def run(self, *args: Any) -> list[Any]:
        raise AssertionError("a completed revision's checks ran again")


def test_a_completed_revision_is_not_checked_again_when_a_spoke_returns_to_it() -> None:
    """Found by the fleet soak (issue 28): a canary rolled back because its error rate went bad returned to the good
    revision, whose checks started afresh with the same bad error rate; the good revision failed too."""
    runner: Any = SimpleNamespace(
        source=SimpleNamespace(state=SimpleNamespace(completed=[REVISION])), checks=_NoChecks()
    )
    report = _report(PassOutcome.APPLIED)
    PassRunner._run_checks(runner, None, REVISION, report)  # type: ignore[arg-type]
    assert report.checks == []
