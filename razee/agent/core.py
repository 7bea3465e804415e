"""The spoke agent: follow the fleet repo, reconcile the spoke pass after pass, report every pass.

One pass: take the newest revision (a fetch, or the watched local folder); verify its signature if required;
render it through the policy gate. A revision that fails is reported and never applied; the agent keeps enforcing
the last good one. Then plan Kubernetes and infrastructure. A new revision is applied. The same revision with
changes found means drift: reported with field paths, and corrected only with self-heal. Only the replica holding
the Lease applies. Every pass ends with a report in the durable outbox.
"""

from __future__ import annotations

import gc
import hashlib
import json
import logging
import random
import shutil
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from razee.agent.checks import DEFAULT_PROMETHEUS, CheckRunner
from razee.agent.delivery import Delivery
from razee.agent.lease import LeaderElection
from razee.agent.metrics import AgentMetrics
from razee.agent.outbox import Outbox
from razee.agent.report import PassOutcome, describe_infra, describe_objects
from razee.agent.session import AgentSession
from razee.errors import InputError, RazeeError, ServiceError
from razee.fleet.fleet import Fleet
from razee.fleet.loader import load_fleet
from razee.hubs import HubsUnavailable
from razee.kube.client import Kube, load_api_client
from razee.kube.watchcache import LiveCache
from razee.pipeline import render_spoke
from razee.reconcile import Pass, PassOptions, Target, plan_spoke
from razee.render.cache import MemoryRenderCache
from razee.rollout.gate import SpokeRollout, Windows, decide
from razee.source.local import revision_snapshot
from razee.source.remote import GitSource, redact
from razee.source.signatures import verify_commit
from razee.source.watch import watch_folder

log = logging.getLogger(__name__)
FLEET_PARTS = ("environments", "templates")
HEALTH_RECHECK = 3.0


