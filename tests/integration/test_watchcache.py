"""The agent's watched live state (razee/kube/watchcache.py) against a real apiserver.

An idle pass reads from watches and LISTs nothing but the inventory; razee's own writes are seen by the very next
pass; drift made by someone else (an edit, a delete, an object created with razee's label) is seen by the first
pass after its watch event arrived, and the tests wait for that arrival (not for a time) before that pass; a
restarted apiserver (410 Gone on the old resourceVersion) makes the copies LIST again.
"""

from __future__ import annotations

import dataclasses
import json
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config

import razee.kube.client as kube_client
from razee.agent.core import Agent, AgentSettings
from razee.agent.report import PassReport
from razee.kube.inventory import INVENTORY_LABEL
from razee.kube.watchcache import LiveCache
from razee.objects import ObjectKey
from razee.reconcile import PassOptions
from tests.fleetrepo import region_copy, write_repo

REPO = Path(__file__).resolve().parents[2]
DEADLINE = 120.0  # generous: the machine is shared; nothing here asserts on time


class Spoke:
    """A one-spoke fleet in a local folder: ConfigMaps in the given namespaces and one ClusterRole."""

    def __init__(self, root: Path, namespaces: list[str]) -> None:
        self.root = root
        self.name = f"w-{secrets.token_hex(4)}"
        self.namespaces = namespaces

    def write(self, values: dict[str, str] | None = None, skip: tuple[str, ...] = ()) -> None:
        values = values or {}
        docs = []
        for ns in self.namespaces:
            for name in ("app", "extra"):
                if f"{ns}/{name}" in skip:
                    continue
                value = values.get(f"{ns}/{name}", "v1")
                docs.append(
                    f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}, namespace: {ns}}}\n"
                    f"data: {{value: {json.dumps(value)}}}\n"
                )
        docs.append(
            f"apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {{name: {self.name}}}\n"
            "rules: [{apiGroups: [''], resources: [configmaps], verbs: [get]}]\n"
        )
        region = region_copy()
        region["spokes"] = [{"name": self.name, "wave": "main"}]
        region["clusters"] = []
        for old in (self.root / "templates").rglob("*.j2") if (self.root / "templates").exists() else []:
            old.unlink()
        write_repo(self.root, regions=[region], templates={"spoke/objects.yaml.j2": "---\n".join(docs)})

    def agent(self, tmp: Path, kubeconfig: str, **kw: Any) -> Agent:
        return Agent(
            AgentSettings(
                spoke=self.name,
                repo=str(self.root),
                kubeconfig=kubeconfig,
                state_dir=tmp / f"agent-{secrets.token_hex(3)}",
                interval=3600,
                poll=1,
                pass_options=PassOptions(infra=False),
                **kw,
            )
        )


@pytest.fixture
def namespaces(api_client: client.ApiClient) -> Iterator[list[str]]:
    """Four fresh namespaces: more than read_live lists one by one, so ConfigMaps are watched by label."""
    core = client.CoreV1Api(api_client)
    names = [f"rw-{secrets.token_hex(3)}-{i}" for i in range(4)]
    for name in names:
        core.create_namespace(
            client.V1Namespace(metadata=client.V1ObjectMeta(name=name, labels={"created-by": "razee-tests"}))
        )
    yield names
    for name in names:
        core.delete_namespace(name)


@pytest.fixture
def watched_agent(
    tmp_path: Path, kubeconfig: str, namespaces: list[str], api_client: client.ApiClient
) -> Iterator[tuple[Spoke, Agent]]:
    spoke = Spoke(tmp_path / "fleet", namespaces)
    spoke.write()
    agent = spoke.agent(tmp_path, kubeconfig)
    agent.watch_live()
    yield spoke, agent
    agent.close_live()
    client.RbacAuthorizationV1Api(api_client).delete_cluster_role(spoke.name)
    assert not [t for t in threading.enumerate() if t.name.startswith("razee-watch")]


