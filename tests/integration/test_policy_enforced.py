"""A revision that breaks a policy is applied nowhere: not by `razee apply`, the agent, or through a preview.

Shipped rules and the fleet's own CEL rules alike."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import git
from kubernetes import client

from razee.agent.core import Agent, AgentSettings
from razee.reconcile import PassOptions
from tests.conftest import run_razee
from tests.fleetrepo import fleet_copy, region_copy, write_repo
from tests.helpers.engine import Fleet, cm

BAD_POD = """---
apiVersion: v1
kind: Pod
metadata: {{name: miner, namespace: {ns}}}
spec:
  containers:
  - name: m
    image: docker.io/evil/miner:1
    resources: {{requests: {{cpu: 1m, memory: 1Mi}}, limits: {{cpu: 1m, memory: 1Mi}}}}
"""


def test_a_violation_applies_nothing_at_all(
    tmp_path: Path, kubeconfig: str, namespace: str, api_client: client.ApiClient
) -> None:
    fleet = Fleet(tmp_path, kubeconfig)
    fleet.write(cm(namespace, "good", {"a": "1"}) + BAD_POD.format(ns=namespace))
    for command in ("diff", "apply"):
        r = fleet.cli(command)
        assert r.returncode == 2, r.stderr
        assert "policy gate: 1 violation(s); nothing is applied" in r.stderr
        assert "[allowed-registries] Pod " + namespace + "/miner" in r.stderr
        assert "templates/spoke/objects.yaml.j2:" in r.stderr
    core = client.CoreV1Api(api_client)
    names = {c.metadata.name for c in core.list_namespaced_config_map(namespace).items}
    assert "good" not in names  # all or nothing: the valid ConfigMap beside the bad Pod was not applied either
    assert core.list_namespaced_pod(namespace).items == []


def test_the_preview_refuses_a_violating_revision(tmp_path: Path, kubeconfig: str) -> None:
    fleet = Fleet(tmp_path, kubeconfig)
    fleet.write(cm("armada", "good", {"a": "1"}))
    repo = git.Repo.init(fleet.root)
    actor = git.Actor("t", "t@example.com")
    repo.git.add(A=True)
    repo.index.commit("good", author=actor, committer=actor)
    fleet.write(cm("armada", "good", {"a": "1"}) + BAD_POD.format(ns="armada"))
    repo.git.add(A=True)
    repo.index.commit("bad", author=actor, committer=actor)
    r = run_razee("diff", "--repo", str(fleet.root), "--from", "HEAD~1", "--to", "HEAD", "-o", "json")
    assert r.returncode == 2
    assert "revision HEAD violates 1 policy rule(s); every agent would refuse it" in r.stderr
    assert "[allowed-registries] Pod armada/miner" in r.stderr
    assert r.stdout == ""
    ok = run_razee("diff", "--repo", str(fleet.root), "--from", "HEAD~1", "--to", "HEAD~1", "-o", "json")
    assert ok.returncode == 0 and json.loads(ok.stdout)["summary"]["objects"] == 0


TEAM_RULE = {
    "name": "require-team-label",
    "match": {"kinds": ["ConfigMap"]},
    "expression": "has(object.metadata.labels) && 'team' in object.metadata.labels",
    "message": "every object needs a team label",
}


def _fleet_with_rule(root: Path, spoke: str, docs: str) -> None:
    f = fleet_copy()
    f["policies"]["custom"] = [TEAM_RULE]
    region = region_copy()
    region["spokes"] = [{"name": spoke, "wave": "main"}]
    region["clusters"] = []
    write_repo(root, fleet=f, regions=[region], templates={"spoke/objects.yaml.j2": docs})


def test_a_custom_rule_is_enforced_by_diff_apply_and_the_preview(
    tmp_path: Path, kubeconfig: str, namespace: str, api_client: client.ApiClient
) -> None:
    fleet = Fleet(tmp_path, kubeconfig)
    labelled = cm(namespace, "good", {"a": "1"}, meta="  labels: {team: core}\n")
    _fleet_with_rule(fleet.root, fleet.spoke, labelled + cm(namespace, "orphan", {"a": "1"}))
    for command in ("diff", "apply"):
        r = fleet.cli(command)
        assert r.returncode == 2, r.stderr
        assert "policy gate: 1 violation(s); nothing is applied" in r.stderr
        assert (
            f"templates/spoke/objects.yaml.j2:11: [require-team-label] ConfigMap {namespace}/orphan: "
            "every object needs a team label"
        ) in r.stderr
    core = client.CoreV1Api(api_client)
    assert {c.metadata.name for c in core.list_namespaced_config_map(namespace).items} & {"good", "orphan"} == set()

    repo = git.Repo.init(fleet.root)
    actor = git.Actor("t", "t@example.com")
    _fleet_with_rule(fleet.root, fleet.spoke, labelled)
    repo.git.add(A=True)
    repo.index.commit("good", author=actor, committer=actor)
    assert fleet.cli("apply").returncode == 0
    assert "good" in {c.metadata.name for c in core.list_namespaced_config_map(namespace).items}
    _fleet_with_rule(fleet.root, fleet.spoke, labelled + cm(namespace, "orphan", {"a": "1"}))
    repo.git.add(A=True)
    repo.index.commit("bad", author=actor, committer=actor)
    r = run_razee("diff", "--repo", str(fleet.root), "--from", "HEAD~1", "--to", "HEAD", "-o", "json")
    assert r.returncode == 2 and r.stdout == ""
    assert "revision HEAD violates 1 policy rule(s); every agent would refuse it" in r.stderr
    assert f"[require-team-label] ConfigMap {namespace}/orphan" in r.stderr


def test_the_agent_refuses_a_revision_that_breaks_a_custom_rule(
    tmp_path: Path, kubeconfig: str, namespace: str, api_client: client.ApiClient
) -> None:
    origin = tmp_path / "origin"
    spoke = f"p-{secrets.token_hex(4)}"
    repo = git.Repo.init(origin, initial_branch="main")
    actor = git.Actor("t", "t@example.com")
    labelled = cm(namespace, "good", {"a": "1"}, meta="  labels: {team: core}\n")

    def commit(docs: str) -> str:
        _fleet_with_rule(origin, spoke, docs)
        repo.git.add(A=True)
        repo.index.commit("change", author=actor, committer=actor)
        return repo.head.commit.hexsha

    good = commit(labelled)
    agent = Agent(
        AgentSettings(
            spoke=spoke,
            repo=f"file://{origin}",
            kubeconfig=kubeconfig,
            state_dir=tmp_path / "state",
            identity="agent",
            interval=1,
            poll=0.2,
            pass_options=PassOptions(infra=False),
        )
    )
    first = agent.run_pass(leader=True)
    assert first.result == "applied" and first.source["revision"] == good
    commit(labelled + cm(namespace, "orphan", {"a": "1"}))
    refused = agent.run_pass(leader=True)
    assert refused.result == "rejected" and refused.source["revision"] == good
    assert any(
        f"[require-team-label] ConfigMap {namespace}/orphan: every object needs a team label" in f
        for f in refused.findings
    ), refused.findings
    core = client.CoreV1Api(api_client)
    assert "orphan" not in {c.metadata.name for c in core.list_namespaced_config_map(namespace).items}
