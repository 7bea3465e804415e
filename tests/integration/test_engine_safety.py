"""Engine safety against a real kube-apiserver: razee deletes only what is provably its own, two spokes on one
cluster never fight, and valid input never stalls a spoke (issue #13, each case by number)."""

from __future__ import annotations

import secrets
import time
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config

from razee.kube.applier import PlanNotApplicable
from razee.plan.model import Action
from tests.helpers.engine import RES, Spokes, actions, change_of, cm


@pytest.fixture
def spokes(tmp_path: Path, kubeconfig: str) -> Spokes:
    return Spokes(tmp_path, kubeconfig)


def crd(group: str) -> str:
    return f"""---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: gadgets.{group}
spec:
  group: {group}
  scope: Namespaced
  names: {{plural: gadgets, singular: gadget, kind: Gadget}}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [size]
            properties:
              size: {{type: integer, minimum: 1}}
"""


def gadget(group: str, ns: str, name: str, size: Any = 1) -> str:
    return (
        f"---\napiVersion: {group}/v1\nkind: Gadget\nmetadata: {{name: {name}, namespace: {ns}}}\n"
        f"spec: {{size: {size}}}\n"
    )


# 1. Pruning respects ownership ----------------------------------------------------------------------------------


def test_1_an_object_moved_to_another_spoke_is_handed_over_never_deleted(
    spokes: Spokes, namespace: str, api_client: client.ApiClient
) -> None:
    core = client.CoreV1Api(api_client)
    spokes.write(a=cm(namespace, "moving") + cm(namespace, "a-only"), b=cm(namespace, "b-only"))
    spokes.apply("a")
    spokes.apply("b")
    uid = core.read_namespaced_config_map("moving", namespace).metadata.uid

    spokes.write(a=cm(namespace, "a-only"), b=cm(namespace, "b-only") + cm(namespace, "moving"))
    plan, result = spokes.apply("b")  # sb first: sa still owns and claims it, so sb holds it back and claims it
    held = change_of(plan, "moving")
    assert held.action == Action.CONFLICT and held.other_spoke == spokes.name("a")
    assert [k.name for k, _ in result.held] == ["moving"] and result.ok
    plan, result = spokes.apply("a")  # sa lets go: sb claims it, so it is handed over, not deleted
    assert change_of(plan, "moving").action == Action.KEEP
    assert "handed over to spoke " + spokes.name("b") in change_of(plan, "moving").reason
    assert not result.pruned
    plan, result = spokes.apply("b")  # sb takes it over
    assert change_of(plan, "moving").reason.startswith("taken over from spoke " + spokes.name("a"))
    live = core.read_namespaced_config_map("moving", namespace)
    assert live.metadata.uid == uid and live.metadata.labels["razee.io/inventory"] == spokes.name("b")
    for letter in "ab":
        assert not spokes.diff(letter).has_changes


def test_1_a_crd_one_spoke_still_declares_survives_the_other_letting_go(
    spokes: Spokes, namespace: str, api_client: client.ApiClient
) -> None:
    group = f"g{secrets.token_hex(3)}.razee.test"
    ext = client.ApiextensionsV1Api(api_client)
    custom = client.CustomObjectsApi(api_client)
    spokes.write(a=crd(group) + gadget(group, namespace, "ga"), b=crd(group) + gadget(group, namespace, "gb"))
    _, result = spokes.apply("a")
    assert result.ok, result.failed
    plan, result = spokes.apply("b")
    assert change_of(plan, f"gadgets.{group}").other_spoke == spokes.name("a")  # one CRD, two declarations
    assert result.ok and [k.name for k in result.applied] == ["gb"]
    crd_uid = ext.read_custom_resource_definition(f"gadgets.{group}").metadata.uid

    spokes.write(a=gadget(group, namespace, "ga"))  # sa no longer declares the CRD; sb still does
    plan, result = spokes.apply("a")
    assert change_of(plan, f"gadgets.{group}").action == Action.KEEP and not result.pruned
    assert ext.read_custom_resource_definition(f"gadgets.{group}").metadata.uid == crd_uid
    names = {
        g["metadata"]["name"] for g in custom.list_namespaced_custom_object(group, "v1", namespace, "gadgets")["items"]
    }
    assert names == {"ga", "gb"}
    spokes.apply("b")
    owner = ext.read_custom_resource_definition(f"gadgets.{group}").metadata.labels["razee.io/inventory"]
    assert owner == spokes.name("b")
    ext.delete_custom_resource_definition(f"gadgets.{group}")


