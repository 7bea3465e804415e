"""The Kubernetes engine against a real kube-apiserver: diff, apply, drift, conflicts, ordering and pruning."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from razee.kube.applier import PlanNotApplicable
from razee.plan.model import Action
from tests.helpers.engine import Fleet, actions, cm


@pytest.fixture
def fleet(tmp_path: Path, kubeconfig: str) -> Fleet:
    return Fleet(tmp_path, kubeconfig)


def test_create_update_field_removal_and_noop(fleet: Fleet, namespace: str, api_client: client.ApiClient) -> None:
    core = client.CoreV1Api(api_client)
    fleet.write(cm(namespace, "a", {"x": "1", "y": "2"}))
    plan, result = fleet.apply()
    assert actions(plan) == {"create": ["ConfigMap/a"]}
    assert result.ok and result.applied
    assert core.read_namespaced_config_map("a", namespace).data == {"x": "1", "y": "2"}

    noop_plan, noop = fleet.apply()
    assert actions(noop_plan) == {"unchanged": ["ConfigMap/a"]}
    assert noop.requests == 0  # nothing written, not even the inventory

    fleet.write(cm(namespace, "a", {"x": "changed"}))  # y removed from the repo
    plan, result = fleet.apply()
    (change,) = plan.changes
    assert change.action == Action.UPDATE and change.reason == "changed in the fleet repo"
    assert {"op": "replace", "path": "/data/x", "value": "changed"} in change.patch
    assert {"op": "remove", "path": "/data/y"} in change.patch
    assert core.read_namespaced_config_map("a", namespace).data == {"x": "changed"}


def test_diff_changes_nothing_and_exit_codes(fleet: Fleet, namespace: str, api_client: client.ApiClient) -> None:
    core = client.CoreV1Api(api_client)
    fleet.write(cm(namespace, "a", {"x": "1"}))
    fleet.apply()
    before = core.read_namespaced_config_map("a", namespace).metadata.resource_version
    fleet.write(cm(namespace, "a", {"x": "2"}) + cm(namespace, "b", {"z": "3"}))
    r = fleet.cli("diff")
    assert r.returncode == 1, r.stderr
    assert "update ConfigMap " + namespace + "/a: changed in the fleet repo" in r.stdout
    assert "-  x: '1'" in r.stdout and "+  x: '2'" in r.stdout
    assert f"create ConfigMap {namespace}/b" in r.stdout
    assert "1 to create, 1 to update, 0 to prune" in r.stdout
    assert core.read_namespaced_config_map("a", namespace).metadata.resource_version == before
    with pytest.raises(client.ApiException):
        core.read_namespaced_config_map("b", namespace)
    as_json = json.loads(fleet.cli("diff", "-o", "json").stdout)
    kube_plan = as_json["kubernetes"]
    assert kube_plan["summary"]["create"] == 1 and kube_plan["summary"]["update"] == 1
    assert as_json["infrastructure"] is None
    assert any(p["path"] == "/data/x" for c in kube_plan["changes"] for p in c.get("patch", []))
    assert fleet.cli("apply", "-q").returncode == 0
    clean = fleet.cli("diff")
    assert clean.returncode == 0 and "0 to create, 0 to update, 0 to prune, 2 unchanged" in clean.stdout


def test_drift_is_reported_by_field_path(fleet: Fleet, namespace: str, api_client: client.ApiClient) -> None:
    apps = client.AppsV1Api(api_client)
    deploy = f"""---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: {namespace}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers:
      - name: web
        image: icr.io/web:1
        ports: [{{containerPort: 8080}}]
        resources: {{requests: {{cpu: 100m, memory: 64Mi}}, limits: {{cpu: "1", memory: 128Mi}}}}
