"""The engine's side of sources, on a real apiserver (kwok runs the pods, the Job controller completes Jobs): Helm
hooks in their phases, chart CRDs kept when the chart leaves, dependsOn, and adopting what `helm install` made."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from razee.kube.applier import PlanNotApplicable
from razee.kube.client import Kube, load_api_client
from razee.kube.hooks import read_record
from razee.kube.inventory import read_inventory
from razee.objects import Manifest, ObjectKey
from razee.plan.model import Action
from tests.helpers.hooked import (
    Engine,
    change_named,
    configmap,
    deployment,
    helm_install,
    hooked_chart,
    render_chart,
    source_object,
)

GONE_DEADLINE_S = 60.0


def _exists(read: object, *args: str) -> bool:
    try:
        read(*args)  # type: ignore[operator]
        return True
    except ApiException as e:
        if e.status == 404:
            return False
        raise


def test_hooks_run_in_their_phases_once_per_content(
    kubeconfig: str, api_client: object, namespace: str, tmp_path: Path
) -> None:
    hooked_chart(tmp_path)
    engine = Engine(kubeconfig)
    core, batch = client.CoreV1Api(api_client), client.BatchV1Api(api_client)

    plan, result, order, _ = engine.apply(render_chart(tmp_path, "rel", namespace))
    assert result.ok, result.failed
    migrate = change_named(plan, "Job", "rel-migrate")
    assert migrate.action == Action.CREATE and "hook pre-install,pre-upgrade (weight -5)" in migrate.reason
    assert change_named(plan, "ConfigMap", "rel-cleanup").action == Action.UNCHANGED  # pre-delete: never run
    assert "install and upgrade hooks only" in change_named(plan, "ConfigMap", "rel-cleanup").reason
    names = [k.name for k in order]
    # CRDs first, then the pre hooks by weight, the chart's objects, and the post-install hook once healthy
    assert names[0].startswith("gizmos.")
    assert names.index("rel-migrate") < names.index("rel-prepared") < names.index("rel-settings")
    assert names.index("rel") < names.index("rel-installed")
    assert "rel-upgraded" not in names and "rel-cleanup" not in names  # an install runs no upgrade hooks
    # hook-succeeded: the completed Job was deleted; the others stay (before-hook-creation, Helm's default)
    assert not _exists(batch.read_namespaced_job, "rel-migrate", namespace)
    assert _exists(core.read_namespaced_config_map, "rel-prepared", namespace)
    prepared_uid = core.read_namespaced_config_map("rel-prepared", namespace).metadata.uid
    kube = Kube(load_api_client(kubeconfig, None))
    try:
        entries = read_inventory(kube, engine.spoke).entries
        assert ObjectKey("apps", "Deployment", namespace, "rel") in entries
        assert not [k for k in entries if k.name in ("rel-migrate", "rel-prepared", "rel-installed")]
        assert list(read_record(kube, engine.spoke)) == ["HelmChart.rel"]
    finally:
        kube.close()

    # The same content again: no hook runs, nothing is written; a hook changed by hand is no drift.
    core.patch_namespaced_config_map("rel-prepared", namespace, {"data": {"version": "edited"}})
    plan, result, order, writes = engine.apply(render_chart(tmp_path, "rel", namespace))
    assert not plan.has_changes and writes == 0 and order == [], plan.summary()
    assert "ran for the source's current content" in change_named(plan, "Job", "rel-migrate").reason

    # New content is an upgrade: upgrade hooks run, install-only ones do not; before-hook-creation re-creates.
    plan, result, order, _ = engine.apply(render_chart(tmp_path, "rel", namespace, {"version": "2"}))
    assert result.ok, result.failed
    names = [k.name for k in order]
    assert names.index("rel-migrate") < names.index("rel-settings") < names.index("rel-upgraded")
    assert "rel-installed" not in names
    assert change_named(plan, "ConfigMap", "rel-prepared").action == Action.RECREATE
    fresh = core.read_namespaced_config_map("rel-prepared", namespace)
    assert fresh.metadata.uid != prepared_uid and fresh.data == {"version": "2"}
    again = engine.diff(render_chart(tmp_path, "rel", namespace, {"version": "2"}))
    assert not again.has_changes, again.summary()
    assert "ran for the source's current content" in change_named(again, "ConfigMap", "rel-installed").reason


def test_a_failed_pre_hook_stops_its_source(
    kubeconfig: str, api_client: object, namespace: str, tmp_path: Path
) -> None:
    hooked_chart(tmp_path)
    engine = Engine(kubeconfig, hook_timeout=90.0)
    _, result, _, _ = engine.apply(render_chart(tmp_path, "bad", namespace, {"failHook": True}))
    assert not result.ok
    (why,) = [w for k, w in result.failed if k.name == "bad-migrate"]
    assert "hook pre-install,pre-upgrade (weight -5) of HelmChart bad failed: job failed" in why, why
    assert "DeadlineExceeded" in why and "the pass stops here" in why
    core, apps = client.CoreV1Api(api_client), client.AppsV1Api(api_client)
    # nothing after the hook was applied; the failed Job stays to be looked at (its policy is hook-succeeded)
    assert not _exists(core.read_namespaced_config_map, "bad-prepared", namespace)
    assert not _exists(core.read_namespaced_config_map, "bad-settings", namespace)
    assert not _exists(apps.read_namespaced_deployment, "bad", namespace)
    assert _exists(client.BatchV1Api(api_client).read_namespaced_job, "bad-migrate", namespace)
    kube = Kube(load_api_client(kubeconfig, None))
    try:
        assert read_record(kube, engine.spoke) == {}  # not recorded: the next pass runs it again
    finally:
        kube.close()


def test_chart_crds_stay_when_the_chart_leaves_unless_they_opt_in(
    kubeconfig: str, api_client: object, namespace: str, tmp_path: Path
) -> None:
    _, crd = hooked_chart(tmp_path)
    engine = Engine(kubeconfig)
    own = [source_object(configmap(namespace, "own"), None)]
    chart = render_chart(tmp_path, "crds", namespace)
    _, result, _, _ = engine.apply(own + chart)
    assert result.ok, result.failed
    ext = client.ApiextensionsV1Api(api_client)
    assert ext.read_custom_resource_definition(crd).metadata.annotations["razee.io/crd-of"] == "HelmChart crds"

    plan, result, _, _ = engine.apply(own)
    assert result.ok, result.failed
    kept = change_named(plan, "CustomResourceDefinition", crd)
    assert kept.action == Action.KEEP and "a CRD from the crds/ folder of HelmChart crds" in kept.reason
    assert "razee.io/prune: enabled" in kept.reason
    assert change_named(plan, "Deployment", "crds").action == Action.PRUNE
    assert _exists(ext.read_custom_resource_definition, crd)

    # Back in the fleet, the CRD is razee's again; annotated razee.io/prune: enabled, it leaves with the chart.
    _, result, _, _ = engine.apply(own + chart)
    assert result.ok, result.failed
    ext.patch_custom_resource_definition(crd, {"metadata": {"annotations": {"razee.io/prune": "enabled"}}})
    plan, result, _, _ = engine.apply(own)
    assert result.ok, result.failed
    assert change_named(plan, "CustomResourceDefinition", crd).action == Action.PRUNE
    deadline = time.monotonic() + GONE_DEADLINE_S
    while _exists(ext.read_custom_resource_definition, crd) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not _exists(ext.read_custom_resource_definition, crd)


def test_a_source_applies_once_what_it_depends_on_is_healthy(kubeconfig: str, namespace: str) -> None:
    engine = Engine(kubeconfig)
    manifests = [
        source_object(configmap(namespace, "app-config"), "app", ("db",)),
        source_object(deployment(namespace, "app"), "app", ("db",)),
        source_object(deployment(namespace, "db"), "db"),
        source_object(configmap(namespace, "own"), None),
    ]
    _, result, order, _ = engine.apply(manifests)
    assert result.ok, result.failed
    names = [k.name for k in order]
    # without dependsOn the ConfigMap (config stage) would precede every Deployment (workloads stage)
    assert names.index("own") < names.index("db") < names.index("app-config") < names.index("app")


def test_a_dependency_that_never_becomes_healthy_holds_its_dependents(kubeconfig: str, namespace: str) -> None:
    engine = Engine(kubeconfig, hook_timeout=8.0)
    manifests = [
        source_object(configmap(namespace, "web-config"), "web", ("broken",)),
        source_object(deployment(namespace, "broken", image="icr.io/fail/db:1"), "broken"),
        source_object(configmap(namespace, "own"), None),
    ]
    _, result, order, _ = engine.apply(manifests)
    assert [k.name for k in order] == ["own", "broken"]
    ((key, why),) = result.failed
    assert key.name == "web-config"
    assert why.startswith(
        "not applied: HelmChart web depends on HelmChart broken, which is not healthy after 8s: "
        f"Deployment.apps {namespace}/broken"
    ), why


def test_objects_helm_installed_are_adopted_in_place(
    kubeconfig: str, api_client: object, namespace: str, tmp_path: Path
) -> None:
    chart, crd = hooked_chart(tmp_path)
    helm_install(chart, "moved", namespace, kubeconfig, tmp_path / "helmhome")
    core, apps = client.CoreV1Api(api_client), client.AppsV1Api(api_client)
    secret = core.read_namespaced_secret("sh.helm.release.v1.moved.v1", namespace)
    uids = {
        "deploy": apps.read_namespaced_deployment("moved", namespace).metadata.uid,
        "cm": core.read_namespaced_config_map("moved-settings", namespace).metadata.uid,
    }

    engine = Engine(kubeconfig)
    plan, result, _, _ = engine.apply(render_chart(tmp_path, "moved", namespace))
    assert result.ok, result.failed
    assert not plan.has_errors, plan.summary()
    adopted = change_named(plan, "Deployment", "moved")
    assert adopted.action == Action.UPDATE
    assert adopted.reason.startswith(f"adopted from Helm release {namespace}/moved: razee takes its fields over"), (
        adopted.reason
    )
    assert "sh.helm.release.v1.moved.v*" in adopted.reason
    live = apps.read_namespaced_deployment("moved", namespace)
    assert live.metadata.uid == uids["deploy"]
    assert live.metadata.labels["razee.io/inventory"] == engine.spoke
    assert "razee" in {m.manager for m in live.metadata.managed_fields}
    assert core.read_namespaced_config_map("moved-settings", namespace).metadata.uid == uids["cm"]
    assert _exists(client.ApiextensionsV1Api(api_client).read_custom_resource_definition, crd)
    again = core.read_namespaced_secret("sh.helm.release.v1.moved.v1", namespace)
    assert again.metadata.resource_version == secret.metadata.resource_version  # the release record, untouched
    # adopted, then nothing left to do: no conflicts, no drift
    second = engine.diff(render_chart(tmp_path, "moved", namespace))
    assert not second.has_changes and not second.has_errors, json.dumps(second.to_json())[:2000]


def test_a_hook_created_again_is_checked_by_the_server_first(
    kubeconfig: str, api_client: object, namespace: str
) -> None:
    engine = Engine(kubeconfig)

    def manifests(label: str) -> list[Manifest]:
        hook = configmap(namespace, "seed", {"label": label})
        hook["metadata"]["annotations"] = {"helm.sh/hook": "pre-install,pre-upgrade"}
        hook["metadata"]["labels"] = {"stage": label}
        return [source_object(hook, "seeded"), source_object(configmap(namespace, "seeded-app"), "seeded")]

    _, result, _, _ = engine.apply(manifests("one"))
    assert result.ok, result.failed
    core = client.CoreV1Api(api_client)
    uid = core.read_namespaced_config_map("seed", namespace).metadata.uid
    plan = engine.diff(manifests("not a valid label!"))
    seed = change_named(plan, "ConfigMap", "seed")
    assert seed.action == Action.ERROR and "metadata.labels: Invalid value" in seed.reason, seed.reason
    with pytest.raises(PlanNotApplicable):
        engine.apply(manifests("not a valid label!"))
    assert core.read_namespaced_config_map("seed", namespace).metadata.uid == uid  # nothing was deleted
    assert change_named(engine.diff(manifests("two")), "ConfigMap", "seed").action == Action.RECREATE


def test_fields_helm_set_otherwise_are_conflicts_taken_over_by_the_agent(
    kubeconfig: str, api_client: object, namespace: str, tmp_path: Path
) -> None:
    chart, _ = hooked_chart(tmp_path)
    helm_install(chart, "other", namespace, kubeconfig, tmp_path / "helmhome", {"version": "0"})
    core = client.CoreV1Api(api_client)
    uid = core.read_namespaced_config_map("other-settings", namespace).metadata.uid
    manifests = render_chart(tmp_path, "other", namespace, {"version": "1"})

    refused = change_named(Engine(kubeconfig).diff(manifests), "ConfigMap", "other-settings")
    assert refused.action == Action.CONFLICT and any("helm" in c for c in refused.conflicts), refused.conflicts
    plan, result, _, _ = Engine(kubeconfig, conflicts="takeover").apply(manifests)
    assert result.ok, result.failed
    taken = change_named(plan, "ConfigMap", "other-settings")
    assert {"path": ".data.version", "manager": "helm"} in taken.takeovers, taken.takeovers
    live = core.read_namespaced_config_map("other-settings", namespace)
    assert live.metadata.uid == uid and live.data == {"version": "1"}
