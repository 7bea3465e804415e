"""Progressive rollout end to end: a real hub, three spokes (three kube-apiservers) in two waves, their agents."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import git
import httpx
from kubernetes import client, config

from razee.agent.core import Agent, AgentSettings
from razee.reconcile import PassOptions
from tests.conftest import run_razee
from tests.fleetrepo import fleet_copy, write_repo
from tests.helpers.hub import HubProcess

ACTOR = git.Actor("t", "t@example.com")
BAKE = 15.0  # long enough that a busy machine (three agent passes per step) does not finish a bake within a step


class Rollout:
    def __init__(self, tmp: Path, hub: HubProcess, cluster_factory: Callable[[str], str]) -> None:
        run = secrets.token_hex(3)
        self.spokes = {f"ro-{run}-c1": "canary", f"ro-{run}-m1": "main", f"ro-{run}-m2": "main"}
        self.root = tmp / "fleet"
        self.repo = git.Repo.init(self.root, initial_branch="main")
        self.kubeconfigs: dict[str, str] = {}
        self.agents: dict[str, Agent] = {}
        self.hub = hub
        for spoke in self.spokes:
            kc = cluster_factory(spoke)
            api = config.new_client_from_config(config_file=kc)
            client.CoreV1Api(api).create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="ro")))
            api.close()
            self.kubeconfigs[spoke] = kc
            self.agents[spoke] = self.agent(spoke, tmp)

    def agent(self, spoke: str, tmp: Path) -> Agent:
        return Agent(
            AgentSettings(
                spoke=spoke,
                repo=f"file://{self.root}",
                kubeconfig=self.kubeconfigs[spoke],
                state_dir=tmp / spoke,
                hub=self.hub.url,
                hub_token=self.hub.token("agent", spoke),
                pass_options=PassOptions(infra=False),
            )
        )

    def commit(self, value: str, broken: bool = False, message: str = "change") -> str:
        fleet = fleet_copy()
        fleet["rollout"] = {"waves": [{"name": "canary", "bakeTime": f"{int(BAKE)}s"}, {"name": "main"}]}
        region = {
            "name": "us-south",
            "zones": ["dal10"],
            "clusters": [],
            "spokes": [{"name": s, "wave": w} for s, w in self.spokes.items()],
        }
        template = f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: app, namespace: ro}}\ndata: {{v: {value}}}\n"
        if broken:  # the apiserver rejects it: every spoke that applies this revision fails
            template += (
                "---\napiVersion: v1\nkind: Service\nmetadata: {name: bad, namespace: ro}\nspec: {type: Bogus}\n"
            )
        for f in (self.root / "templates").rglob("*.j2") if (self.root / "templates").exists() else []:
            f.unlink()
        write_repo(self.root, fleet=fleet, regions=[region], templates={"spoke/app.yaml.j2": template})
        self.repo.git.add(A=True)
        self.repo.index.commit(message, author=ACTOR, committer=ACTOR)
        return self.repo.head.commit.hexsha

    def step(self) -> dict[str, Any]:
        """One pass of every agent, canary first, each reported to the hub."""
        out = {}
        for spoke, agent in self.agents.items():
            outcome = agent.run_pass(leader=True)
            agent.report(outcome)
            out[spoke] = outcome
        return out

    def live(self, spoke: str) -> str | None:
        api = config.new_client_from_config(config_file=self.kubeconfigs[spoke])
        try:
            return str(client.CoreV1Api(api).read_namespaced_config_map("app", "ro").data["v"])
        except client.ApiException:
            return None
        finally:
            api.close()

    def values(self) -> dict[str, str | None]:
        return {s: self.live(s) for s in self.spokes}


def test_waves_bake_halt_fix_forward_pause_and_restart(tmp_path: Path, cluster_factory: Callable[[str], str]) -> None:
    hub = HubProcess(f"sqlite:///{tmp_path / 'hub.sqlite'}")
    try:
        ro = Rollout(tmp_path, hub, cluster_factory)
        c1, m1, m2 = ro.spokes
        ro.commit("v1")
        first = ro.step()
        assert first[c1].result == "applied" and first[m1].result == "waiting"  # main waits for canary to bake
        assert "baking" in first[m1].rollout["reason"]
        time.sleep(BAKE + 0.5)
        ro.step()
        assert ro.values() == {c1: "v1", m1: "v1", m2: "v1"}

        ro.commit("v2")
        ro.step()
        assert ro.values() == {c1: "v2", m1: "v1", m2: "v1"}  # wave 2 waits for the bake time
        time.sleep(BAKE + 0.5)
        ro.step()
        assert ro.values() == {c1: "v2", m1: "v2", m2: "v2"}

        broken = ro.commit("v3", broken=True)
        out = ro.step()
        assert out[c1].result == "failed"
        assert out[m1].result == "waiting" and out[m1].rollout["reason"].startswith("halted: wave canary has 1 failed")
        time.sleep(BAKE + 0.5)
        ro.step()
        assert ro.values() == {c1: "v2", m1: "v2", m2: "v2"}  # wave 2 never applied the broken revision
        reader = hub.token("reader")
        state = httpx.get(
            f"{hub.url}/api/v1/rollout", params={"revision": broken}, headers={"Authorization": f"Bearer {reader}"}
        ).json()
        assert state["failed"] == [c1] and sorted(state["pending"]) == sorted([m1, m2])
        assert state["halted"].startswith("halted: wave canary has 1 failed spoke(s)")  # visible in the hub
        cli = run_razee("rollout", "status", broken, env={"RAZEE_HUB": hub.url, "RAZEE_HUB_TOKEN": reader})
        assert cli.returncode == 0 and "HALTED: halted: wave canary has 1 failed spoke(s)" in cli.stdout

        fixed = ro.commit("v4", message="fix forward")
        ro.step()
        time.sleep(BAKE + 0.5)
        ro.step()
        assert ro.values() == {c1: "v4", m1: "v4", m2: "v4"}

        refused = run_razee("rollout", "pause", env={"RAZEE_HUB": hub.url, "RAZEE_HUB_TOKEN": reader})
        assert refused.returncode == 2 and "needs an admin token" in refused.stderr
        admin_env = {"RAZEE_HUB": hub.url, "RAZEE_HUB_TOKEN": hub.token("admin")}
        assert run_razee("rollout", "pause", env=admin_env).returncode == 0
        ro.commit("v5")
        paused = ro.step()
        assert paused[c1].result == "waiting" and paused[c1].rollout["reason"] == "the rollout is paused"
        assert ro.values() == {c1: "v4", m1: "v4", m2: "v4"}
        agent_token = hub.token("agent", c1)
        denied = httpx.post(f"{hub.url}/api/v1/rollout/resume", headers={"Authorization": f"Bearer {agent_token}"})
        assert denied.status_code == 403  # only an admin may resume
        assert run_razee("rollout", "resume", env=admin_env).returncode == 0
        ro.step()
        assert ro.live(c1) == "v5"

        # an agent restarted mid-rollout resumes where it stood: it keeps v4 while wave 1 bakes v5
        ro.agents[m1] = ro.agent(m1, tmp_path)
        restarted = ro.agents[m1].run_pass(leader=True)
        assert restarted.result == "waiting" and restarted.source["revision"] == fixed
        assert ro.live(m1) == "v4"

        ro.commit("v6", message="hotfix\n\nRazee-Urgent: true")
        ro.step()  # canary takes it; urgent skips the bake, so wave 2 follows in the same round
        assert ro.values() == {c1: "v6", m1: "v6", m2: "v6"}
    finally:
        hub.close()

    # the hub is gone: agents keep enforcing what they have and do not advance
    ro.commit("v7")
    out = ro.step()
    assert all(o.result in ("applied", "waiting") for o in out.values())
    assert ro.live(m1) == "v6" and "no hub can be asked" in out[m1].rollout["reason"]
    assert json.dumps(out[m1].to_report())  # still a valid report for the outbox