"""
    fleet.write(deploy)
    fleet.apply()
    assert actions(fleet.diff()) == {"unchanged": ["Deployment/web"]}  # defaults and 1 == "1" cause no diff
    apps.patch_namespaced_deployment("web", namespace, {"spec": {"replicas": 5}})  # like kubectl edit
    plan = fleet.diff()
    (change,) = plan.changes
    assert change.action == Action.UPDATE
    assert change.drift == ["/spec/replicas"]
    assert "drift" in change.reason
    fleet.apply()
    assert apps.read_namespaced_deployment("web", namespace).spec.replicas == 2


def test_conflict_with_another_manager_is_reported_not_forced(
    fleet: Fleet, namespace: str, api_client: client.ApiClient
) -> None:
    core = client.CoreV1Api(api_client)
    fleet.write(cm(namespace, "shared", {"k": "razee"}))
    fleet.apply()
    core.patch_namespaced_config_map(  # another tool takes the field with server-side apply
        "shared",
        namespace,
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "shared", "namespace": namespace},
            "data": {"k": "other"},
        },
        field_manager="other-tool",
        force=True,
        _content_type="application/apply-patch+yaml",
    )
    fleet.write(cm(namespace, "shared", {"k": "razee-v2"}))
    run = fleet.plan(take_over_conflicts=False)  # as `razee apply` run by a person
    try:
        (change,) = run.plan.changes
        assert change.action == Action.CONFLICT
        assert any("other-tool" in c for c in change.conflicts)
        with pytest.raises(PlanNotApplicable):
            run.apply()
    finally:
        run.kube.close()
    assert core.read_namespaced_config_map("shared", namespace).data == {"k": "other"}
    assert fleet.cli("diff").returncode == 2
    forced = fleet.cli("apply", "--force-conflicts")
    assert forced.returncode == 0, forced.stderr
    assert "takes over /data/k from other-tool" in forced.stdout.replace(".data.k", "/data/k")
    assert core.read_namespaced_config_map("shared", namespace).data == {"k": "razee-v2"}
    core.patch_namespaced_config_map(  # the other tool again; now the annotation decides
        "shared",
        namespace,
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "shared", "namespace": namespace},
            "data": {"k": "other"},
        },
        field_manager="other-tool",
        force=True,
        _content_type="application/apply-patch+yaml",
    )
    fleet.write(cm(namespace, "shared", {"k": "razee-v3"}, "  annotations: {razee.io/force: 'true'}\n"))
    _, result = fleet.apply(take_over_conflicts=False)
    assert result.ok
    assert core.read_namespaced_config_map("shared", namespace).data == {"k": "razee-v3"}


def test_an_unattended_pass_takes_conflicting_fields_over_and_says_so(
    fleet: Fleet, namespace: str, api_client: client.ApiClient
) -> None:
    core = client.CoreV1Api(api_client)
    fleet.write(cm(namespace, "shared", {"k": "razee"}) + cm(namespace, "unrelated", {"u": "1"}))
    fleet.apply()
    core.patch_namespaced_config_map(
        "shared",
        namespace,
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "shared", "namespace": namespace},
            "data": {"k": "other"},
        },
        field_manager="other-tool",
        force=True,
        _content_type="application/apply-patch+yaml",
    )
    fleet.write(cm(namespace, "shared", {"k": "razee-v2"}) + cm(namespace, "unrelated", {"u": "2"}))
    plan, result = fleet.apply()  # the fleet's default (engine.conflicts: takeover), as the agent runs it
    assert result.ok, result.failed
    shared = next(c for c in plan.changes if c.key.name == "shared")
    assert shared.action == Action.UPDATE
    assert shared.takeovers == [{"path": ".data.k", "manager": "other-tool"}]
    assert shared.to_json()["takeovers"] == shared.takeovers
    assert core.read_namespaced_config_map("shared", namespace).data == {"k": "razee-v2"}
    assert core.read_namespaced_config_map("unrelated", namespace).data == {"u": "2"}
    managers = {
        m.manager
        for m in core.read_namespaced_config_map("shared", namespace).metadata.managed_fields
        if m.operation == "Apply" and "f:k" in json.dumps(m.fields_v1)
    }
    assert managers == {"razee"}


def test_secret_values_never_appear_in_diffs(fleet: Fleet, namespace: str) -> None:
    canary = f"canary-{secrets.token_hex(8)}"
    secret = (
        f"---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\n  namespace: {namespace}\n"
        f"type: Opaque\nstringData:\n  password: {canary}\n"
    )
    fleet.write(secret)
    for args in (("diff",), ("diff", "-o", "json"), ("apply",)):
        r = fleet.cli(*args)
        assert canary not in r.stdout + r.stderr
    fleet.write(secret.replace(canary, canary + "-rotated"))
    r = fleet.cli("diff")
    assert r.returncode == 1
    assert canary not in r.stdout
    assert "*** (before)" in r.stdout and "*** (after)" in r.stdout
    j = fleet.cli("diff", "-o", "json")
    assert canary not in j.stdout


def test_prune_prune_disabled_and_mass_prune(fleet: Fleet, namespace: str, api_client: client.ApiClient) -> None:
    core = client.CoreV1Api(api_client)
    keep = "  annotations: {razee.io/prune: disabled}\n"
    objs = {f"o{i}": cm(namespace, f"o{i}", {"i": str(i)}) for i in range(8)}
    objs["o7"] = cm(namespace, "o7", {"i": "7"}, keep)
    fleet.write("".join(objs.values()))
    fleet.apply()
    fleet.write("".join(v for k, v in objs.items() if k not in ("o0", "o7")))  # 2 of 8 leave
    plan, result = fleet.apply()
    assert actions(plan)["prune"] == ["ConfigMap/o0"]
    assert actions(plan)["keep"] == ["ConfigMap/o7"]
    assert result.pruned and result.ok
    names = {c.metadata.name for c in core.list_namespaced_config_map(namespace).items}
    assert "o0" not in names and "o7" in names  # pruned vs. kept by annotation

    fleet.write("---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: only, namespace: " + namespace + "}\n")
    plan, result = fleet.apply()
    assert plan.prune_refused and "would delete 6 of" in plan.prune_refused
    assert {f"o{i}" for i in range(1, 7)} <= {c.metadata.name for c in core.list_namespaced_config_map(namespace).items}
    r = fleet.cli("apply", "-q")
    assert r.returncode == 1 and "prune refused" in r.stderr
    plan, result = fleet.apply(allow_mass_prune=True)
    assert len(result.pruned) == 6
    left = {c.metadata.name for c in core.list_namespaced_config_map(namespace).items}
    assert not {f"o{i}" for i in range(1, 7)} & left


def test_crd_and_custom_resource_in_one_apply(fleet: Fleet, namespace: str, api_client: client.ApiClient) -> None:
    group = f"t{secrets.token_hex(3)}.razee.test"
    docs = f"""---
