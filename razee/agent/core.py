"""The spoke agent: follow the fleet repo, reconcile the spoke pass after pass, report every pass.

The jobs live in modules of their own: source following (razee.agent.source), the pass runner
(razee.agent.runner, which calls razee.reconcile), the rollout question (razee.agent.rollout) and, here, the loop:
when a pass is due, who leads (the Lease), the report into the durable outbox, retries and the pace.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from razee.agent.checks import DEFAULT_PROMETHEUS, CheckRunner
from razee.agent.delivery import Delivery
from razee.agent.lease import LeaderElection
from razee.agent.metrics import AgentMetrics
from razee.agent.outbox import Outbox
from razee.agent.report import PassReport
from razee.agent.rollout import RolloutQuestion
from razee.agent.runner import PassRunner
from razee.agent.session import AgentSession
from razee.agent.source import SourceFollower, SourceState, folder_digest
from razee.backoff import Retry, failed_pass
from razee.errors import RazeeError, ServiceError
from razee.kube.client import Kube, load_api_client
from razee.kube.watchcache import LiveCache
from razee.reconcile.plan import PassOptions
from razee.render.cache import MemoryRenderCache
from razee.source.watch import watch_folder
from razee.wire import PassOutcome

log = logging.getLogger(__name__)
HEALTH_RECHECK = 3.0
"""Seconds to the next pass while objects are still rolling out, so later waves learn of their health soon."""
__all__ = ["Agent", "AgentSettings", "SourceState", "folder_digest"]


@dataclass(frozen=True)
class AgentSettings:
    spoke: str
    repo: str
    """A git URL (file://, http(s)://, ssh://) to follow, or a local folder to watch."""
    branch: str = "main"
    interval: float = 60.0
    """Seconds between full passes, even without new commits, so drift is caught."""
    poll: float = 5.0
    """Seconds between checks for a new revision."""
    self_heal: bool = False
    kubeconfig: str | None = None
    context: str | None = None
    state_dir: Path = Path("/var/lib/razee")
    hub: str | Sequence[str] | None = None
    """One hub URL, several comma-separated, or a sequence: reports and rollout questions fail over in order."""
    hub_token: str | None = None
    identity: str = "razee-agent"
    lease_duration: int = 30
    trusted_keys: tuple[Path, ...] | None = None
    provider_settings: dict[str, str] = field(default_factory=dict)
    pass_options: PassOptions = field(default_factory=PassOptions)
    prometheus: str = DEFAULT_PROMETHEUS
    """The Prometheus this spoke's wave checks query (`/api/v1/query`) while the wave bakes."""


class Agent:
    def __init__(self, settings: AgentSettings) -> None:
        if settings.pass_options.sources.cache_dir is None:  # pulled charts outlive a restart: last good copies
            sources = replace(settings.pass_options.sources, cache_dir=settings.state_dir / "sources")
            settings = replace(settings, pass_options=replace(settings.pass_options, sources=sources))
        self.s = settings
        self.metrics = AgentMetrics()
        self.stop = threading.Event()
        self.wake = threading.Event()
        self.last_loop = time.monotonic()
        settings.state_dir.mkdir(parents=True, exist_ok=True)
        self.outbox = Outbox(settings.state_dir / "outbox.sqlite")
        self.delivery = Delivery(self.outbox, settings.hub, settings.hub_token)
        self.render_cache = MemoryRenderCache()  # an unchanged revision is not rendered again
        s = settings  # the watches' own connection, kept open between passes (razee/agent/session.py)
        self.session = AgentSession(lambda: Kube(load_api_client(s.kubeconfig, s.context, pool_size=32)))
        self.checks = CheckRunner(settings.prometheus)
        self.source = SourceFollower(
            settings.repo,
            settings.branch,
            settings.state_dir,
            settings.spoke,
            self.render_cache,
            settings.pass_options.sources,
        )
        self.rollout = RolloutQuestion(settings.spoke, self.delivery.hubs, self.source)
        self.runner = PassRunner(
            self.source, self.rollout, self.checks, self.metrics, self.render_cache, self.session, self.wake
        )

    @property
    def state(self) -> SourceState:
        return self.source.state

    def run_pass(self, leader: bool) -> PassReport:
        """One pass, reported in the returned PassReport (razee.agent.runner)."""
        return self.runner.run_pass(self.s, leader)

    # -- the loop -----------------------------------------------------------------------------------------------
    def watch_live(self) -> LiveCache:
        """From now on, passes read live state from watches (razee.agent.session), not LISTs; the loop does this.

        A one-off pass (`--once`, or run_pass called alone) LISTs, as the CLI does. Call close_live() to stop.
        """
        return self.session.watch()

    def close_live(self) -> None:
        """Stop every watch and wait for its thread."""
        if self.session.stop_watching():
            self.runner.unfrozen()

    def report(self, outcome: PassReport) -> None:
        body = outcome.to_report()
        self.outbox.put(body["id"], body)
        self.delivery.flush()
        self.metrics.outbox.set(len(self.outbox))
        self.metrics.refused.set(self.outbox.rejected)

    def elect(self) -> tuple[bool, LeaderElection | None]:
        try:
            live = self.session.live  # the loop's connection, open between passes, when it watches
            kube = live.pass_kube() if live is not None else Kube(load_api_client(self.s.kubeconfig, self.s.context))
        except RazeeError as e:
            log.error("cannot reach the cluster for leader election: %s", e.message)
            return False, None
        election = LeaderElection(kube, f"razee-agent-{self.s.spoke}", self.s.identity, self.s.lease_duration)
        try:
            leader = election.acquire()
        except RazeeError as e:
            log.error("leader election failed: %s", e.message)
            kube.close()
            return False, None
        self.metrics.leader.set(1 if leader else 0)
        return leader, election

    def run(self, once: bool = False) -> PassReport | None:
        """Pass after pass until `stop` is set (or once): a pass is due after the interval, on a new revision, a
        wake-up (a watched folder changed, a check failed) or a due check; between passes the outbox drains."""
        pace = _Pace(self.s.interval)
        outcome: PassReport | None = None
        election: LeaderElection | None = None
        local = self.source.local
        watcher = watch_folder(local, self.wake) if local is not None and not once else None
        if not once:
            self.watch_live()
        try:
            while not self.stop.is_set():
                self.last_loop = time.monotonic()
                if self._due(pace):
                    self.wake.clear()
                    leader, election = self.elect()
                    outcome = self.run_pass(leader)
                    self.report(outcome)
                    if election is not None:
                        election.kube.close()
                    log.info("pass: %s at %s", outcome.result, (outcome.source.get("revision") or "?")[:12])
                    if once:
                        return outcome
                    pace.passed(outcome, self.checks.next_due())
                else:
                    self.delivery.flush()
                self.stop.wait(min(self.s.poll, self.s.interval))
        finally:
            self.close_live()
            if watcher is not None:
                watcher.stop()
            if election is not None and outcome is not None and outcome.result != PassOutcome.STANDBY:
                self._release_lease()
            self.outbox.close()
            self.source.close()
        return outcome

    def _due(self, pace: _Pace) -> bool:
        if pace.due() or self.wake.is_set():
            return True
        git = self.source.git
        if git is None:
            return False
        try:
            return git.fetch() != pace.last_seen
        except ServiceError as e:
            log.warning("%s", e.message)
            return False

    def _release_lease(self) -> None:
        kube = Kube(load_api_client(self.s.kubeconfig, self.s.context))
        LeaderElection(kube, f"razee-agent-{self.s.spoke}", self.s.identity, self.s.lease_duration).release()
        kube.close()


class _Pace:
    """When the next full pass is due: the interval (jittered, so many agents spread out), sooner after a failure
    (backing off), while objects roll out, or when a wave's check is due."""

    def __init__(self, interval: float) -> None:
        self.base = interval
        self.interval = interval
        self.last_full = float("-inf")  # the first pass is due at once (monotonic time may be small after a boot)
        self.last_seen: str | None = None
        self.retry = Retry(failed_pass(interval))
        self.backoff = 0.0

    def due(self) -> bool:
        return time.monotonic() - self.last_full >= self.interval

    def passed(self, outcome: PassReport, check_due: float | None) -> None:
        # A spoke the rollout gate holds looks again at the next poll: its wave may take the revision any moment
        # (an earlier wave applied it, or finished baking). Remembering the waited-for revision as seen would hold
        # a spoke with nothing applied yet (its report names that revision) for a whole interval; a spoke holding
        # an older revision (its report names that one) already looked again at every poll.
        # A refused revision is seen once: its report names the revision still enforced, and taking that as seen
        # made every poll's fetch of the refused tip look new, a full pass and a report every poll (found by the
        # fleet soak). The next commit is news again.
        waiting = outcome.result == PassOutcome.WAITING
        refused = outcome.result == PassOutcome.REJECTED and outcome.newest is not None
        self.last_seen = None if waiting else outcome.newest if refused else outcome.source.get("revision")
        self.last_full = time.monotonic()
        self.interval = self.base * random.uniform(0.9, 1.1)  # spread passes of many agents
        failed = outcome.result == PassOutcome.FAILED
        if failed:
            self.backoff = self.retry.failed()
        else:
            self.retry.succeeded()
            self.backoff = 0.0
        if self.backoff:
            self.last_full -= self.interval - self.backoff  # retry a failed pass sooner, backing off
        elif outcome.unhealthy:
            # still rolling out: look again soon, so later waves learn of the health without waiting an interval
            self.last_full -= self.interval - min(self.interval, HEALTH_RECHECK)
        if check_due is not None:  # a wave's check is due before the next full pass: pass then
            self.last_full = min(self.last_full, check_due - self.interval)