@pytest.fixture
def lists(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Requests by verb, over every Kube of this process (passes and the cache's own connection)."""
    counts: dict[str, int] = {}
    original = kube_client.RequestCounter.add

    def add(self: kube_client.RequestCounter, verb: str) -> None:
        counts[verb] = counts.get(verb, 0) + 1
        original(self, verb)

    monkeypatch.setattr(kube_client.RequestCounter, "add", add)
    return counts


def cache_of(agent: Agent) -> LiveCache:
    assert agent.session.live is not None
    return agent.session.live


def wait_until(what: str, check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + DEADLINE
    while not check():
        assert time.monotonic() < deadline, f"gave up waiting: {what}"
        time.sleep(0.05)


def kubectl(kubeconfig: str, *args: str) -> str:
    cache = Path(kubeconfig).parent / "kubectl-cache"  # never the home directory
    return subprocess.run(
        ["kubectl", "--kubeconfig", kubeconfig, "--cache-dir", str(cache), *args],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout


def configmap(ns: str, name: str) -> ObjectKey:
    return ObjectKey("", "ConfigMap", ns, name)


def status_of(outcome: PassReport, ns: str, name: str) -> dict[str, Any]:
    (found,) = [o for o in outcome.objects if o["namespace"] == ns and o["name"] == name and o["kind"] == "ConfigMap"]
    return found


def test_an_idle_pass_lists_nothing_and_a_pass_right_after_an_apply_sees_it(
    watched_agent: tuple[Spoke, Agent], lists: dict[str, int], api_client: client.ApiClient
) -> None:
    spoke, agent = watched_agent
    first = agent.run_pass(leader=True)
    assert first.result == "applied", first.error
    resources = {(res.plural, ns, selector) for res, ns, selector in cache_of(agent).watched()}
    assert ("configmaps", "", f"{INVENTORY_LABEL}={spoke.name}") in resources  # by label, cluster-wide
    assert ("namespaces", "", "") in resources and ("clusterroles", "", "") in resources

    # A new revision: one value changes, one object leaves the fleet (pruned). The pass right after sees both.
    ns0, ns1 = spoke.namespaces[:2]
    spoke.write(values={f"{ns0}/app": "v2"}, skip=(f"{ns1}/extra",))
    applied = agent.run_pass(leader=True)
    assert applied.result == "applied", applied.error
    assert status_of(applied, ns1, "extra")["status"] == "pruned"
    after = agent.run_pass(leader=True)
    assert after.result == "in-sync", [o for o in after.objects if o["status"] != "synced"]
    assert not [o for o in after.objects if o["name"] == "extra" and o["namespace"] == ns1]

    lists.clear()
    idle = agent.run_pass(leader=True)
    assert idle.result == "in-sync"
    assert cache_of(agent).last.listed == 0 and cache_of(agent).last.cached == len(resources)
    assert lists.get("LIST") == 1  # the inventory, read from the server on every pass; no live object LISTed
    core = client.CoreV1Api(api_client)
    assert core.read_namespaced_config_map("app", ns0).data == {"value": "v2"}


def test_drift_by_edit_and_by_delete_is_seen_and_healed(
    watched_agent: tuple[Spoke, Agent], kubeconfig: str, api_client: client.ApiClient
) -> None:
    spoke, agent = watched_agent
    assert agent.run_pass(leader=True).result == "applied"
    assert agent.run_pass(leader=True).result == "in-sync"
    cache = cache_of(agent)
    ns0, ns3 = spoke.namespaces[0], spoke.namespaces[3]

    edited = kubectl(
        kubeconfig,
        "-n",
        ns0,
        "patch",
        "configmap",
        "app",
        "--type",
        "merge",
        "-p",
        '{"data": {"value": "by-hand"}}',
        "-o",
        "jsonpath={.metadata.resourceVersion}",
    )
    kubectl(kubeconfig, "-n", ns3, "delete", "configmap", "extra")
    wait_until(
        "the watch delivers the edit",
        lambda: (
            int(
                (cache.cached(configmap(ns0, "app")) or {"metadata": {"resourceVersion": "0"}})["metadata"][
                    "resourceVersion"
                ]
            )
            >= int(edited)
        ),
    )
    wait_until("the watch delivers the delete", lambda: cache.cached(configmap(ns3, "extra")) is None)

    drifted = agent.run_pass(leader=True)
    assert drifted.result == "drifted"
    found = status_of(drifted, ns0, "app")
    assert found["status"] == "drifted" and found["paths"] == ["/data/value"]
    assert status_of(drifted, ns3, "extra")["status"] == "missing"

    agent.s = dataclasses.replace(agent.s, self_heal=True)
    healed = agent.run_pass(leader=True)
    assert healed.result == "healed"
    assert status_of(healed, ns0, "app")["status"] == "drifted-healed"
    assert status_of(healed, ns3, "extra")["status"] == "drifted-healed"
    core = client.CoreV1Api(api_client)
    assert core.read_namespaced_config_map("app", ns0).data == {"value": "v1"}
    assert core.read_namespaced_config_map("extra", ns3).data == {"value": "v1"}
    again = agent.run_pass(leader=True)
    assert again.result == "in-sync"


def test_an_object_created_by_someone_else_with_the_label_is_seen(
    watched_agent: tuple[Spoke, Agent], api_client: client.ApiClient
) -> None:
    spoke, agent = watched_agent
    assert agent.run_pass(leader=True).result == "applied"
    cache = cache_of(agent)
    ns = spoke.namespaces[2]
    core = client.CoreV1Api(api_client)
    core.delete_namespaced_config_map("app", ns)
    wait_until("the watch delivers the delete", lambda: cache.cached(configmap(ns, "app")) is None)
    assert status_of(agent.run_pass(leader=True), ns, "app")["status"] == "missing"

    # Someone else creates it again, labelled for this spoke, with other data: seen, no longer missing (razee's
    # planner calls an object without its hash annotation "not yet managed by razee", and would update it).
    theirs = {"metadata": {"name": "app", "labels": {INVENTORY_LABEL: spoke.name}}, "data": {"value": "theirs"}}
    core.create_namespaced_config_map(ns, theirs)  # type: ignore[arg-type]
    wait_until("the watch delivers the create", lambda: cache.cached(configmap(ns, "app")) is not None)
    seen = agent.run_pass(leader=True)
    assert seen.result == "drifted"
    assert cache.last.listed == 0  # found through the labelled watch, not a LIST
    found = status_of(seen, ns, "app")
    assert found["status"] == "pending" and found["message"] == "not yet managed by razee"


def test_watches_follow_the_desired_set_and_stop_with_the_loop(
    tmp_path: Path, kubeconfig: str, namespace: str, api_client: client.ApiClient
) -> None:
    spoke = Spoke(tmp_path / "fleet", [namespace])
    spoke.write()
    agent = spoke.agent(tmp_path, kubeconfig)
    runner = threading.Thread(target=agent.run, daemon=True)
    runner.start()
    try:
        wait_until(
            "the loop starts its watches",
            lambda: (
                agent.session.live is not None
                and any(res.plural == "configmaps" and ns == namespace for res, ns, _ in agent.session.live.watched())
            ),
        )
        assert any(t.name.startswith("razee-watch") for t in threading.enumerate())
    finally:
        agent.stop.set()
        runner.join(timeout=DEADLINE)
    assert not runner.is_alive()
    assert not [t for t in threading.enumerate() if t.name.startswith("razee-watch")]
    assert agent.session.live is None

    # A pass whose desired set no longer has a scope stops watching it.
    agent.watch_live()
    try:
        assert agent.run_pass(leader=True).result in ("applied", "in-sync")
        assert any(res.plural == "clusterroles" for res, _, _ in cache_of(agent).watched())
        spoke.namespaces = []
        spoke.write()
        # the ConfigMaps left the fleet and are pruned; the next pass wants no ConfigMap and no Namespace
        assert agent.run_pass(leader=True).result == "applied"
        agent.run_pass(leader=True)
        assert {res.plural for res, _, _ in cache_of(agent).watched()} == {"clusterroles"}
    finally:
        agent.close_live()
        client.RbacAuthorizationV1Api(api_client).delete_cluster_role(spoke.name)
    assert not [t for t in threading.enumerate() if t.name.startswith("razee-watch")]


def test_a_restarted_apiserver_makes_the_copies_list_again(
    tmp_path: Path, cluster_factory: Any, kubeconfig: str
) -> None:
    restarted = cluster_factory("watch-restart")
    testenv = [sys.executable, str(REPO / "scripts" / "testenv")]
    api = config.new_client_from_config(config_file=restarted)
    core = client.CoreV1Api(api)
    namespace = f"rw-{secrets.token_hex(3)}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace)))
    spoke = Spoke(tmp_path / "fleet", [namespace])
    spoke.write()
    agent = spoke.agent(tmp_path, restarted)
    cache = agent.watch_live()
    try:
        assert agent.run_pass(leader=True).result == "applied"
        assert agent.run_pass(leader=True).result == "in-sync"
        lists_before = cache.relists
        subprocess.run([*testenv, "pause", "watch-restart"], check=True, capture_output=True, timeout=120)
        # A write to another cluster on the same etcd moves the shared revision past the copies' versions, so the
        # restarted apiserver's watch cache (which starts at the current revision) answers 410 Gone to them.
        kubectl(kubeconfig, "create", "namespace", namespace)  # the session's cluster, running meanwhile
        kubectl(kubeconfig, "delete", "namespace", namespace, "--wait=false")
        subprocess.run([*testenv, "start", "watch-restart"], check=True, capture_output=True, timeout=600)
        # The new apiserver's watch cache starts at the current revision: the old resourceVersion is 410 Gone.
        wait_until("the copies are LISTed again", lambda: cache.relists > lists_before and cache.healthy())
        edited = core.patch_namespaced_config_map("app", namespace, {"data": {"value": "after-restart"}})
        wait_until(
            "the watch delivers the edit",
            lambda: (cache.cached(configmap(namespace, "app")) or {}).get("data") == {"value": "after-restart"},
        )
        drifted = agent.run_pass(leader=True)
        assert drifted.result == "drifted", drifted.error
        assert cache.last.listed == 0
        assert status_of(drifted, namespace, "app")["paths"] == ["/data/value"]
        assert edited.metadata.resource_version
    finally:
        agent.close_live()
        api.close()
