"""The rollout question: may this spoke take the newest good revision now, or must it keep what it runs?

The hub answers with the rollout's state (who applied what, pauses, approvals, its clock); the agent decides with
razee.rollout.gate, on the waves the revision itself declares. A hub that cannot be asked holds a new revision
back, never an applied one: the spoke keeps enforcing what it runs. An applied revision is asked about until its
rollout completes, in case it halted into a rollback.
"""

from __future__ import annotations

import logging

from pydantic import ValidationError

from razee.agent.source import SourceFollower
from razee.errors import RazeeError
from razee.hubclient import HubClient, HubError, HubUnavailable
from razee.rollout.gate import SpokeRollout, Windows, decide
from razee.wire import RolloutState

log = logging.getLogger(__name__)
STATE_PATH = "/api/v1/rollout/state"


class RolloutQuestion:
    """Asks the hub about a revision for one spoke and turns the answer into the revision to enforce."""

    def __init__(self, spoke: str, hubs: HubClient | None, source: SourceFollower) -> None:
        """`hubs`: the agent's delivery's client (the hub that took the last report is asked first), with the
        agent's token and timeout; None asks nothing."""
        self.spoke = spoke
        self.hubs = hubs
        self.source = source

    def revision_to_enforce(self, wanted: str) -> tuple[str | None, str]:
        """`(revision, reason)`: `wanted` with no reason, or what to enforce instead (None: nothing yet) and why."""
        if self.hubs is None:
            return wanted, ""
        last_applied = self.source.state.last_applied
        if wanted == last_applied:
            return self._applied_question(wanted)
        fleet = self.source.fleet_at(wanted)
        view = fleet.find_spoke(self.spoke)
        if view is None:
            return wanted, ""  # the render reports a spoke that left the fleet
        try:
            doc = self.ask(wanted)
        except HubUnavailable as e:
            return last_applied, f"no hub can be asked ({e.detail}); not advancing"
        except RazeeError as e:
            return last_applied, f"the hub cannot be asked ({e}); not advancing"
        back = _rollback(wanted, doc)
        if back is not None:
            return back
        spokes = [
            SpokeRollout(
                s.spoke,
                s.wave,
                s.revision,
                s.result,
                s.applied_at,
                s.unhealthy,
                s.degraded,
                s.tried,
                s.tried_result,
                s.check_failed,
                s.checks_waiting,
            )
            for s in doc.spokes
            if s.spoke != self.spoke
        ]
        # the waves' members are the spokes this revision declares; times are the hub's, never this host's clock
        declared = {v.spoke.name: v.spoke.wave for v in fleet.spokes()}
        windows = view.region.windows if view.region.windows is not None else fleet.spec.rollout.windows
        peers = frozenset(
            v.spoke.name
            for v in fleet.spokes()
            if v.spoke.wave == view.spoke.wave and v.region.name == view.region.name
        )
        held = Windows(windows, doc.clock if doc.clock is not None else doc.now, peers, f"region {view.region.name}")
        decision = decide(
            wanted,
            view.spoke.wave,
            fleet.spec.rollout.waves,
            declared,
            spokes,
            doc.now,
            paused=doc.paused,
            approved=frozenset(doc.approved),
            urgent=self.source.is_urgent(wanted),
            started=doc.since,
            windows=held,
        )
        return (wanted, "") if decision.allowed else (last_applied, decision.reason)

    def ask(self, revision: str) -> RolloutState:
        """The hub's rollout state for `revision`, for this spoke; a RazeeError (HubUnavailable when no hub answers,
        the error for its status when one refuses, HubRefused for an answer that is not a rollout state) if the hub
        cannot say."""
        assert self.hubs is not None
        body = self.hubs.get_json(STATE_PATH, {"revision": revision, "spoke": self.spoke})
        try:
            doc = RolloutState.model_validate(body)
        except ValidationError as e:
            what = f"the hub's rollout state for {revision[:12]}"
            raise HubError(200, f"{what} is not one ({e.error_count()} error(s))") from e
        if doc.complete:
            self.source.completed(revision)
        return doc

    def _applied_question(self, wanted: str) -> tuple[str | None, str]:
        """Applied already: until the hub says its rollout completed, ask whether it halted into a rollback."""
        if wanted in self.source.state.completed:
            return wanted, ""
        try:
            doc = self.ask(wanted)
        except RazeeError:
            return wanted, ""  # keep enforcing what is applied; the next pass asks again
        return _rollback(wanted, doc) or (wanted, "")


def _rollback(wanted: str, doc: RolloutState) -> tuple[str, str] | None:
    """The older revision the hub tells this spoke to enforce because `wanted` halted (onFailure: rollback)."""
    back = doc.rollback
    if back is None or not back.to or back.to == wanted:
        return None
    return back.to, f"rolled back from {wanted[:12]} to {back.to[:12]}: {back.reason}"
