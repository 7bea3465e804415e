"""Fleet truth through real processes: `razee hub serve --repo` following a real git repo, `razee agent` processes
against real kube-apiservers, `kubectl` and the razee CLI.

A canary whose agent never starts holds the main wave and is named; a main-wave agent that starts first still
waits for the canary; a spoke removed from the repo stops holding; a progress deadline halts with the spoke named;
`requireApproval` waits for `razee rollout approve`; a kubectl-deleted object is drift ("missing") in the hub
within one interval, and an agent with --self-heal brings it back.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import git
import httpx
import pytest
from kubernetes import client, config

from tests.conftest import run_razee
from tests.fleetrepo import fleet_copy, write_repo
from tests.helpers.hub import HubProcess

ACTOR = git.Actor("Grace Hopper", "grace@example.com")
INTERVAL = 4
DEADLINE = 180.0  # generous: a busy 2-core machine runs several apiservers and agents here


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Fleet:
    """A fleet repo, a hub following it, spokes with their own kube-apiservers, and razee agent processes."""

    def __init__(self, tmp: Path, cluster_factory: Callable[[str], str], spokes: dict[str, str]) -> None:
        run = secrets.token_hex(3)
        self.tmp = tmp
        self.names = {role: f"ft-{run}-{role}" for role in spokes}
        self.waves = {self.names[role]: wave for role, wave in spokes.items()}
        self.root = tmp / "fleet"
        self.repo = git.Repo.init(self.root, initial_branch="main")
        self.kubeconfigs: dict[str, str] = {}
        self.agents: dict[str, subprocess.Popen[bytes]] = {}
        self.hub: HubProcess | None = None
        self.reader = self.admin = ""

    def cluster(self, role: str, cluster_factory: Callable[[str], str]) -> None:
        kc = cluster_factory(self.names[role])
        api = config.new_client_from_config(config_file=kc)
        client.CoreV1Api(api).create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="ft")))
        api.close()
        self.kubeconfigs[role] = kc

    def commit(self, value: str, roles: list[str], message: str, **wave_options: dict[str, Any]) -> str:
        fleet = fleet_copy()
        fleet["rollout"] = {
            "waves": [
                {"name": "canary", "bakeTime": "0s", **wave_options.get("canary", {})},
                {"name": "main", **wave_options.get("main", {})},
            ]
        }
        region = {
            "name": "us-south",
            "zones": ["dal10"],
            "clusters": [],
            "spokes": [{"name": self.names[r], "wave": self.waves[self.names[r]]} for r in roles],
        }
        template = f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: app, namespace: ft}}\ndata: {{v: {value}}}\n"
        write_repo(self.root, fleet=fleet, regions=[region], templates={"spoke/app.yaml.j2": template})
        self.repo.git.add(A=True)
        self.repo.index.commit(message, author=ACTOR, committer=ACTOR)
        return self.repo.head.commit.hexsha

    def start_hub(self) -> None:
        self.hub = HubProcess(
            f"sqlite:///{self.tmp / 'hub.sqlite'}",
            "--repo",
            self.root.as_uri(),
            "--poll",
            "1s",
            "--state-dir",
            str(self.tmp / "hub-cache"),
            log=self.tmp / "hub.log",
        )
        self.reader, self.admin = self.hub.token("reader"), self.hub.token("admin")

    def start_agent(self, role: str, *extra: str) -> None:
        assert self.hub is not None
        name = self.names[role]
        token = self.tmp / f"{role}.token"
        token.write_text(self.hub.token("agent", name))
        log = open(self.tmp / f"agent-{role}.log", "ab")  # noqa: SIM115 - the child keeps it open
        self.agents[role] = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "razee",
                "agent",
                "--spoke",
                name,
                "--repo",
                self.root.as_uri(),
                "--kubeconfig",
                self.kubeconfigs[role],
                "--hub",
                self.hub.url,
                "--hub-token-file",
                str(token),
                "--state-dir",
                str(self.tmp / f"state-{role}"),
                "--interval",
                f"{INTERVAL}s",
                "--poll",
                "1s",
                "--listen",
                f"127.0.0.1:{free_port()}",
                "--identity",
                f"{role}-0",
                "--no-infra",
                *extra,
            ],
            stdout=log,
            stderr=log,
            start_new_session=True,
        )

    def get(self, path: str, **params: Any) -> Any:
        assert self.hub is not None
        r = httpx.get(
            self.hub.url + path, params=params, headers={"Authorization": f"Bearer {self.reader}"}, timeout=15
        )
        r.raise_for_status()
        return r.json()

    def spoke(self, role: str) -> dict[str, Any]:
        items = self.get("/api/v1/spokes", limit=1000)["items"]
        return next(s for s in items if s["spoke"] == self.names[role])

    def live(self, role: str) -> str | None:
        api = config.new_client_from_config(config_file=self.kubeconfigs[role])
        try:
            return str(client.CoreV1Api(api).read_namespaced_config_map("app", "ft").data["v"])
        except client.ApiException:
            return None
        finally:
            api.close()

    def wait(self, what: str, check: Callable[[], Any], timeout: float = DEADLINE) -> Any:
        start = time.monotonic()
        last: Any = None
        while time.monotonic() - start < timeout:
            for role, proc in self.agents.items():
                assert proc.poll() is None, f"agent {role} exited: {self.logs(role)}"
            try:
                last = check()
            except (httpx.HTTPError, StopIteration, KeyError) as e:
                last = repr(e)
            else:
                if last:
                    return last
            time.sleep(0.5)
        pytest.fail(f"timed out waiting for {what}; last: {last!r}\n{self.logs()}")

    def logs(self, role: str | None = None) -> str:
        files = [self.tmp / f"agent-{role}.log"] if role else sorted(self.tmp.glob("*.log"))
        return "\n".join(f"--- {f.name}\n{f.read_text(errors='replace')[-3000:]}" for f in files if f.exists())

    def close(self) -> None:
        for proc in self.agents.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.agents.values():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        if self.hub is not None:
            self.hub.close()


@pytest.fixture
def fleet(tmp_path: Path, cluster_factory: Callable[[str], str]) -> Iterator[Fleet]:
    f = Fleet(tmp_path, cluster_factory, {"c1": "canary", "c2": "canary", "m1": "main"})
    for role in ("c1", "m1"):  # c2 is declared, and its agent never starts
        f.cluster(role, cluster_factory)
    yield f
    f.close()


def test_the_gate_counts_declared_spokes_deadlines_approval_and_missing_objects(fleet: Fleet) -> None:
    c1, c2, m1 = fleet.names["c1"], fleet.names["c2"], fleet.names["m1"]
    first = fleet.commit("v1", ["c1", "c2", "m1"], "two canaries and a main spoke")
    fleet.start_hub()
    assert fleet.get("/api/v1/summary")["neverReported"] == 3  # known from the repo before any agent speaks

    # a main-wave agent that starts before any canary waits, naming both canaries
    fleet.start_agent("m1", "--self-heal")
    held = fleet.wait(
        "m1 held by the canaries",
        lambda: (s := fleet.spoke("m1"))["result"] == "waiting" and f"{c2}: never reported" in (s["error"] or "") and s,
    )
    assert f"{c1}: never reported" in held["error"] and fleet.live("m1") is None

    # the canary starts late and still goes first; the silent canary c2 keeps holding the main wave, by name
    fleet.start_agent("c1")
    fleet.wait("c1 applied v1", lambda: fleet.live("c1") == "v1")
    fleet.wait(
        "m1 held by c2 alone",
        lambda: (
            (e := fleet.spoke("m1")["error"] or "") and f"{c2}: never reported" in e and c1 not in e.split("(", 1)[1]
        ),
    )
    rollout = fleet.get("/api/v1/rollout", revision=first)
    assert rollout["waves"][0]["waiting"] == {c2: "never reported"} and rollout["neverReported"] == [c2]
    assert not rollout["waves"][1]["gate"]["allowed"] and c2 in rollout["waves"][1]["gate"]["reason"]
    status = run_razee(
        "rollout",
        "status",
        first[:12],
        env={"RAZEE_HUB": fleet.hub.url if fleet.hub else "", "RAZEE_HUB_TOKEN": fleet.reader},
    )
    assert status.returncode == 0 and f"waiting  {c2}: never reported" in status.stdout
    hub_status = run_razee(
        "hub",
        "status",
        "-o",
        "json",
        env={"RAZEE_HUB": fleet.hub.url if fleet.hub else "", "RAZEE_HUB_TOKEN": fleet.reader},
    )
    states = {s["spoke"]: s["state"] for s in json.loads(hub_status.stdout)["spokes"]}
    assert states == {c1: "in-sync", c2: "never-reported", m1: "held"}
    assert fleet.live("m1") is None

    # c2 leaves the repo: it stops holding
    fleet.commit("v2", ["c1", "m1"], "retire the second canary")
    fleet.wait("m1 applied v2", lambda: fleet.live("m1") == "v2")
    assert fleet.live("c1") == "v2"

    # a progress deadline turns c2's silence into a failure: the rollout halts and names it
    third = fleet.commit(
        "v3",
        ["c1", "c2", "m1"],
        "bring the canary back, with a deadline",
        canary={"progressDeadline": "10s", "maxFailures": 0},
    )
    halted = fleet.wait("the deadline to halt v3", lambda: fleet.get("/api/v1/rollout", revision=third)["halted"])
    assert f"no progress within 10s: {c2}" in halted and "wave canary has 1 failed spoke(s)" in halted
    fleet.wait("m1 to report the halt", lambda: "halted" in (fleet.spoke("m1")["error"] or ""))
    assert fleet.live("m1") == "v2" and fleet.live("c1") == "v3"

    # requireApproval: the main wave waits until an admin approves it
    fourth = fleet.commit("v4", ["c1", "m1"], "needs a person", main={"requireApproval": True})
    fleet.wait("m1 waiting for approval", lambda: "needs approval" in (fleet.spoke("m1")["error"] or ""))
    time.sleep(INTERVAL + 1)
    assert fleet.live("m1") == "v2"
    env = {"RAZEE_HUB": fleet.hub.url if fleet.hub else "", "RAZEE_HUB_TOKEN": fleet.admin}
    approved = run_razee("rollout", "approve", "--revision", fourth[:12], "main", env=env)
    assert approved.returncode == 0, approved.stderr
    fleet.wait("m1 applied v4", lambda: fleet.live("m1") == "v4")
    main = fleet.get("/api/v1/rollout", revision=fourth)["waves"][1]
    assert main["approvedBy"].startswith("token ") and main["applied"] == [m1]

    # kubectl delete of a managed object: drift ("missing") in the hub within one interval; --self-heal restores
    for role in ("c1", "m1"):
        subprocess.run(
            [
                "kubectl",
                "--kubeconfig",
                fleet.kubeconfigs[role],
                "--cache-dir",
                str(fleet.tmp / "kc"),
                "-n",
                "ft",
                "delete",
                "configmap",
                "app",
            ],
            check=True,
            capture_output=True,
        )
    deleted = time.monotonic()
    missing = fleet.wait(
        "c1's ConfigMap missing in the hub",
        lambda: fleet.get("/api/v1/drift", spoke=c1)["items"],
        timeout=INTERVAL * 1.1 + 60,
    )
    assert time.monotonic() - deleted < INTERVAL * 1.1 + 60
    assert [(d["kind"], d["name"], d["status"]) for d in missing] == [("ConfigMap", "app", "missing")]
    assert fleet.spoke("c1")["state"] == "missing" and fleet.get("/api/v1/summary")["missingObjects"] >= 1
    cli = run_razee("hub", "drift", "--spoke", c1, env={**env, "RAZEE_HUB_TOKEN": fleet.reader})
    assert cli.returncode == 0 and "missing" in cli.stdout and "app" in cli.stdout
    fleet.wait("m1 healed its ConfigMap", lambda: fleet.live("m1") == "v4")
    history = fleet.get(f"/api/v1/spokes/{m1}/history", limit=20)["items"]
    assert "healed" in [h["result"] for h in history]
    assert fleet.live("c1") is None  # without --self-heal, drift is reported, not corrected
