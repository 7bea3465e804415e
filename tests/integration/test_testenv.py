"""The test environment is a real Kubernetes API server, not a fake."""

from __future__ import annotations

from collections.abc import Callable

from kubernetes import client, config, dynamic


def test_server_side_apply_records_managed_fields(api_client: client.ApiClient, namespace: str) -> None:
    dyn = dynamic.DynamicClient(api_client)
    cms = dyn.resources.get(api_version="v1", kind="ConfigMap")
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "probe", "namespace": namespace},
            "data": {"k": "v"}}
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
