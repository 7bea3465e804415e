"""The soak's fleet at run time: starting every process, making a commit and following it to every cluster, and
checking what each spoke's cluster and the hub say against what the commit declares.

Every wait has a deadline (generous: a shared 2-core machine), and every check that fails raises SoakFailure with
the spokes and objects it is about, which scripts/soak turns into a non-zero exit.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.helpers.soak_fleet import Commit, Expected, SoakFleet
from tests.helpers.soak_hub import HubView
from tests.helpers.soak_kube import Cluster
from tests.helpers.soak_measure import Sampler
from tests.helpers.soak_procs import Agent, Clusters, Hub
from tests.pgserver import PostgresServer
from tests.prom import Exporter, PrometheusServer

OK_RESULTS = ("applied", "in-sync", "healed", "drifted")
GOOD_ERROR_RATE = 0.05
BAD_ERROR_RATE = 0.9
HOME_MARK = ".razee-soak"
"""A soak's folder carries this file; the soak wipes only such a folder (or an empty one) when it starts."""


class SoakFailure(Exception):
    """A check of the soak failed: the message says which, where and what was seen."""


@dataclass
class Options:
    home: Path
    short: bool = False
    minutes: float = 0.0
    regions: tuple[str, ...] = ()  # development: only these regions' spokes (the default is the whole fleet)
    bake: str = "10s"
    agent_interval: str = "60s"
    agent_poll: str = "5s"
    hub_poll: str = "5s"
    idle_seconds: float = 60.0
    deadline: float = 420.0  # one commit, from the commit to every check passing


