"""The pass runner: one agent pass, from the newest revision to the report of what it found and did.

The newest revision is taken (the last good one while the source is unreachable) and accepted or rejected; a
rejected revision is reported and the last good one enforced. The rollout question says which revision this
spoke may enforce; razee.reconcile runs the pass on it (apply only as the Lease holder; drift corrected only with
self-heal); the wave's metric checks run while it bakes. Every pass ends in a `PassReport`, never an exception.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from razee.agent.checks import CheckRunner
from razee.agent.clusters import describe_clusters, describe_sources
from razee.agent.metrics import AgentMetrics
from razee.agent.report import PassReport, describe_infra, describe_objects
from razee.agent.rollout import RolloutQuestion
from razee.agent.session import AgentSession
from razee.agent.source import SourceFollower
from razee.errors import RazeeError, ServiceError
from razee.reconcile.flow import ApplyMode, Intent, PassResult, reconcile
from razee.reconcile.plan import Target
from razee.render.cache import RenderCache
from razee.wire import OK_RESULTS, PassOutcome

if TYPE_CHECKING:
    from razee.agent.core import AgentSettings

log = logging.getLogger(__name__)
MAX_ERRORS_SHOWN = 5
"""Failed objects named in a failed pass's error (all are in its objects)."""


@dataclass(eq=False)
class PassRunner:
    """The pass's collaborators, handed in by the agent (razee/agent/core.py), and what one pass leaves for the
    next: the spoke's region (known after a render) and how many objects the watched copies had stored at the last
    freeze of the heap."""

    source: SourceFollower
    rollout: RolloutQuestion
    checks: CheckRunner
    metrics: AgentMetrics
    render_cache: RenderCache
    session: AgentSession
    wake: threading.Event
    region: str = field(default="?", init=False)
    _frozen_at: int = field(default=-1, init=False)

    def run_pass(self, s: AgentSettings, leader: bool) -> PassReport:
        started = time.monotonic()
        report = PassReport(PassOutcome.FAILED, s.spoke, self.region, s.identity)
        state = self.source.state
        good_before = state.last_good
        try:
            newest = report.newest = self._newest(s)
            if newest in state.rejected and (state.last_good is None or newest != state.last_good):
                self.metrics.errors.labels("rejected").inc()
                if state.last_good is not None:
                    self._enforce_gated(s, state.last_good, leader, report)
                    report.error = f"revision {newest[:12]} rejected; enforcing {state.last_good[:12]}"
                else:
                    report.source = self.source.source_info(newest)
                report.result, report.findings = PassOutcome.REJECTED, state.rejected[newest]
                return report
            assert state.last_good is not None
            self._enforce_gated(s, state.last_good, leader, report)
            if report.result in (*OK_RESULTS, PassOutcome.WAITING):
                self.metrics.last_success.set(time.time())
            return report
        except RazeeError as e:
            report.result, report.error = PassOutcome.FAILED, e.message
            self.metrics.errors.labels(type(e).__name__).inc()
            log.error("pass failed: %s", e.message)
            return report
        finally:
            self._freeze_heap(good_before)
            report.durations["total"] = time.monotonic() - started
            self.metrics.pass_duration.observe(report.durations["total"])

    def _newest(self, s: AgentSettings) -> str:
        """The newest revision, accepted or rejected once; the last good one while the source is unreachable."""
        state = self.source.state
        try:
            newest = self.source.newest_revision()
        except ServiceError as e:
            if state.last_good is None:
                raise
            log.warning("%s; enforcing the last good revision %s", e.message, state.last_good[:12])
            self.metrics.errors.labels("source").inc()
            newest = state.last_good
        if newest != state.last_good and newest not in state.rejected:
            try:
                findings = self.source.accept(newest, s.trusted_keys, s.pass_options.age_identity)
            except ServiceError as e:  # a chart repository down: not the revision's fault; asked again next pass
                if state.last_good is None:
                    raise
                log.warning(
                    "revision %s cannot be checked now: %s; enforcing the last good revision %s",
                    newest[:12],
                    e.message,
                    state.last_good[:12],
                )
                self.metrics.errors.labels("source").inc()
                return state.last_good
            if findings:
                state.rejected[newest] = findings
                log.error("revision %s rejected: %d problem(s)", newest[:12], len(findings))
            else:
                state.last_good = newest
        self.source.save_state()
        return newest

    def _enforce_gated(self, s: AgentSettings, wanted: str, leader: bool, report: PassReport) -> None:
        """Enforce `wanted` if the rollout gate lets this spoke's wave take it, else the revision applied before."""
        revision, reason = self.rollout.revision_to_enforce(wanted)
        if reason:
            report.rollout = {"revision": wanted, "reason": reason}
            log.info("not advancing to %s: %s", wanted[:12], reason)
        if revision is None:
            report.result, report.source = PassOutcome.WAITING, self.source.source_info(wanted)
            return
        self._enforce(s, revision, leader, report)
        if leader and report.result in OK_RESULTS:
            self._run_checks(s, revision, report)
        if reason and report.result in (PassOutcome.APPLIED, PassOutcome.IN_SYNC, PassOutcome.HEALED):
            report.result = PassOutcome.WAITING

    def _run_checks(self, s: AgentSettings, revision: str, report: PassReport) -> None:
        """The wave's metric checks, reported with the pass; a failure wakes the loop to ask the hub at once.

        A revision whose rollout completed passed its checks: they are not run again when the spoke returns to it
        (a rollback, or a restarted agent, whose checks start afresh). Otherwise a canary rolled back because its
        metrics went bad failed the good revision too, with the same bad metrics, which halted it (found by the
        fleet soak, issue 28)."""
        if revision in self.source.state.completed:
            return
        fleet = self.source.fleet_at(revision)
        view = fleet.find_spoke(s.spoke)
        if view is None:
            return
        results = self.checks.run(revision, fleet, view, healthy=not report.unhealthy)
        report.checks = [r.as_report() for r in results]
        failed = [r for r in results if r.result == "fail"]
        if failed:
            log.warning("revision %s: %s", revision[:12], "; ".join(r.describe() for r in failed))
            self.wake.set()

    def _enforce(self, s: AgentSettings, revision: str, leader: bool, report: PassReport) -> None:
        """One pass of razee.reconcile on `revision`, reported; the revision counts as applied once it is."""
        root = self.source.checkout(revision)
        report.source = self.source.source_info(revision)
        self.metrics.source.info({"revision": revision})
        target = Target(s.spoke, s.kubeconfig, s.context, s.provider_settings)
        applied_before = revision == self.source.state.last_applied
        mode = ApplyMode.CHANGES if leader else ApplyMode.STANDBY
        intent = Intent(mode, applied_before=applied_before, heal=s.self_heal, health_wait=0)
        result = reconcile(root, target, s.pass_options, intent, self.render_cache, self.session)
        self._describe(result, report)
        if result.error is not None:
            raise result.error
        report.result = result.outcome
        if result.outcome == PassOutcome.IN_SYNC:
            self.source.state.last_applied = revision
        elif result.outcome in (PassOutcome.APPLIED, PassOutcome.HEALED):
            self.source.state.last_applied = revision
            self.source.save_state()
        elif result.outcome == PassOutcome.FAILED:
            failed = result.applied.failed if result.applied else []
            report.error = "; ".join(f"{k}: {m}" for k, m in failed[:MAX_ERRORS_SHOWN]) or (
                "infrastructure changes failed"
            )

    def _describe(self, result: PassResult, report: PassReport) -> None:
        """What the pass found, into the report and the metrics."""
        run = result.run
        self.region = report.region = run.region
        report.wave = run.wave
        report.durations["plan"] = result.durations["plan"]
        report.requests = run.kube.plan.requests if run.kube else 0  # an in-sync pass reports its reads too
        if run.kube:  # a rebuilt inventory, a namespace dropped from a cluster-scoped object
            report.findings = report.findings + run.kube.plan.warnings
            self.metrics.drift.set(sum(1 for c in run.kube.plan.changes if c.drift) if result.drift else 0)
        if result.error is not None:
            return
        outcome = result.outcome
        report.objects = describe_objects(
            run, result.applied, drift_only=outcome in (PassOutcome.STANDBY, PassOutcome.DRIFTED)
        )
        if outcome not in (PassOutcome.STANDBY, PassOutcome.IN_SYNC):
            report.infrastructure = describe_infra(run, result.infra)
        report.clusters = describe_clusters(run, report.objects, result.infra)
        report.sources = describe_sources(run.sources)
        if outcome != PassOutcome.STANDBY and outcome != PassOutcome.DRIFTED:
            report.unhealthy = _unhealthy(result)
        if "apply" in result.durations:
            report.durations["apply"] = result.durations["apply"]
            report.requests = result.requests
        if result.applied:
            self.metrics.objects_applied.inc(len(result.applied.applied) + len(result.applied.pruned))

    def _freeze_heap(self, good_before: str | None) -> None:
        """Keep long-lived data (the watched copies, the render) out of the garbage collector's full passes.

        At 2,000 objects the copies are some 200,000 containers; the full collection CPython runs every few passes
        would walk them all, at more CPU than an idle pass itself. They are frozen (gc.freeze) again after a pass
        that took in much new long-lived data: LISTs, many watch events, a new revision's render.
        """
        live = self.session.live
        if live is None:
            return
        if self.source.state.last_good == good_before and live.stored - self._frozen_at < max(live.size // 10, 1000):
            return
        gc.unfreeze()  # what was frozen before and is garbage now is collected too
        gc.collect()
        gc.freeze()
        self._frozen_at = live.stored

    def unfrozen(self) -> None:
        """The watched copies are gone: the next pass with watches freezes afresh."""
        gc.unfreeze()
        self._frozen_at = -1


def _unhealthy(result: PassResult) -> list[dict[str, str]]:
    """What is not healthy right now (one read, no waiting: the next pass looks again)."""
    if result.health_error is not None:
        return [{"object": "*", "status": "unknown", "reason": result.health_error.message}]
    return [
        {"object": str(key), "status": h.status.value, "reason": h.reason}
        for key, h in sorted(result.unhealthy.items())
    ][:100]
