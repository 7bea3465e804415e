"""What a report says of each customer cluster (razee/agent/clusters.py): master objects counted by the cluster
their manifest was rendered for, pools from the infrastructure plan's desired and observed clusters, sources once
per cluster, everything within the wire's limits."""

from __future__ import annotations

from razee.agent.clusters import describe_sources, masters, pools
from razee.infra.changes import InfraAction, InfraChange
from razee.infra.executor import InfraResult
from razee.infra.model import ActualCluster, DesiredCluster, DesiredPool, Worker, WorkerState
from razee.infra.planner import plan_infra
from razee.objects import SourceInfo
from razee.wire import MAX_CLUSTER_KEYS


def entry(name: str, status: str) -> dict[str, str]:
    return {"group": "", "kind": "ConfigMap", "namespace": "ns", "name": name, "status": status, "paths": "x"}


def test_master_objects_are_counted_per_cluster_and_bounded() -> None:
    pairs = [
        ("c1", entry("a", "synced")),
        ("c1", entry("b", "updated")),
        ("c1", entry("c", "drifted")),
        ("c1", entry("d", "missing")),
        ("c1", entry("e", "failed")),
        ("c1", entry("f", "pending")),
        (None, entry("spoke-own", "failed")),
        ("c2", entry("g", "created")),
    ]
    pairs += [("c3", entry(f"x{i}", "drifted")) for i in range(MAX_CLUSTER_KEYS + 5)]
    out = masters(pairs)
    assert set(out) == {"c1", "c2", "c3"}  # the spoke's own objects are no cluster's
    c1 = out["c1"]
    assert (c1["synced"], c1["drifted"], c1["failed"], c1["pending"]) == (2, 2, 1, 1)
    assert [o["name"] for o in c1["outOfSync"]] == ["c", "d", "e", "f"]
    assert "paths" not in c1["outOfSync"][0]  # identities and statuses only
    assert out["c2"]["outOfSync"] == [] and out["c2"]["synced"] == 1
    assert out["c3"]["drifted"] == MAX_CLUSTER_KEYS + 5 and len(out["c3"]["outOfSync"]) == MAX_CLUSTER_KEYS


def worker(i: int, pool: str, zone: str, state: WorkerState = WorkerState.NORMAL) -> Worker:
    return Worker(f"w{i}", pool, zone, "b3c.4x16", False, "1.31.4", state)


def test_pools_compare_desired_and_observed_workers() -> None:
    desired = [
        DesiredCluster("c1", "1.31.4", False, (DesiredPool("default", "b3c.4x16", 2, ("dal10", "dal12")),)),
        DesiredCluster("c2", "1.31.4", False, (DesiredPool("gpu", "g2.8x64", 1, ("dal10",)),)),
    ]
    actual = [
        ActualCluster(
            "c1",
            "spoke-a",
            "1.30.9",
            "normal",
            (
                worker(1, "default", "dal10"),
                worker(2, "default", "dal10", WorkerState.PROVISIONING),
                worker(3, "default", "dal12"),
                worker(4, "old", "dal12"),
                worker(5, "default", "dal12", WorkerState.DELETING),
            ),
        )
    ]
    plan = plan_infra("spoke-a", "local", desired, actual)
    result = InfraResult(done=[(InfraChange(InfraAction.CREATE_CLUSTER, "c2", "new"), "ok")])
    out = pools(plan, result)
    c1, c2 = out["c1"], out["c2"]
    assert (c1["version"], c1["observedVersion"]) == ("1.31.4", "1.30.9")
    assert c1["pools"][0] == {
        "name": "default",
        "flavor": "b3c.4x16",
        "zones": ["dal10", "dal12"],
        "desired": 4,
        "observed": 3,
        "ready": 2,
    }
    assert c1["pools"][1] == {
        "name": "old",
        "flavor": "b3c.4x16",
        "zones": ["dal12"],
        "desired": 0,
        "observed": 1,
        "ready": 1,
    }  # a pool the repo dropped, its worker not gone yet
    assert c1["pending"] == sum(1 for c in plan.changes if c.cluster == "c1") > 0
    assert c2["observedVersion"] == "" and c2["pools"][0]["observed"] == 0
    assert c2["pending"] == sum(1 for c in plan.changes if c.cluster == "c2") - 1  # one was done this pass


def test_sources_once_per_cluster_and_kind() -> None:
    chart = SourceInfo("ingress", "HelmChart", "nginx", "4.1.0", "sha256:" + "a" * 64, "c1")
    out = describe_sources(
        [
            chart,
            chart,
            SourceInfo("ingress", "HelmChart", "nginx", "4.1.0", None, "c2"),
            SourceInfo("base", "Kustomization", None, None, None, None),
            SourceInfo("x" * 300, "HelmChart", "y" * 300, None, None, None),
        ]
    )
    assert [(s["cluster"], s["kind"], s["name"][:7]) for s in out] == [
        ("c1", "HelmChart", "ingress"),
        ("c2", "HelmChart", "ingress"),
        (None, "Kustomization", "base"),
        (None, "HelmChart", "xxxxxxx"),
    ]
    assert out[0] == chart.to_json()
    assert len(out[-1]["name"]) == 253 and len(out[-1]["chart"]) == 253