def test_1_shared_namespaces_and_relabelled_objects_are_not_deleted(
    spokes: Spokes, namespace: str, api_client: client.ApiClient
) -> None:
    core = client.CoreV1Api(api_client)
    shared = f"shared-{secrets.token_hex(3)}"
    ns_doc = f"---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: {shared}\n"
    spokes.write(a=ns_doc + cm(shared, "from-a") + cm(namespace, "someone-elses"), b=ns_doc + cm(shared, "from-b"))
    assert spokes.apply("a")[1].ok
    plan, result = spokes.apply("b")
    assert change_of(plan, shared).action == Action.UNCHANGED and "shared namespace" in change_of(plan, shared).reason
    assert result.ok and not result.held
    assert spokes.cli("b", "diff").returncode == 0

    # Someone takes an object away from razee by changing its label; then sa drops both from the repo.
    core.patch_namespaced_config_map(
        "someone-elses", namespace, {"metadata": {"labels": {"razee.io/inventory": "not-razee"}}}
    )
    spokes.write(a="")
    plan, result = spokes.apply("a", allow_mass_prune=True)
    assert change_of(plan, shared).action == Action.KEEP  # sb still manages objects in it
    assert change_of(plan, "someone-elses").action == Action.KEEP
    assert [k.name for k in result.pruned] == ["from-a"]
    assert core.read_namespace(shared).status.phase == "Active"
    assert core.read_namespaced_config_map("someone-elses", namespace).metadata.labels["razee.io/inventory"] == (
        "not-razee"
    )
    core.delete_namespace(shared)


# 2. Two spokes declaring one object: a conflict naming both, not a flap ------------------------------------------


def test_2_one_object_declared_by_two_spokes_is_a_conflict_not_a_flap(
    spokes: Spokes, namespace: str, api_client: client.ApiClient
) -> None:
    core = client.CoreV1Api(api_client)
    spokes.write(a=cm(namespace, "both", {"from": "a"}), b=cm(namespace, "both", {"from": "b"}) + cm(namespace, "b1"))
    spokes.apply("a")
    version = core.read_namespaced_config_map("both", namespace).metadata.resource_version
    for _ in range(2):
        plan, result = spokes.apply("b")
        both = change_of(plan, "both")
        assert both.action == Action.CONFLICT
        assert both.conflicts == [
            f"spoke {spokes.name('b')}: {both.source}",
            f"spoke {spokes.name('a')}: templates/spoke/objects.yaml.j2",
        ]
        assert [k.name for k in result.applied] in (["b1"], [])
        plan, result = spokes.apply("a")
        assert change_of(plan, "both").action == Action.UNCHANGED and not result.applied
    live = core.read_namespaced_config_map("both", namespace)
    assert live.metadata.resource_version == version and live.data == {"from": "a"}
    r = spokes.cli("b", "apply")
    assert r.returncode == 2 and f"also declared by spoke {spokes.name('a')}" in r.stderr
    assert spokes.cli("b", "diff").returncode == 2


# 3. An API group change never deletes the object -----------------------------------------------------------------


