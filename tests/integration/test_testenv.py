"""The test environment is a real Kubernetes API server, not a fake."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from kubernetes import client, config, dynamic

from tests.helpers.versions import tool_versions


def test_server_side_apply_records_managed_fields(api_client: client.ApiClient, namespace: str) -> None:
    dyn = dynamic.DynamicClient(api_client)
    cms = dyn.resources.get(api_version="v1", kind="ConfigMap")
    body = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "probe", "namespace": namespace},
        "data": {"k": "v"},
    }
    cms.server_side_apply(body=body, name="probe", namespace=namespace, field_manager="razee-tests")
    live = cms.get(name="probe", namespace=namespace).to_dict()
    managers = {(m["manager"], m["operation"]) for m in live["metadata"]["managedFields"]}
    assert ("razee-tests", "Apply") in managers
    owned = next(m for m in live["metadata"]["managedFields"] if m["manager"] == "razee-tests")
    assert "f:k" in owned["fieldsV1"]["f:data"]
    assert live["data"] == {"k": "v"}


def test_extra_clusters_are_isolated(cluster_factory: Callable[[str], str], namespace: str) -> None:
    other = config.new_client_from_config(config_file=cluster_factory("isolation-probe"))
    try:
        names = {n.metadata.name for n in client.CoreV1Api(other).list_namespace().items}
    finally:
        other.close()
    assert "default" in names
    assert namespace not in names  # the namespace exists only in the session cluster


def test_the_server_and_kubectl_are_the_version_asked_for(kubeconfig: str, tmp_path: Path) -> None:
    """`RAZEE_KUBE_VERSION` (current by default, oldest in CI's second run) picks the server; the kubectl on the
    tests' PATH is the same release."""
    import json
    import os
    import subprocess

    wanted = os.environ.get("RAZEE_KUBE_VERSION", "current")
    versions = tool_versions()
    expected = {"current": versions["KUBE_VERSION"], "oldest": versions["KUBE_OLDEST"]}.get(wanted, wanted)
    out = subprocess.run(
        ["kubectl", "--kubeconfig", kubeconfig, "--cache-dir", str(tmp_path), "version", "-o", "json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    versions = json.loads(out.stdout)
    assert versions["serverVersion"]["gitVersion"] == f"v{expected}"
    assert versions["clientVersion"]["gitVersion"] == f"v{expected}"


def test_kwok_runs_pods_and_crash_loops_images_under_icr_io_fail(api_client: client.ApiClient, namespace: str) -> None:
    """The cluster's scheduler places pods on the kwok node; kwok plays their kubelet (scripts/kwok/stages.yaml)."""
    import time

    apps, core = client.AppsV1Api(api_client), client.CoreV1Api(api_client)
    for name, image in (("good", "icr.io/web:1"), ("bad", "icr.io/fail/web:1")):
        apps.create_namespaced_deployment(
            namespace,
            {  # type: ignore[arg-type]
                "metadata": {"name": name},
                "spec": {
                    "replicas": 2,
                    "selector": {"matchLabels": {"app": name}},
                    "template": {
                        "metadata": {"labels": {"app": name}},
                        "spec": {"containers": [{"name": "c", "image": image}]},
                    },
                },
            },
        )
    deadline = time.monotonic() + 180  # generous: a busy 2-core machine
    while True:
        good = apps.read_namespaced_deployment("good", namespace).status
        pods = core.list_namespaced_pod(namespace, label_selector="app=bad").items
        waiting = [
            c.state.waiting.reason
            for p in pods
            for c in (p.status.container_statuses or [])
            if c.state and c.state.waiting
        ]
        if good.available_replicas == 2 and waiting == ["CrashLoopBackOff"] * 2:
            break
        assert time.monotonic() < deadline, (good, waiting)
        time.sleep(0.5)
    assert {p.spec.node_name for p in core.list_namespaced_pod(namespace).items} == {"kwok-node"}
    assert not apps.read_namespaced_deployment("bad", namespace).status.available_replicas
