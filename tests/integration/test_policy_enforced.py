"""A revision that breaks a policy is applied nowhere: not by `razee apply`, not through a preview."""

from __future__ import annotations

import json
from pathlib import Path

import git
from kubernetes import client

from tests.conftest import run_razee
from tests.integration.test_kube_engine import Fleet, cm

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


def test_a_violation_applies_nothing_at_all(tmp_path: Path, kubeconfig: str, namespace: str,
                                            api_client: client.ApiClient) -> None:
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