def test_3_an_event_moved_to_another_api_group_is_not_pruned(
    spokes: Spokes, namespace: str, api_client: client.ApiClient
) -> None:
    """The current server serves Event both as core v1 and as events.k8s.io/v1: one object under two groups (the
    pair #13 used, Ingress under extensions/v1beta1, is no longer served)."""
    old = f"""---
apiVersion: v1
kind: Event
metadata: {{name: web.probe, namespace: {namespace}}}
involvedObject: {{apiVersion: v1, kind: ConfigMap, name: web, namespace: {namespace}}}
reason: Probe
message: first
type: Normal
eventTime: "2026-01-01T00:00:00.000000Z"
reportingComponent: razee-test
reportingInstance: razee-test-1
action: Probe
"""
    new = f"""---
apiVersion: events.k8s.io/v1
kind: Event
metadata: {{name: web.probe, namespace: {namespace}, labels: {{moved: "yes"}}}}
regarding: {{apiVersion: v1, kind: ConfigMap, name: web, namespace: {namespace}}}
reason: Probe
note: first
type: Normal
eventTime: "2026-01-01T00:00:00.000000Z"
reportingController: razee-test
reportingInstance: razee-test-1
action: Probe
"""
    core = client.CoreV1Api(api_client)
    spokes.write(a=old)
    assert spokes.apply("a")[1].ok
    uid = core.read_namespaced_event("web.probe", namespace).metadata.uid
    spokes.write(a=new)
    plan, result = spokes.apply("a")
    assert result.ok and not result.pruned, plan.changes
    assert [(c.key.group, c.action) for c in plan.changes] == [("events.k8s.io", Action.UPDATE), ("", Action.KEEP)]
    live = core.read_namespaced_event("web.probe", namespace)
    assert live.metadata.uid == uid and live.metadata.labels.get("moved") == "yes"  # the same object, changed
    assert not spokes.diff("a").has_changes
    spokes.write(a="")
    _, result = spokes.apply("a", allow_mass_prune=True)
    assert [(k.group, k.name) for k in result.pruned] == [("events.k8s.io", "web.probe")]


# 4. A lost inventory is rebuilt from the label -------------------------------------------------------------------


def test_4_a_lost_inventory_is_rebuilt_from_the_label(
    spokes: Spokes, namespace: str, api_client: client.ApiClient
) -> None:
    core = client.CoreV1Api(api_client)
    spokes.write(a="".join(cm(namespace, f"c{i}") for i in range(4)))
    spokes.apply("a")
    for item in core.list_namespaced_config_map(
        "razee-system", label_selector=f"razee.io/inventory-for={spokes.name('a')}"
    ).items:
        core.delete_namespaced_config_map(item.metadata.name, "razee-system")  # type: ignore[arg-type]
    spokes.write(a="".join(cm(namespace, f"c{i}") for i in range(3)))
    plan = spokes.diff("a")
    assert actions(plan)["prune"] == ["ConfigMap/c3"]
    assert any("was missing; rebuilt from the 4 object(s) labelled" in w for w in plan.warnings)
    r = spokes.cli("a", "apply")
    assert r.returncode == 0, r.stderr
    assert "rebuilt from the 4 object(s)" in r.stdout
    names = {c.metadata.name for c in core.list_namespaced_config_map(namespace).items}
    assert "c3" not in names and {"c0", "c1", "c2"} <= names
    assert not spokes.diff("a").warnings  # the record exists again


def test_4_razee_system_is_never_pruned(tmp_path: Path, cluster_factory: Any) -> None:
    kubeconfig = cluster_factory("safety-system")  # its own: razee-system must not be another test's
    spokes = Spokes(tmp_path, kubeconfig)
    system = "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: razee-system\n"
    spokes.write(a=system + cm("razee-system", "agent-config"))
    assert spokes.apply("a")[1].ok
    spokes.write(a="")
    plan, result = spokes.apply("a", allow_mass_prune=True)
    assert change_of(plan, "razee-system").action == Action.KEEP
    assert "holds razee's own state" in change_of(plan, "razee-system").reason
    assert [k.name for k in result.pruned] == ["agent-config"]
    api = config.new_client_from_config(config_file=kubeconfig)
    assert client.CoreV1Api(api).read_namespace("razee-system").status.phase == "Active"
    api.close()


# 5, 8, 10. Valid input never stalls a spoke --------------------------------------------------------------------


def test_5_any_unicode_applies(spokes: Spokes, namespace: str, api_client: client.ApiClient) -> None:
    text = "café 😀 𝄞 中文"
    spokes.write(a=cm(namespace, "uni", {"greeting": text}))
    r = spokes.cli("a", "apply")
    assert r.returncode == 0, r.stderr
    assert client.CoreV1Api(api_client).read_namespaced_config_map("uni", namespace).data == {"greeting": text}
    assert spokes.cli("a", "diff").returncode == 0