class Soak:
    def __init__(self, opts: Options, say: Callable[[str], None]) -> None:
        self.opts, self.say = opts, say
        if opts.home.exists() and any(opts.home.iterdir()) and not (opts.home / HOME_MARK).exists():
            raise SoakFailure(f"{opts.home} is not empty and not a soak's folder: the soak wipes its folder first")
        Clusters(opts.home / "testenv").stop_all()  # a run before this one left nothing running, nor any state
        shutil.rmtree(opts.home, ignore_errors=True)
        opts.home.mkdir(parents=True)
        (opts.home / HOME_MARK).write_text("scripts/soak wipes this folder at its next start\n")
        self.fleet = SoakFleet(opts.home / "fleet", opts.bake)
        if opts.regions:
            for region in (opts.home / "fleet" / "environments" / "regions").glob("*.yaml"):
                if region.stem not in opts.regions:
                    region.unlink()
        self.waves = self.fleet.spokes()
        self.spokes = sorted(self.waves)
        self.canaries = [s for s in self.spokes if self.waves[s] == "canary"]
        self.clusters_env = Clusters(opts.home / "testenv")
        self.clusters: dict[str, Cluster] = {}
        self.agents: dict[str, Agent] = {}
        self.commits: list[Commit] = []
        self.events: list[dict[str, Any]] = []
        self.reports: dict[str, Any] = {}
        self.pg: PostgresServer | None = None
        self.exporter: Exporter | None = None
        self.prom: PrometheusServer | None = None
        self.hub: Hub | None = None
        self.view: HubView | None = None
        self.admin = ""
        self.sampler = Sampler(self.pids)

    # -- processes ----------------------------------------------------------------------------------------------
    def pids(self) -> dict[str, int | None]:
        out: dict[str, int | None] = {f"agent {s}": a.pid for s, a in self.agents.items()}
        if self.hub is not None:
            out["hub"] = self.hub.pid
        return out

    def start(self) -> None:
        t = time.monotonic()
        self.say(f"{len(self.spokes)} clusters (kube-apiserver, controller-manager, scheduler, kwok each; one etcd)")
        kubeconfigs = self.clusters_env.start(self.spokes)
        # helm and kustomize of the tested versions, for the fleet's sources (agents and `razee render` expand them)
        os.environ["PATH"] = f"{self.clusters_env.tool_path()}:{os.environ.get('PATH', '')}"
        self.clusters = {s: Cluster(s, kc) for s, kc in kubeconfigs.items()}
        self.event("clusters started", time.monotonic() - t)
        self.say("PostgreSQL, Prometheus (scraping an exporter the soak sets) and the fleet repo")
        self.pg = PostgresServer()
        db = self.pg.create_database("razee")
        self.exporter = Exporter()
        self.prom = PrometheusServer([f"127.0.0.1:{self.exporter.port}"])
        for spoke in self.spokes:
            self.exporter.errors.labels(spoke).set(GOOD_ERROR_RATE)
        for spoke in self.canaries:
            self.prom.wait_for(f'max(http_error_ratio{{spoke="{spoke}"}})', GOOD_ERROR_RATE)
        first = self.fleet.commit("soak: the example fleet, 10 s bakes, a canary check, onFailure: rollback")
        self.say(f"the hub (PostgreSQL, following the repo) and {len(self.spokes)} agents")
        self.hub = Hub(db, self.fleet.root, self.opts.home, self.opts.hub_poll)
        self.hub.start()
        self.admin = self.hub.admin_token()
        self.view = HubView(self.hub.url, self.hub.token(self.admin, "reader"))
        for spoke in self.spokes:
            self.agents[spoke] = Agent(
                spoke,
                kubeconfigs[spoke],
                self.fleet.root,
                self.hub.url,
                self.hub.token(self.admin, "agent", spoke),
                self.opts.home,
                self.prom.url,
                self.opts.agent_interval,
                self.opts.agent_poll,
            )
        self.commits.append(Commit("initial", first, self.fleet.marker, "applied", time.monotonic()))
        for agent in self.agents.values():
            agent.start()
        self.event("processes started", time.monotonic() - t)

    def event(self, what: str, seconds: float | None = None) -> None:
        self.events.append({"event": what, "seconds": round(seconds, 1) if seconds is not None else None})

    def close(self) -> None:
        self.sampler.close()
        for agent in self.agents.values():
            agent.send()
        for agent in self.agents.values():
            agent.stop()
        if self.hub is not None:
            self.hub.stop()
        for cluster in self.clusters.values():
            cluster.close()
        if self.prom is not None:
            self.prom.close()
        if self.exporter is not None:
            self.exporter.close()
        if self.pg is not None:
            self.pg.close()
        self.clusters_env.stop_all()

    def set_error_rate(self, spoke: str, value: float) -> None:
        assert self.exporter is not None and self.prom is not None
        self.exporter.errors.labels(spoke).set(value)
        self.prom.wait_for(f'max(http_error_ratio{{spoke="{spoke}"}})', value)

    # -- commits and waits --------------------------------------------------------------------------------------
    def commit(self, step: str, message: str, expect: str = "applied") -> Commit:
        revision = self.fleet.commit(message)
        commit = Commit(step, revision, self.fleet.marker, expect, time.monotonic())
        self.commits.append(commit)
        self.say(f"  commit {revision[:12]} (marker {commit.marker}): {message}")
        return commit

    def hub_view(self) -> HubView:
        assert self.view is not None
        return self.view

    def until(
        self, what: str, check: Callable[[], tuple[bool, Any]], deadline: float | None = None, pause: float = 1.0
    ) -> Any:
        """Poll `check` (done?, what it saw) until done; SoakFailure naming `what` and the last thing seen past the
        deadline. Errors reading a process that is being restarted count as not yet."""
        end = time.monotonic() + (deadline or self.opts.deadline)
        seen: Any = None
        while True:
            try:
                ok, seen = check()
            except Exception as e:  # the hub or an apiserver mid-restart: not yet
                ok, seen = False, f"{type(e).__name__}: {e}"
            if ok:
                return seen
            if time.monotonic() > end:
                raise SoakFailure(f"timed out waiting for {what}; last seen: {str(seen)[:1500]}")
            time.sleep(pause)

    def until_true(self, what: str, check: Callable[[], Any], deadline: float | None = None) -> Any:
        return self.until(what, lambda: (bool(v := check()), v), deadline)

    def until_none(self, what: str, problems: Callable[[], list[str]], deadline: float | None = None) -> None:
        """Until `problems` finds none."""
        self.until(what, lambda: (not (p := problems()), p), deadline)

    def markers(self) -> dict[str, int | None]:
        return {s: c.marker() for s, c in self.clusters.items()}

    def converge(self, commit: Commit) -> float:
        """Follow `commit` to every cluster (its marker) and the hub (every spoke applied it): the seconds from the
        commit to both. Then the full checks: each cluster against the revision, the hub's picture, completion."""
        self.sampler.enter("rollout")
        clusters_at = hub_at = 0.0

        def done() -> tuple[bool, Any]:
            nonlocal clusters_at, hub_at
            markers = self.markers()
            if not clusters_at and all(m == commit.marker for m in markers.values()):
                clusters_at = time.monotonic()
            view = self.hub_view().rollout(commit.revision)
            if not hub_at and set(view["applied"]) >= set(self.spokes):
                hub_at = time.monotonic()
            seen = {
                "markers": markers,
                "applied": view["applied"],
                "halted": view["halted"],
                "waiting": {w["name"]: w["waiting"] for w in view["waves"]},
            }
            return bool(clusters_at and hub_at), seen

        self.until(f"{commit.revision[:12]} ({commit.step}) on every spoke", done)
        commit.converged_s = round(max(clusters_at, hub_at) - commit.committed_at, 1)
        commit.outcome = "applied"
        self.say(
            f"  converged on all {len(self.spokes)} spokes in {commit.converged_s:.1f}s "
            f"(clusters {clusters_at - commit.committed_at:.1f}s, hub {hub_at - commit.committed_at:.1f}s)"
        )
        self.check_truth(commit.revision)
        self.check_hub(commit.revision)
        self.until_true(
            f"the rollout of {commit.revision[:12]} to complete (every wave baked)",
            lambda: self.hub_view().rollout(commit.revision)["complete"],
        )
        self.sampler.enter("between")
        return commit.converged_s

    def check_truth(self, revision: str, spokes: list[str] | None = None) -> dict[str, Expected]:
        """Each cluster runs exactly what `revision` declares for it (waiting out pruning that is still under way)."""
        expected = self.fleet.expected(revision, {s: c.kubeconfig for s, c in self.clusters.items()})

        def problems() -> list[str]:
            return [p for s in spokes or self.spokes for p in self.clusters[s].truth(expected[s])]

        self.until_none(f"every cluster to match {revision[:12]} exactly", problems)
        return expected

    def check_hub(self, revision: str) -> None:
        """The hub shows every spoke on `revision`, in sync, healthy, without drift."""

        def wrong() -> list[str]:
            spokes = self.hub_view().spokes()
            return [
                f"{s}: {spokes.get(s, {}).get('revision', '')[:12]} {spokes.get(s, {}).get('state')}"
                for s in self.spokes
                if spokes.get(s, {}).get("revision") != revision or spokes[s]["state"] != "in-sync"
            ]

        self.until_none(f"the hub to show every spoke in sync on {revision[:12]}", wrong)

    def idle(self, seconds: float) -> None:
        """A quiet fleet: nothing committed, every agent on its interval; CPU measured as `idle`."""
        self.sampler.enter("idle")
        time.sleep(seconds)
        self.sampler.enter("between")
