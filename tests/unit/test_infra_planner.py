"""Infrastructure planning: a pure function, tested on hand-made actual states."""

from __future__ import annotations

from collections import Counter

from razee.infra.changes import InfraAction, InfraPlan
from razee.infra.model import ActualCluster, DesiredCluster, DesiredPool, Worker, WorkerState
from razee.infra.planner import InfraOptions, plan_infra

OWNER = "spoke-a"


def desired(
    name: str = "c1",
    size: int = 2,
    zones: tuple[str, ...] = ("z1", "z2"),
    flavor: str = "b3c.4x16",
    version: str = "1.20.2",
    encrypted: bool = True,
) -> DesiredCluster:
    return DesiredCluster(name, version, encrypted, (DesiredPool("default", flavor, size, zones),))


def workers(
    n: int,
    zone: str,
    flavor: str = "b3c.4x16",
    version: str = "1.20.2",
    encrypted: bool = True,
    state: WorkerState = WorkerState.NORMAL,
    start: int = 0,
) -> list[Worker]:
    return [Worker(f"w-{zone}-{start + i}", "default", zone, flavor, encrypted, version, state) for i in range(n)]


def actual(ws: list[Worker], name: str = "c1", version: str = "1.20.2", owner: str = OWNER) -> ActualCluster:
    return ActualCluster(name, owner, version, "normal", tuple(ws))


def actions(plan: InfraPlan) -> Counter[str]:
    return Counter(c.action.value for c in plan.changes)


def test_new_cluster_gets_workers_spread_over_its_zones() -> None:
    plan = plan_infra(OWNER, "local", [desired(size=3, zones=("z1", "z2", "z3"))], [])
    assert actions(plan) == {"create-cluster": 1, "create-worker": 9}
    assert Counter(c.zone for c in plan.changes if c.action == InfraAction.CREATE_WORKER) == {"z1": 3, "z2": 3, "z3": 3}


def test_in_sync_cluster_has_no_changes() -> None:
    plan = plan_infra(OWNER, "local", [desired()], [actual(workers(2, "z1") + workers(2, "z2"))])
    assert plan.changes == [] and not plan.has_changes


def test_scale_up_and_down_per_zone() -> None:
    plan = plan_infra(OWNER, "local", [desired(size=3)], [actual(workers(1, "z1") + workers(5, "z2"))])
    creates = Counter(c.zone for c in plan.changes if c.action == InfraAction.CREATE_WORKER)
    deletes = Counter(c.zone for c in plan.changes if c.action == InfraAction.DELETE_WORKER)
    assert creates == {"z1": 2} and deletes == {"z2": 2}


def test_zone_removed_from_pool_deletes_its_workers() -> None:
    plan = plan_infra(OWNER, "local", [desired(zones=("z1",))], [actual(workers(2, "z1") + workers(2, "z2"))])
    assert actions(plan) == {"delete-worker": 2}
    assert {c.zone for c in plan.changes} == {"z2"}


def test_flavor_change_replaces_rolling_within_the_limit() -> None:
    plan = plan_infra(
        OWNER,
        "local",
        [desired(size=3, zones=("z1",), flavor="m3c.8x64")],
        [actual(workers(3, "z1"))],
        InfraOptions(max_replace=2),
    )
    creates = [c for c in plan.changes if c.action == InfraAction.CREATE_WORKER]
    deletes = [c for c in plan.changes if c.action == InfraAction.DELETE_WORKER]
    assert len(creates) == 3 and len(deletes) == 3
    assert all(c.flavor == "m3c.8x64" for c in creates)
    assert [c.wave for c in creates] == [0, 0, 1] and sorted(c.wave for c in deletes) == [1, 1, 2]
    for wave in range(3):  # never more than max_replace extra workers at a time
        extra = sum(1 for c in creates if c.wave <= wave) - sum(1 for c in deletes if c.wave <= wave)
        assert extra <= 2


def test_encryption_change_and_critical_workers_are_replaced() -> None:
    ws = workers(1, "z1", encrypted=False) + workers(1, "z2", state=WorkerState.CRITICAL)
    plan = plan_infra(OWNER, "local", [desired(size=1)], [actual(ws)], InfraOptions(max_replace=5))
    reasons = sorted(c.reason for c in plan.changes if c.action == InfraAction.DELETE_WORKER)
    assert reasons == ["replaced (disk encryption on)", "replaced (worker is critical)"]


def test_old_workers_wait_while_their_replacements_provision() -> None:
    # the new worker exists but is still provisioning: the old one must stay until the new one is ready
    ws = workers(1, "z1", flavor="old.flavor") + workers(1, "z1", state=WorkerState.PROVISIONING, start=9)
    plan = plan_infra(OWNER, "local", [desired(size=1, zones=("z1",))], [actual(ws)])
    assert plan.changes == []
    ready = workers(1, "z1", flavor="old.flavor") + workers(1, "z1", start=9)
    plan = plan_infra(OWNER, "local", [desired(size=1, zones=("z1",))], [actual(ready)])
    assert actions(plan) == {"delete-worker": 1} and plan.changes[0].worker == "w-z1-0"


def test_version_upgrade_master_first_then_workers_one_at_a_time() -> None:
    plan = plan_infra(
        OWNER,
        "local",
        [desired(version="1.20.2")],
        [actual(workers(2, "z1", version="1.19.8") + workers(2, "z2", version="1.19.8"), version="1.19.8")],
    )
    assert plan.changes[0].action == InfraAction.UPGRADE_MASTER and plan.changes[0].wave == 0
    upgrades = [c for c in plan.changes if c.action == InfraAction.UPGRADE_WORKER]
    assert len(upgrades) == 4
    assert sorted(c.wave for c in upgrades) == [1, 2, 3, 4]  # one worker per wave


def test_downgrade_is_not_planned() -> None:
    plan = plan_infra(OWNER, "local", [desired(version="1.19.8")], [actual(workers(2, "z1") + workers(2, "z2"))])
    assert plan.changes == []


def test_cluster_removal_and_its_safety_limit() -> None:
    clusters = [actual(workers(1, "z1"), name=f"c{i}") for i in range(4)]
    keep = [desired(name=f"c{i}", size=1, zones=("z1",)) for i in range(3)]
    plan = plan_infra(OWNER, "local", keep, clusters)
    assert actions(plan) == {"delete-cluster": 1} and plan.changes[0].cluster == "c3"
    one_left = [desired(name="c0", size=1, zones=("z1",))]
    refused = plan_infra(OWNER, "local", one_left, clusters)
    assert refused.refused and "would delete 3 of 4 clusters" in refused.refused
    assert not any(c.action == InfraAction.DELETE_CLUSTER for c in refused.changes)
    allowed = plan_infra(OWNER, "local", one_left, clusters, InfraOptions(allow_mass_delete=True))
    assert actions(allowed) == {"delete-cluster": 3}
    nothing = plan_infra(OWNER, "local", [], clusters)
    assert nothing.refused


def test_clusters_of_other_spokes_are_left_alone() -> None:
    other = actual(workers(1, "z1"), name="theirs", owner="spoke-b")
    plan = plan_infra(OWNER, "local", [desired(name="theirs")], [other])
    assert plan.changes == []