def test_8_numeric_quantities_apply(spokes: Spokes, namespace: str, api_client: client.ApiClient) -> None:
    deploy = f"""---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: q, namespace: {namespace}}}
spec:
  selector: {{matchLabels: {{app: q}}}}
  template:
    metadata: {{labels: {{app: q}}}}
    spec:
      containers:
      - name: c
        image: icr.io/armada/q:1
        resources:
          limits: {{cpu: 1, memory: 1073741824}}
          requests: {{cpu: 0.5, memory: 536870912}}
---
apiVersion: v1
kind: ResourceQuota
metadata: {{name: q, namespace: {namespace}}}
spec:
  hard: {{cpu: 4, pods: 10}}
"""
    spokes.write(a=deploy)
    r = spokes.cli("a", "apply")
    assert r.returncode == 0, r.stderr
    container = client.AppsV1Api(api_client).read_namespaced_deployment("q", namespace).spec.template.spec.containers[0]
    assert container.resources.limits == {"cpu": "1", "memory": "1073741824"}
    assert container.resources.requests == {"cpu": "500m", "memory": "536870912"}
    assert spokes.cli("a", "diff").returncode == 0


def test_10_a_namespace_on_a_cluster_scoped_kind_is_dropped_with_a_warning(
    spokes: Spokes, namespace: str, api_client: client.ApiClient
) -> None:
    name = f"razee-test-{secrets.token_hex(3)}"
    role = (
        f"---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: {name}\n"
        f"  namespace: {namespace}\nrules: []\n"
    )
    spokes.write(a=role)
    r = spokes.cli("a", "diff")
    assert r.returncode == 1 and "metadata.namespace dropped, ClusterRole is cluster-scoped" in r.stdout
    assert spokes.cli("a", "apply").returncode == 0
    assert spokes.cli("a", "diff").returncode == 0  # not "create" for ever
    spokes.write(a=cm(namespace, "other"))
    _, result = spokes.apply("a")
    assert [k.name for k in result.pruned] == [name]  # not orphaned either
    rbac = client.RbacAuthorizationV1Api(api_client)
    with pytest.raises(client.ApiException):
        rbac.read_cluster_role(name)


# 6. Immutable fields have a way forward -------------------------------------------------------------------------


def _deployment(ns: str, app: str, annotations: str = "") -> str:
    return f"""---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: imm
  namespace: {ns}
{annotations}spec:
  selector: {{matchLabels: {{app: {app}}}}}
  template:
    metadata: {{labels: {{app: {app}}}}}
    spec:
      containers: [{{name: c, image: icr.io/armada/imm:1, {RES}}}]
"""


def test_6_immutable_fields_name_the_field_and_the_way_through(
    spokes: Spokes, namespace: str, api_client: client.ApiClient
) -> None:
    apps = client.AppsV1Api(api_client)
    job = f"""---
apiVersion: batch/v1
kind: Job
metadata: {{name: once, namespace: {namespace}}}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{{name: c, image: icr.io/armada/job:IMAGE, command: [sh, -c, 'echo hi'],
                    {RES}}}]
"""
    sts = f"""---
apiVersion: apps/v1
kind: StatefulSet
metadata: {{name: db, namespace: {namespace}}}
spec:
  serviceName: db
  selector: {{matchLabels: {{app: db}}}}
  template:
    metadata: {{labels: {{app: db}}}}
    spec:
      containers: [{{name: c, image: icr.io/armada/db:1, {RES}}}]
  volumeClaimTemplates:
  - metadata: {{name: data}}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {{requests: {{storage: SIZE}}}}
"""
    octets = [secrets.randbelow(200) + 20 for _ in range(2)]
    octets.append(octets[1] + 1)  # the changed address always differs from the applied one
    svc = f"""---
apiVersion: v1
kind: Service
metadata: {{name: fixed, namespace: {namespace}}}
spec:
  clusterIP: 10.0.{octets[0]}.OCTET
  ports: [{{port: 80}}]
"""
    spokes.write(
        a=_deployment(namespace, "one")
        + job.replace("IMAGE", "1")
        + sts.replace("SIZE", "1Gi")
        + svc.replace("OCTET", str(octets[1]))
    )
    assert spokes.apply("a")[1].ok
    uid = apps.read_namespaced_deployment("imm", namespace).metadata.uid
    spokes.write(
        a=_deployment(namespace, "two")
        + job.replace("IMAGE", "2")
        + sts.replace("SIZE", "2Gi")
        + svc.replace("OCTET", str(octets[2]))
    )
    plan = spokes.diff("a")
    for name, field in (
        ("imm", "spec.selector"),
        ("once", "spec.template"),
        ("db", "spec"),
        ("fixed", "spec.clusterIP"),
    ):
        change = change_of(plan, name)
        assert change.action == Action.ERROR, change
        assert f"immutable field {field}" in change.reason and 'razee.io/recreate: "true"' in change.reason
        assert "…" not in change.reason and len(change.reason) < 2000
    r = spokes.cli("a", "apply")
    assert r.returncode == 2 and "nothing was changed" in r.stderr
    assert apps.read_namespaced_deployment("imm", namespace).spec.selector.match_labels == {"app": "one"}

    annotation = "  annotations: {razee.io/recreate: 'true'}\n"
    spokes.write(
        a=_deployment(namespace, "two", annotation)
        + job.replace("IMAGE", "1")
        + sts.replace("SIZE", "1Gi")
        + svc.replace("OCTET", str(octets[1]))
    )
    r = spokes.cli("a", "diff")
    assert r.returncode == 1 and f"recreate Deployment.apps {namespace}/imm: immutable field spec.selector" in r.stdout
    _, result = spokes.apply("a")
    assert result.ok, result.failed
    live = apps.read_namespaced_deployment("imm", namespace)
    assert live.metadata.uid != uid and live.spec.selector.match_labels == {"app": "two"}
    assert not spokes.diff("a").has_changes