def folder_digest(root: Path) -> str:
    """A hash of the fleet files in a local folder: the 'revision' of a watched folder."""
    h = hashlib.sha256()
    for part in FLEET_PARTS:
        base = root / part
        for p in sorted(base.rglob("*")) if base.is_dir() else []:
            if p.is_file():
                h.update(p.relative_to(root).as_posix().encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()


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


COMPLETED_KEPT = 50


@dataclass
class SourceState:
    last_good: str | None = None
    last_applied: str | None = None
    rejected: dict[str, list[str]] = field(default_factory=dict)  # revision -> findings
    completed: list[str] = field(default_factory=list)
    """Revisions the hub said completed their rollout: no need to ask about them again (newest last)."""


class Agent:
    def __init__(self, settings: AgentSettings) -> None:
        self.s = settings
        self.metrics = AgentMetrics()
        self.stop = threading.Event()
        self.wake = threading.Event()
        self.state = SourceState()
        self.last_loop = time.monotonic()
        settings.state_dir.mkdir(parents=True, exist_ok=True)
        self.outbox = Outbox(settings.state_dir / "outbox.sqlite")
        self.delivery = Delivery(self.outbox, settings.hub, settings.hub_token)
        self.local = Path(settings.repo) if Path(settings.repo).is_dir() else None
        self.git = None if self.local else GitSource(settings.repo, settings.branch, settings.state_dir / "cache")
        self.checkouts = settings.state_dir / "checkouts"
        self.checkouts.mkdir(exist_ok=True)
        self.region = "?"
        self.render_cache = MemoryRenderCache()  # an unchanged revision is not rendered again
        self.session = AgentSession(lambda: Kube(load_api_client(self.s.kubeconfig, self.s.context, pool_size=32)))
        self._frozen_at = -1
        self.checks = CheckRunner(settings.prometheus)
        self._fleets: dict[str, Fleet] = {}
        self._load_state()

    # -- source -------------------------------------------------------------------------------------------------
    def newest_revision(self) -> str:
        if self.git is not None:
            return self.git.fetch()
        assert self.local is not None
        return "local-" + folder_digest(self.local)[:16]

    def checkout(self, revision: str) -> Path:
        """The revision's files in a folder of their own: copied to a temp folder, then renamed into place.

        A watched local folder is copied too, so a later broken edit cannot change the last good revision.
        """
        dest = self.checkouts / revision
        if not dest.exists():
            tmp = Path(tempfile.mkdtemp(dir=self.checkouts, prefix=".tmp-"))
            if self.local is not None:
                for part in FLEET_PARTS:
                    if (self.local / part).is_dir():
                        shutil.copytree(self.local / part, tmp / part, symlinks=True)
            else:
                assert self.git is not None
                with revision_snapshot(self.git.cache, revision) as snap:
                    shutil.copytree(snap, tmp, dirs_exist_ok=True)
            tmp.rename(dest)
        for old in self.checkouts.iterdir():
            keep = (revision, self.state.last_good, self.state.last_applied)
            if old.name not in keep and not old.name.startswith(".tmp-"):
                shutil.rmtree(old, ignore_errors=True)
        return dest

    def accept(self, revision: str) -> list[str]:
        """Findings that make the revision unusable (signature, schema, templates, policy); empty when good."""
        try:
            if self.s.trusted_keys is not None and self.git is not None:
                verify_commit(self.git.cache, revision, list(self.s.trusted_keys))
            root = self.checkout(revision)
            render_spoke(root, self.s.spoke, self.render_cache)  # the pass that follows reuses this render
        except InputError as e:
            return [str(f) for f in e.findings]
        except RazeeError as e:
            if isinstance(e, ServiceError):
                raise
            return [e.message]
        return []

    def source_info(self, revision: str) -> dict[str, str]:
        if self.git is None:
            return {"revision": revision, "path": str(self.local)}
        info = self.git.commit_info(revision)
        info["repo"] = redact(self.s.repo)
        return info

    # -- one pass -----------------------------------------------------------------------------------------------
    def run_pass(self, leader: bool) -> PassOutcome:
        started = time.monotonic()
        outcome = PassOutcome("failed", self.s.spoke, self.region, self.s.identity)
        good_before = self.state.last_good
        try:
            try:
                newest = self.newest_revision()
            except ServiceError as e:
                if self.state.last_good is None:
                    raise
                log.warning("%s; enforcing the last good revision %s", e.message, self.state.last_good[:12])
                self.metrics.errors.labels("source").inc()
                newest = self.state.last_good
            if newest != self.state.last_good and newest not in self.state.rejected:
                findings = self.accept(newest)
                if findings:
                    self.state.rejected[newest] = findings
                    log.error("revision %s rejected: %d problem(s)", newest[:12], len(findings))
                else:
                    self.state.last_good = newest
            self._save_state()
            if newest in self.state.rejected and (self.state.last_good is None or newest != self.state.last_good):
                self.metrics.errors.labels("rejected").inc()
                if self.state.last_good is None:
                    outcome.result, outcome.findings = "rejected", self.state.rejected[newest]
                    outcome.source = self.source_info(newest)
                    return outcome
                self._enforce_gated(self.state.last_good, leader, outcome)
                outcome.result = "rejected"
                outcome.findings = self.state.rejected[newest]
                outcome.error = f"revision {newest[:12]} rejected; enforcing {self.state.last_good[:12]}"
                return outcome
            assert self.state.last_good is not None
            self._enforce_gated(self.state.last_good, leader, outcome)
            if outcome.result in ("applied", "in-sync", "healed", "drifted", "waiting"):
                self.metrics.last_success.set(time.time())
            return outcome
        except RazeeError as e:
            outcome.result, outcome.error = "failed", e.message
            self.metrics.errors.labels(type(e).__name__).inc()
            log.error("pass failed: %s", e.message)
            return outcome
        finally:
            self._freeze_heap(good_before)
            outcome.durations["total"] = time.monotonic() - started
            self.metrics.pass_duration.observe(outcome.durations["total"])

    def _freeze_heap(self, good_before: str | None) -> None:
        """Keep long-lived data (the watched copies, the render) out of the garbage collector's full passes.

        At 2,000 objects the copies are some 200,000 containers; the full collection CPython runs every few passes
        would walk them all, at more CPU than an idle pass itself. They are frozen (gc.freeze) again after a pass
        that took in much new long-lived data: LISTs, many watch events, a new revision's render.
        """
        live = self.session.live
        if live is None:
            return
        if self.state.last_good == good_before and live.stored - self._frozen_at < max(live.size // 10, 1000):
            return
        gc.unfreeze()  # what was frozen before and is garbage now is collected too
        gc.collect()
        gc.freeze()
        self._frozen_at = live.stored

    # -- progressive rollout ------------------------------------------------------------------------------------
    def _enforce_gated(self, wanted: str, leader: bool, outcome: PassOutcome) -> None:
        """Enforce `wanted` if the rollout gate lets this spoke's wave take it, else the revision applied before."""
        revision, reason = self._gate(wanted)
        if reason:
            outcome.rollout = {"revision": wanted, "reason": reason}
            log.info("not advancing to %s: %s", wanted[:12], reason)
        if revision is None:
            outcome.result, outcome.source = "waiting", self.source_info(wanted)
            return
        self._enforce(revision, leader, outcome)
        if leader and outcome.result in ("applied", "in-sync", "healed", "drifted"):
            self._run_checks(revision, outcome)
        if reason and outcome.result in ("applied", "in-sync", "healed"):
            outcome.result = "waiting"

    def fleet_at(self, revision: str) -> Fleet:
        """The fleet a revision declares; the last two are kept (a held spoke asks about the one it waits for and
        checks the one it runs, every pass)."""
        fleet = self._fleets.get(revision)
        if fleet is None:
            fleet = self._fleets[revision] = load_fleet(self.checkout(revision))
            for old in list(self._fleets)[:-2]:
                del self._fleets[old]
        return fleet

    def _run_checks(self, revision: str, outcome: PassOutcome) -> None:
        """The wave's metric checks, reported with the pass; a failure wakes the loop to ask the hub at once."""
        fleet = self.fleet_at(revision)
        view = fleet.find_spoke(self.s.spoke)
        if view is None:
            return
        results = self.checks.run(revision, fleet, view, healthy=not outcome.unhealthy)
        outcome.checks = [r.as_report() for r in results]
        failed = [r for r in results if r.result == "fail"]
        if failed:
            log.warning("revision %s: %s", revision[:12], "; ".join(r.describe() for r in failed))
            self.wake.set()

    def _ask_hub(self, revision: str) -> dict[str, Any]:
        """The hub's rollout state for `revision`, for this spoke; HubsUnavailable, httpx.HTTPError or ValueError."""
        hubs = self.delivery.hubs
        assert hubs is not None
        with httpx.Client(timeout=10) as http:  # the hub that took the last report is asked first
            state = hubs.request(http, "GET", "/api/v1/rollout/state",
                                 params={"revision": revision, "spoke": self.s.spoke},
                                 headers={"Authorization": f"Bearer {self.s.hub_token}"})
        state.raise_for_status()
        doc: dict[str, Any] = state.json()
        if doc.get("complete") and revision not in self.state.completed:
            self.state.completed = [*self.state.completed, revision][-COMPLETED_KEPT:]
            self._save_state()
        return doc

    def _rollback(self, wanted: str, doc: dict[str, Any]) -> tuple[str, str] | None:
        """The older revision the hub tells this spoke to enforce because `wanted` halted (onFailure: rollback)."""
        back = doc.get("rollback") or {}
        target = str(back.get("to") or "")
        if not target or target == wanted:
            return None
        return target, f"rolled back from {wanted[:12]} to {target[:12]}: {back.get('reason', 'halted')}"

    def _applied_question(self, wanted: str) -> tuple[str | None, str]:
        """Applied already: until the hub says its rollout completed, ask whether it halted into a rollback."""
        if wanted in self.state.completed:
            return wanted, ""
        try:
            doc = self._ask_hub(wanted)
        except (HubsUnavailable, httpx.HTTPError, ValueError):
            return wanted, ""  # keep enforcing what is applied; the next pass asks again
        return self._rollback(wanted, doc) or (wanted, "")

    def _gate(self, wanted: str) -> tuple[str | None, str]:
        hubs = self.delivery.hubs
        if hubs is None:
            return wanted, ""
        if wanted == self.state.last_applied:
            return self._applied_question(wanted)
        fleet = self.fleet_at(wanted)
        view = fleet.find_spoke(self.s.spoke)
        if view is None:
            return wanted, ""  # the render reports a spoke that left the fleet
        try:
            doc = self._ask_hub(wanted)
        except HubsUnavailable as e:
            return self.state.last_applied, f"no hub can be asked ({e}); not advancing"
        except (httpx.HTTPError, ValueError) as e:
            return self.state.last_applied, f"the hub cannot be asked ({type(e).__name__}); not advancing"
        back = self._rollback(wanted, doc)
        if back is not None:
            return back
        spokes = [SpokeRollout(s["spoke"], s["wave"], s["revision"], s["result"], s["appliedAt"], s["unhealthy"],
                               s["degraded"], s["tried"], s["triedResult"], s.get("checkFailed", ""),
                               s.get("checksWaiting", ""))
                  for s in doc["spokes"] if s["spoke"] != self.s.spoke]
        urgent = self.git.is_urgent(wanted) if self.git is not None else False
        # the waves' members are the spokes this revision declares; times are the hub's, never this host's clock
        declared = {v.spoke.name: v.spoke.wave for v in fleet.spokes()}
        windows = view.region.windows if view.region.windows is not None else fleet.spec.rollout.windows
        peers = frozenset(v.spoke.name for v in fleet.spokes()
                          if v.spoke.wave == view.spoke.wave and v.region.name == view.region.name)
        now = float(doc.get("now") or time.time())
        held = Windows(windows, float(doc.get("clock") or now), peers, f"region {view.region.name}")
        decision = decide(wanted, view.spoke.wave, fleet.spec.rollout.waves, declared, spokes, now,
                          paused=bool(doc.get("paused")), approved=frozenset(doc.get("approved", [])),
                          urgent=urgent, started=doc.get("since"), windows=held)
        return (wanted, "") if decision.allowed else (self.state.last_applied, decision.reason)

    def _save_state(self) -> None:
        """What was applied survives a restart, so a restarted agent resumes a rollout where it stood."""
        path = self.s.state_dir / "state.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"lastApplied": self.state.last_applied, "lastGood": self.state.last_good,
                                   "completed": self.state.completed}))
        tmp.replace(path)

    def _load_state(self) -> None:
        path = self.s.state_dir / "state.json"
        if path.exists():
            try:
                doc = json.loads(path.read_text())
                self.state.last_applied, self.state.last_good = doc.get("lastApplied"), doc.get("lastGood")
                self.state.completed = [str(r) for r in doc.get("completed", [])][-COMPLETED_KEPT:]
            except ValueError:
                log.warning("ignoring an unreadable %s", path)

    def _enforce(self, revision: str, leader: bool, outcome: PassOutcome) -> None:
        root = self.checkout(revision)
        outcome.source = self.source_info(revision)
        self.metrics.source.info({"revision": revision})
        target = Target(self.s.spoke, self.s.kubeconfig, self.s.context, self.s.provider_settings)
        t0 = time.monotonic()
        run = plan_spoke(root, target, self.s.pass_options, self.render_cache, self.session)
        try:
            self.region = outcome.region = run.region
            outcome.wave = run.wave
            outcome.durations["plan"] = time.monotonic() - t0
            outcome.requests = run.kube.plan.requests if run.kube else 0  # an in-sync pass reports its reads too
            if run.kube:  # a rebuilt inventory, a namespace dropped from a cluster-scoped object
                outcome.findings = outcome.findings + run.kube.plan.warnings
            new_revision = revision != self.state.last_applied
            drift = not new_revision and run.has_changes
            if run.kube:
                self.metrics.drift.set(sum(1 for c in run.kube.plan.changes if c.drift) if drift else 0)
            if not leader:
                outcome.result = "standby"
                outcome.objects = describe_objects(run, None, drift_only=True)
                return
            if not run.has_changes:
                outcome.result = "in-sync"
                outcome.objects = describe_objects(run, None, drift_only=False)
                outcome.unhealthy = self._health(run)
                self.state.last_applied = revision
                return
            if drift and not self.s.self_heal:
                outcome.result = "drifted"
                outcome.objects = describe_objects(run, None, drift_only=True)
                outcome.infrastructure = describe_infra(run, None)
                return
            t1 = time.monotonic()
            applied = run.kube.apply() if run.kube else None
            infra = run.infra.apply() if run.infra and (applied is None or applied.ok) else None
            outcome.durations["apply"] = time.monotonic() - t1
            outcome.objects = describe_objects(run, applied, drift_only=False)
            outcome.infrastructure = describe_infra(run, infra)
            outcome.unhealthy = self._health(run)
            outcome.requests += applied.requests if applied else 0
            if applied:
                self.metrics.objects_applied.inc(len(applied.applied) + len(applied.pruned))
            ok = (applied is None or applied.ok) and (infra is None or not infra.failed)
            outcome.result = ("healed" if drift else "applied") if ok else "failed"
            if not ok:
                outcome.error = "; ".join(f"{k}: {m}" for k, m in (applied.failed if applied else [])[:5]) or (
                    "infrastructure changes failed")
            else:
                self.state.last_applied = revision
                self._save_state()
        finally:
            run.close()

    def _health(self, run: Pass) -> list[dict[str, str]]:
        """What is not healthy right now (one read, no waiting: the next pass looks again)."""
        if run.kube is None:
            return []
        try:
            # a pass that changed nothing reads health from the live state it just planned with
            found = run.kube.wait(0) if run.has_changes else run.kube.health_as_planned()
            return [{"object": str(key), "status": h.status.value, "reason": h.reason}
                    for key, h in sorted(found.items())][:100]
        except RazeeError as e:
            return [{"object": "*", "status": "unknown", "reason": e.message}]

    # -- the loop -----------------------------------------------------------------------------------------------
    def watch_live(self) -> LiveCache:
        """From now on, passes read live state from watches (razee.agent.session), not LISTs; the loop does this.

        A one-off pass (`--once`, or run_pass called alone) LISTs, as the CLI does. Call close_live() to stop.
        """
        return self.session.watch()

    def close_live(self) -> None:
        """Stop every watch and wait for its thread."""
        if self.session.stop_watching():
            gc.unfreeze()
            self._frozen_at = -1

    def report(self, outcome: PassOutcome) -> None:
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

    def run(self, once: bool = False) -> PassOutcome | None:
        last_full = float("-inf")  # the first pass is due at once (monotonic time may be small after a boot)
        last_seen: str | None = None
        backoff = 0.0
        outcome: PassOutcome | None = None
        election: LeaderElection | None = None
        interval = self.s.interval
        watcher = watch_folder(self.local, self.wake) if self.local is not None and not once else None
        if not once:
            self.watch_live()
        try:
            while not self.stop.is_set():
                self.last_loop = time.monotonic()
                due = time.monotonic() - last_full >= interval or self.wake.is_set()
                if not due and self.git is not None:
                    try:
                        due = self.git.fetch() != last_seen
                    except ServiceError as e:
                        log.warning("%s", e.message)
                if due:
                    self.wake.clear()
                    leader, election = self.elect()
                    outcome = self.run_pass(leader)
                    self.report(outcome)
                    if election is not None:
                        election.kube.close()
                    last_seen = outcome.source.get("revision")
                    last_full = time.monotonic()
                    interval = self.s.interval * random.uniform(0.9, 1.1)  # spread passes of many agents
                    log.info("pass: %s at %s", outcome.result, (last_seen or "?")[:12])
                    if once:
                        return outcome
                    backoff = min(max(1.0, backoff * 2), self.s.interval) if outcome.result == "failed" else 0.0
                    if backoff:
                        last_full -= interval - backoff  # retry a failed pass sooner, backing off
                    elif outcome.unhealthy:
                        # still rolling out: look again soon, so later waves learn of the health without waiting
                        # a whole interval
                        last_full -= interval - min(interval, HEALTH_RECHECK)
                    check_due = self.checks.next_due()
                    if check_due is not None:  # a wave's check is due before the next full pass: pass then
                        last_full = min(last_full, check_due - interval)
                else:
                    self.delivery.flush()
                self.stop.wait(min(self.s.poll, self.s.interval))
        finally:
            self.close_live()
            if watcher is not None:
                watcher.stop()
            if election is not None and outcome is not None and outcome.result != "standby":
                kube = Kube(load_api_client(self.s.kubeconfig, self.s.context))
                LeaderElection(kube, f"razee-agent-{self.s.spoke}", self.s.identity, self.s.lease_duration).release()
                kube.close()
            self.outbox.close()
            if self.git is not None:
                self.git.close()
        return outcome
