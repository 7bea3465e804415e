"""Rollout safety end to end (issue 27): metric checks on a real Prometheus, automatic rollback, maintenance windows.

Real parts only: Debian's prometheus scraping an exporter the test sets, one kube-apiserver per spoke, a hub
process following the fleet repo, and the agents' own code stepped pass by pass (as tests/e2e/test_rollout.py).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import git
import httpx
import pytest
from kubernetes import client, config

from razee.agent.core import Agent, AgentSettings
from razee.reconcile import PassOptions
from tests.conftest import run_razee
from tests.fleetrepo import fleet_copy, write_repo
from tests.helpers.hub import HubProcess
from tests.prom import Exporter, PrometheusServer, free_port

ACTOR = git.Actor("t", "t@example.com")
BAKE = 6
QUERY = 'max(http_error_ratio{spoke="{{ spoke.name }}"})'
DEADLINE = 240.0  # generous: a busy 2-core machine


@pytest.fixture
def prometheus() -> Iterator[tuple[Exporter, PrometheusServer]]:
    exporter = Exporter()
    server = PrometheusServer([f"127.0.0.1:{exporter.port}"])
    yield exporter, server
    server.close()
    exporter.close()


class Fleet:
    def __init__(
        self,
        tmp: Path,
        waves: dict[str, str],
        cluster_factory: Callable[[str], str],
        prometheus: str,
        hub_args: tuple[str, ...] = (),
    ) -> None:
        run = secrets.token_hex(3)
        self.spokes = {f"rs-{run}-{short}": wave for short, wave in waves.items()}
        self.root = tmp / "fleet"
        self.repo = git.Repo.init(self.root, initial_branch="main")
        self.rollout: dict[str, Any] = {}
        self.region_windows: list[dict[str, str]] | None = None
        self.commit("v0", message="initial")
        self.kubeconfigs: dict[str, str] = {}
        self.agents: dict[str, Agent] = {}
        for spoke in self.spokes:  # the clusters first: the hub's (test) clock starts with the hub
            kc = cluster_factory(spoke)
            api = config.new_client_from_config(config_file=kc)
            client.CoreV1Api(api).create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="rs")))
            api.close()
            self.kubeconfigs[spoke] = kc
        self.hub = HubProcess(
            f"sqlite:///{tmp / 'hub.sqlite'}",
            "--repo",
            self.root.as_uri(),
            "--poll",
            "1s",
            "--state-dir",
            str(tmp / "hub"),
            *hub_args,
        )
        for spoke, kc in self.kubeconfigs.items():
            self.agents[spoke] = Agent(
                AgentSettings(
                    spoke=spoke,
                    repo=self.root.as_uri(),
                    kubeconfig=kc,
                    state_dir=tmp / spoke,
                    hub=self.hub.url,
                    hub_token=self.hub.token("agent", spoke),
                    pass_options=PassOptions(infra=False),
                    prometheus=prometheus,
                )
            )
        self.reader = self.hub.token("reader")

    def commit(self, value: str, extra: bool = False, message: str = "change") -> str:
        fleet = fleet_copy()
        fleet["rollout"] = self.rollout or {"waves": [{"name": "canary"}, {"name": "main"}]}
        region: dict[str, Any] = {
            "name": "us-south",
            "zones": ["dal10"],
            "clusters": [],
            "spokes": [{"name": s, "wave": w} for s, w in self.spokes.items()],
        }
        if self.region_windows is not None:
            region["windows"] = self.region_windows
        templates = {
            "spoke/app.yaml.j2": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app, namespace: rs}\n"
            f"data: {{v: {value}}}\n"
        }
        if extra:  # an object only this revision declares: a rollback prunes it
            templates["spoke/extra.yaml.j2"] = (
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: only-here, namespace: rs}\ndata: {a: b}\n"
            )
        for f in (self.root / "templates").rglob("*.j2") if (self.root / "templates").exists() else []:
            f.unlink()
        write_repo(self.root, fleet=fleet, regions=[region], templates=templates)
        self.repo.git.add(A=True)
        self.repo.index.commit(message, author=ACTOR, committer=ACTOR)
        return self.repo.head.commit.hexsha

    def step(self) -> dict[str, Any]:
        out = {}
        for spoke, agent in self.agents.items():
            outcome = agent.run_pass(leader=True)
            agent.report(outcome)
            out[spoke] = outcome
        return out

    def live(self, spoke: str, name: str = "app") -> str | None:
        api = config.new_client_from_config(config_file=self.kubeconfigs[spoke])
        try:
            data = client.CoreV1Api(api).read_namespaced_config_map(name, "rs").data
            return str(data.get("v", "present"))
        except client.ApiException as e:
            assert e.status == 404
            return None
        finally:
            api.close()

    def values(self) -> dict[str, str | None]:
        return {s: self.live(s) for s in self.spokes}

    def view(self, revision: str) -> dict[str, Any]:
        r = httpx.get(
            f"{self.hub.url}/api/v1/rollout",
            params={"revision": revision},
            headers={"Authorization": f"Bearer {self.reader}"},
            timeout=30,
        )
        r.raise_for_status()
        return dict(r.json())

    def until(self, done: Callable[[], bool], what: str, pause: float = 1.0) -> None:
        """Step the agents until `done` holds (the hub follows the repo on its own poll)."""
        deadline = time.monotonic() + DEADLINE
        while not done():
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            self.step()
            time.sleep(pause)

    def close(self) -> None:
        self.hub.close()


def _checked_waves(deadline: str | None = None) -> list[dict[str, Any]]:
    canary: dict[str, Any] = {
        "name": "canary",
        "bakeTime": f"{BAKE}s",
        "maxFailures": 0,
        "checks": [{"name": "error-rate", "query": QUERY, "max": 0.5, "interval": "1s"}],
    }
    if deadline:
        canary["progressDeadline"] = deadline
    return [canary, {"name": "main"}]


def test_failed_check_rolls_the_canary_back_and_a_fix_rolls_through(
    tmp_path: Path, cluster_factory: Callable[[str], str], prometheus: tuple[Exporter, PrometheusServer]
) -> None:
    exporter, prom = prometheus
    fleet = Fleet(tmp_path, {"c1": "canary", "m1": "main", "m2": "main"}, cluster_factory, prom.url)
    try:
        c1, m1, m2 = fleet.spokes
        series = f'max(http_error_ratio{{spoke="{c1}"}})'
        exporter.errors.labels(c1).set(0.1)
        prom.wait_for(series, 0.1)
        fleet.rollout = {"onFailure": "rollback", "waves": _checked_waves()}
        good = fleet.commit("v1", message="good")
        # the check passes while the canary bakes; the rollout completes (and the hub records that)
        fleet.until(lambda: all(good in a.state.completed for a in fleet.agents.values()), "v1 to complete")
        assert fleet.values() == {c1: "v1", m1: "v1", m2: "v1"}
        passed = [c for c in fleet.view(good)["checks"] if c["spoke"] == c1]
        assert [(c["check"], c["result"], c["value"]) for c in passed] == [("error-rate", "pass", 0.1)]

        exporter.errors.labels(c1).set(0.9)  # the canary goes bad with the next revision
        prom.wait_for(series, 0.9)
        bad = fleet.commit("v2", extra=True, message="bad")
        failed_at = rolled_back_at = 0.0
        deadline = time.monotonic() + DEADLINE
        while fleet.live(c1) != "v1" or not failed_at:
            assert time.monotonic() < deadline, "the canary was not rolled back"
            out = fleet.step()
            if not failed_at and any(c["result"] == "fail" for c in out[c1].checks):
                failed_at = time.monotonic()  # the pass that saw the check fail (and reported it)
            assert fleet.live(m1) == "v1" and fleet.live(m2) == "v1"  # main never applies the bad revision
            if fleet.live(c1) != "v1" or not failed_at:
                time.sleep(0.2)
        rolled_back_at = time.monotonic()
        print(f"\ncheck failed -> canary back on the good revision: {rolled_back_at - failed_at:.2f}s")
        assert fleet.live(c1, "only-here") is None  # what only the bad revision declared is pruned

        view = fleet.view(bad)
        assert f"{c1}: check error-rate = 0.9 (max 0.5)" in view["halted"], view["halted"]
        assert [(r["spoke"], r["from"], r["to"], r["by"]) for r in view["rollbacks"]] == [
            (c1, bad, good, "razee hub (onFailure: rollback)")
        ]
        assert "check error-rate = 0.9 (max 0.5)" in view["rollbacks"][0]["reason"]
        env = {"RAZEE_HUB": fleet.hub.url, "RAZEE_HUB_TOKEN": fleet.reader}
        cli = run_razee("rollout", "status", bad, env=env)
        assert cli.returncode == 0, cli.stderr
        assert f"ROLLED BACK {c1} from {bad[:12]} to {good[:12]}" in cli.stdout
        assert f"check error-rate on {c1}: fail = 0.9 (max 0.5)" in cli.stdout

        # a resume after the halt does not undo the rollback; the spoke stays until a newer commit
        admin = {"RAZEE_HUB": fleet.hub.url, "RAZEE_HUB_TOKEN": fleet.hub.token("admin")}
        assert run_razee("rollout", "resume", env=admin).returncode == 0
        for _ in range(3):
            out = fleet.step()
            assert out[c1].rollout["reason"].startswith(f"rolled back from {bad[:12]} to {good[:12]}")
        assert fleet.values() == {c1: "v1", m1: "v1", m2: "v1"}

        exporter.errors.labels(c1).set(0.05)  # fixed
        prom.wait_for(series, 0.05)
        fixed = fleet.commit("v3", message="fix")
        fleet.until(lambda: fleet.values() == {c1: "v3", m1: "v3", m2: "v3"}, "the fix to roll through")
        fleet.until(lambda: bool(fleet.view(fixed)["complete"]), "the fix's rollout to complete")
    finally:
        fleet.close()


def test_unreachable_prometheus_holds_the_wave_then_fails_at_the_deadline(
    tmp_path: Path, cluster_factory: Callable[[str], str]
) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    fleet = Fleet(tmp_path, {"c1": "canary", "m1": "main"}, cluster_factory, nowhere)
    try:
        c1, m1 = fleet.spokes
        fleet.rollout = {"waves": _checked_waves(deadline="40s")}
        revision = fleet.commit("v1")
        started = time.monotonic()
        out = fleet.step()
        assert out[c1].checks[0]["result"] == "unknown"
        assert "Prometheus cannot be asked (ConnectError)" in out[c1].checks[0]["error"]
        out = fleet.step()
        reason = out[m1].rollout["reason"]
        assert "check error-rate has no passing result yet (Prometheus cannot be asked (ConnectError))" in reason
        assert fleet.live(m1) is None  # held: an unreachable Prometheus is not a pass
        fleet.until(lambda: fleet.view(revision)["halted"] != "", "the deadline to fail the canary")
        assert time.monotonic() - started >= 30  # not before the deadline (40s from the hub's first sight)
        halted = fleet.view(revision)["halted"]
        assert halted.startswith("halted: wave canary has 1 failed spoke(s)") and "no progress within 40s" in halted
        assert fleet.live(m1) is None
    finally:
        fleet.close()


def test_window_holds_a_wave_until_it_opens_across_a_dst_change(
    tmp_path: Path, cluster_factory: Callable[[str], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    chicago = ZoneInfo("America/Chicago")
    # 2026-03-08: clocks in Chicago jump from 02:00 CST to 03:00 CDT: at 01:59 CST, 03:00 is one minute away
    start = datetime(2026, 3, 8, 1, 59, 0, tzinfo=chicago).timestamp()
    monkeypatch.setenv("RAZEE_HUB_TEST_CLOCK", str(start))
    fleet = Fleet(tmp_path, {"c1": "canary", "m1": "main"}, cluster_factory, "http://127.0.0.1:9")
    try:
        c1, m1 = fleet.spokes
        fleet.rollout = {
            "waves": [{"name": "canary"}, {"name": "main"}],
            "windows": [{"cron": "0 12 1 1 *", "duration": "1h", "timezone": "UTC"}],
        }
        fleet.region_windows = [{"cron": "0 3 * * *", "duration": "1h", "timezone": "America/Chicago"}]
        revision = fleet.commit("v1")
        opened = time.monotonic()
        out = fleet.step()
        assert out[c1].result == "waiting" and fleet.live(c1) is None
        assert out[c1].rollout["reason"] == (
            "wave canary in region us-south waits for a maintenance window: "
            "next window opens at 2026-03-08 03:00 CDT (America/Chicago)"
        )
        deadline = time.monotonic() + 30
        while not fleet.view(revision)["waves"]:  # the hub reads the revision from the repo on its own poll
            assert time.monotonic() < deadline, "the hub did not read the revision"
            time.sleep(0.5)
        held = fleet.view(revision)["waves"][0]["waiting"][c1]
        assert held.endswith("next window opens at 2026-03-08 03:00 CDT (America/Chicago)")  # the hub shows it
        fleet.until(lambda: fleet.values() == {c1: "v1", m1: "v1"}, "the window to open", pause=2.0)
        assert time.monotonic() - opened >= 20  # not before the window (a minute after the hub started)
        fleet.commit("v2", message="hotfix\n\nRazee-Urgent: true")  # urgent revisions are not held (open anyway)
        fleet.until(lambda: fleet.values() == {c1: "v2", m1: "v2"}, "the urgent revision")
    finally:
        fleet.close()