# 9. The inventory is not capped by one ConfigMap ---------------------------------------------------------------


def test_9_an_inventory_of_50000_objects_round_trips_in_shards(kubeconfig: str) -> None:
    from razee.kube.client import Kube, load_api_client
    from razee.kube.inventory import SHARD_BYTES, read_inventory, write_inventory
    from razee.objects import ObjectKey

    target = f"big-{secrets.token_hex(3)}"
    entries = {
        ObjectKey("apps", "Deployment", f"master-cluster-{i // 10:05d}", f"component-{i % 10}"): "apps/v1"
        for i in range(50_000)
    }
    templates = {k: "cluster/master.yaml.j2" for k in entries}
    kube = Kube(load_api_client(kubeconfig, None))
    try:
        started = time.monotonic()
        written = write_inventory(kube, read_inventory(kube, target), entries, templates)
        write_seconds = time.monotonic() - started
        sizes = [len(t.encode()) for t in written.shards.values()]
        assert len(sizes) > 1 and max(sizes) <= SHARD_BYTES
        started = time.monotonic()
        before = kube.counter.total
        back = read_inventory(kube, target)
        read_seconds, read_requests = time.monotonic() - started, kube.counter.total - before
        assert back.entries == entries and back.templates == templates and read_requests == 1
        one_more = {**entries, ObjectKey("", "ConfigMap", "armada", "extra"): "v1"}
        before = kube.counter.writes
        write_inventory(kube, back, one_more, templates, ensure_namespace=False)
        assert kube.counter.writes - before == 1  # only the shard that changed is written
        assert len(read_inventory(kube, target).entries) == 50_001
        print(
            f"\ninventory of 50,000 objects: {len(sizes)} shards, {sum(sizes) / 1e6:.1f} MB, "
            f"written in {write_seconds:.2f}s, read in {read_seconds:.2f}s with {read_requests} request"
        )
        write_inventory(kube, back, {}, {}, ensure_namespace=False)
        assert read_inventory(kube, target).entries == {}
    finally:
        kube.close()


# 11. Terminating objects -----------------------------------------------------------------------------------------


