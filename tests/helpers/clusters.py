"""Customer clusters and sources as an agent reports them (razee/agent/clusters.py), for the hub's tests and the
clusters benchmark."""

from __future__ import annotations

from typing import Any


def cluster(
    name: str, version: str = "1.31.4", drifted: int = 0, failed: int = 0, observed: int = 3, pending: int = 0
) -> dict[str, Any]:
    keys = [
        {"group": "", "kind": "ConfigMap", "namespace": f"master-{name}", "name": f"cm{i}", "status": "drifted"}
        for i in range(drifted)
    ]
    return {
        "name": name,
        "version": version,
        "observedVersion": version,
        "infrastructure": True,
        "pending": pending,
        "master": {"synced": 10, "drifted": drifted, "failed": failed, "outOfSync": keys[:20]},
        "pools": [
            {
                "name": "default",
                "flavor": "b3c.4x16",
                "zones": ["dal10", "dal12", "dal13"],
                "desired": 3,
                "observed": observed,
                "ready": observed,
            }
        ],
    }


def chart(name: str, version: str, where: str | None) -> dict[str, Any]:
    return {
        "name": "ingress",
        "kind": "HelmChart",
        "chart": name,
        "version": version,
        "digest": f"sha256:{version.replace('.', '')}",
        "cluster": where,
    }