apiVersion: {group}/v1
kind: Widget
metadata:
  name: w1
  namespace: {namespace}
spec:
  size: 3
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.{group}
spec:
  group: {group}
  scope: Namespaced
  names: {{plural: widgets, singular: widget, kind: Widget}}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec: {{type: object, x-kubernetes-preserve-unknown-fields: true}}
"""
    fleet.write(docs)
    plan = fleet.diff()
    assert actions(plan) == {"create": ["Widget/w1", "CustomResourceDefinition/widgets." + group]}
    _, result = fleet.apply()
    assert result.ok, result.failed
    custom = client.CustomObjectsApi(api_client)
    assert custom.get_namespaced_custom_object(group, "v1", namespace, "widgets", "w1")["spec"] == {"size": 3}
    assert fleet.cli("diff").returncode == 0
    client.ApiextensionsV1Api(api_client).delete_custom_resource_definition(f"widgets.{group}")


def test_a_crash_mid_apply_loses_track_of_nothing(fleet: Fleet, namespace: str, api_client: client.ApiClient) -> None:
    core = client.CoreV1Api(api_client)
    fleet.write("".join(cm(namespace, f"c{i}", {"i": str(i)}) for i in range(12)))
    run = fleet.plan(concurrency=1)
    applied: list[str] = []

    def crash_after_three(change: Any, failure: str | None) -> None:
        applied.append(change.key.name)
        if len(applied) == 3:
            raise KeyboardInterrupt  # stands in for SIGKILL: nothing after this point runs

    try:
        with pytest.raises(KeyboardInterrupt):
            run.apply(crash_after_three)
    finally:
        run.kube.close()
    created = {str(c.metadata.name) for c in core.list_namespaced_config_map(namespace).items} - {"kube-root-ca.crt"}
    assert set(applied) <= created and 3 <= len(created) < 12

    # The repo now drops everything but c0: every object the crashed pass created must still be pruned.
    fleet.write(cm(namespace, "c0", {"i": "0"}))
    _, result = fleet.apply(allow_mass_prune=True)
    assert result.ok
    assert sorted(k.name for k in result.pruned) == sorted(created - {"c0"})
    left = {str(c.metadata.name) for c in core.list_namespaced_config_map(namespace).items} - {"kube-root-ca.crt"}
    assert left == {"c0"}