def test_11_a_prune_is_done_only_when_the_object_is_gone(
    tmp_path: Path, kubeconfig: str, namespace: str, api_client: client.ApiClient
) -> None:
    core = client.CoreV1Api(api_client)
    spokes = Spokes(tmp_path, kubeconfig, count=1, engine={"pruneTimeout": "2s"})
    held = "  finalizers: [razee.test/hold]\n"
    spokes.write(a=cm(namespace, "held", meta=held) + cm(namespace, "free"))
    assert spokes.apply("a")[1].ok
    spokes.write(a=cm(namespace, "free"))
    _, result = spokes.apply("a")
    assert [k.name for k, _ in result.terminating] == ["held"]
    assert "waiting for finalizers razee.test/hold" in result.terminating[0][1]
    plan = spokes.diff("a")
    assert change_of(plan, "held").action == Action.TERMINATING and plan.has_changes
    r = spokes.cli("a", "apply")
    assert r.returncode == 1
    assert "not done: still terminating after 2s: waiting for finalizers razee.test/hold" in r.stderr

    spokes.write(a=cm(namespace, "held", meta=held) + cm(namespace, "free"))  # re-added while terminating
    plan = spokes.diff("a")
    assert change_of(plan, "held").action == Action.TERMINATING
    assert "razee creates it again once it is gone" in change_of(plan, "held").reason

    core.patch_namespaced_config_map("held", namespace, {"metadata": {"finalizers": None}})
    plan, result = spokes.apply("a")
    assert change_of(plan, "held").action == Action.CREATE and result.ok
    assert core.read_namespaced_config_map("held", namespace).metadata.deletion_timestamp is None
    core.patch_namespaced_config_map("held", namespace, {"metadata": {"finalizers": None}})


# 12. No half-applies ----------------------------------------------------------------------------------------------


def test_12_a_bad_object_in_a_new_namespace_is_refused_before_anything_applies(
    spokes: Spokes, api_client: client.ApiClient
) -> None:
    core = client.CoreV1Api(api_client)
    fresh = f"new-{secrets.token_hex(3)}"
    ns_doc = f"---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: {fresh}\n"
    bad = cm(fresh, "bad", {"not a valid key!": "x"})
    spokes.write(a=ns_doc + cm(fresh, "good") + bad)
    r = spokes.cli("a", "diff")
    assert r.returncode == 2, r.stdout
    assert f"error ConfigMap {fresh}/bad" in r.stdout and "not a valid key!" in r.stdout
    r = spokes.cli("a", "apply")
    assert r.returncode == 2 and "nothing was changed" in r.stderr
    with pytest.raises(client.ApiException):
        core.read_namespace(fresh)

    spokes.write(a=ns_doc + cm(fresh, "good"))
    plan = spokes.diff("a")
    assert actions(plan) == {"create": [f"Namespace/{fresh}", "ConfigMap/good"]}
    assert change_of(plan, "good").after["metadata"]["namespace"] == fresh
    assert spokes.apply("a")[1].ok
    core.delete_namespace(fresh)


def test_12_a_namespaced_object_without_a_namespace_is_an_input_error(spokes: Spokes, namespace: str) -> None:
    spokes.write(
        a="---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: nowhere\ndata: {k: v}\n" + cm(namespace, "fine")
    )
    plan = spokes.diff("a")
    change = change_of(plan, "nowhere")
    assert change.action == Action.ERROR and "metadata.namespace is missing" in change.reason
    assert "spoke/objects.yaml.j2" in change.reason
    with pytest.raises(PlanNotApplicable):
        spokes.apply("a")
    r = spokes.cli("a", "apply")
    assert r.returncode == 2 and "metadata.namespace is missing" in r.stderr


def test_12_a_bad_custom_resource_of_a_new_crd_is_refused_before_anything_applies(
    spokes: Spokes, namespace: str, api_client: client.ApiClient
) -> None:
    group = f"n{secrets.token_hex(3)}.razee.test"
    ext = client.ApiextensionsV1Api(api_client)
    spokes.write(
        a=crd(group)
        + gadget(group, namespace, "ok")
        + gadget(group, namespace, "tiny", size=0)
        + cm(namespace, "beside")
    )
    r = spokes.cli("a", "diff")
    assert r.returncode == 2
    assert f"error Gadget.{group} {namespace}/tiny: invalid under the schema of CRD gadgets.{group}" in r.stdout
    assert "spec.size: 0 is less than the minimum of 1" in r.stdout
    r = spokes.cli("a", "apply")
    assert r.returncode == 2 and "nothing was changed" in r.stderr
    with pytest.raises(client.ApiException):
        ext.read_custom_resource_definition(f"gadgets.{group}")
    spokes.write(a=crd(group) + gadget(group, namespace, "ok") + gadget(group, namespace, "tiny", size=2))
    _, result = spokes.apply("a")
    assert result.ok and len(result.applied) == 3
    ext.delete_custom_resource_definition(f"gadgets.{group}")
