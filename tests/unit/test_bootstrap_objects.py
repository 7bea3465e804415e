"""Which rendered objects bootstrap applies, and how it finds the agent's workload and credentials Secret."""

from __future__ import annotations

from typing import Any

import pytest

from razee.bootstrap.agent_objects import agent_objects, find_workload
from razee.errors import UsageError
from razee.objects import Manifest, Provenance


def manifest(kind: str, name: str, namespace: str | None = None, api: str = "v1", **spec: Any) -> Manifest:
    meta: dict[str, Any] = {"name": name, **({"namespace": namespace} if namespace else {})}
    return Manifest({"apiVersion": api, "kind": kind, "metadata": meta, **spec}, Provenance("t.yaml.j2", 1, 1))


def workload(
    kind: str = "StatefulSet",
    args: list[str] | None = None,
    secrets: tuple[str, ...] = ("creds",),
    env_secret: str | None = None,
) -> Manifest:
    container: dict[str, Any] = {
        "name": "agent",
        "image": "i",
        "args": args or ["agent", "--spoke", "s", "--hub", "https://hub"],
    }
    if env_secret:
        container["env"] = [{"name": "X", "valueFrom": {"secretKeyRef": {"name": env_secret, "key": "k"}}}]
    pod = {
        "containers": [container],
        "volumes": [{"name": f"v{i}", "secret": {"secretName": s}} for i, s in enumerate(secrets)],
    }
    return manifest(kind, "razee-agent", "razee-system", "apps/v1", spec={"template": {"spec": pod}})


def test_only_the_agents_own_objects_are_selected() -> None:
    mine = [
        manifest("Namespace", "razee-system"),
        manifest("ClusterRole", "razee-agent", api="rbac/v1"),
        manifest("ConfigMap", "x", "razee-system"),
        workload(),
    ]
    others = [
        manifest("Namespace", "armada"),
        manifest("ClusterRole", "view", api="rbac/v1"),
        manifest("ConfigMap", "razee-agent", "armada"),
    ]
    assert agent_objects([*others, *mine]) == tuple(mine)


def test_the_workload_its_secret_and_arguments() -> None:
    found = find_workload([manifest("ConfigMap", "x", "razee-system"), workload(env_secret="creds")], "s")
    assert found.secret == "creds"
    assert found.arg("--hub") == "https://hub" and found.arg("--repo") is None
    assert find_workload([workload("Deployment", args=["agent", "--hub=https://h2"])], "s").arg("--hub") == "https://h2"


@pytest.mark.parametrize(
    ("objects", "message"),
    [
        ([], "renders no razee agent"),
        ([workload(args=["hub", "serve"])], "renders no razee agent"),
        ([workload(secrets=())], "reads none"),
        ([workload(secrets=("a",), env_secret="b")], "reads a, b"),
    ],
)
def test_a_fleet_bootstrap_cannot_wire_is_refused(objects: list[Manifest], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        find_workload(objects, "s")
