"""Aggregated discovery (apidiscovery.k8s.io/v2): parsed into the same answers as the per-group-version documents,
stale versions left to be asked directly, and a server without it answered through the old path (a unit-test
fake; tests/integration/test_discovery.py compares both paths on the real server)."""

from __future__ import annotations

from typing import Any

from razee.kube.discovery import Discovery, Resource, parse_aggregated

APIS = {
    "kind": "APIGroupDiscoveryList",
    "items": [
        {
            "metadata": {"name": "apps"},
            "versions": [
                {
                    "version": "v1",
                    "resources": [
                        {
                            "resource": "deployments",
                            "responseKind": {"group": "apps", "version": "v1", "kind": "Deployment"},
                            "scope": "Namespaced",
                            "verbs": ["get", "list", "watch"],
                        }
                    ],
                }
            ],
        },
        {
            "metadata": {"name": "metrics.k8s.io"},
            "versions": [{"version": "v1beta1", "freshness": "Stale", "resources": []}],
        },
        {
            "metadata": {"name": "example.com"},
            "versions": [
                {
                    "version": "v2",
                    "resources": [
                        {
                            "resource": "widgets",
                            "responseKind": {"group": "example.com", "version": "v2", "kind": "Widget"},
                            "scope": "Cluster",
                            "verbs": ["get"],
                        }
                    ],
                },
                {"version": "v1", "resources": []},
            ],
        },
    ],
}
CORE = {
    "kind": "APIGroupDiscoveryList",
    "items": [
        {
            "metadata": {"name": ""},
            "versions": [
                {
                    "version": "v1",
                    "resources": [
                        {
                            "resource": "configmaps",
                            "responseKind": {"group": "", "version": "v1", "kind": "ConfigMap"},
                            "scope": "Namespaced",
                            "verbs": ["list"],
                        }
                    ],
                }
            ],
        }
    ],
}


def test_aggregated_documents_give_resources_and_preferred_versions() -> None:
    found, preferred = parse_aggregated([CORE, APIS])
    assert found["apps/v1"]["Deployment"] == Resource("apps", "v1", "Deployment", "deployments", True, True)
    assert found["v1"]["ConfigMap"].plural == "configmaps"
    assert found["example.com/v2"]["Widget"] == Resource("example.com", "v2", "Widget", "widgets", False, False)
    assert "metrics.k8s.io/v1beta1" not in found  # stale: asked for directly when needed
    assert preferred == ["v1", "apps/v1", "metrics.k8s.io/v1beta1", "example.com/v2"]


class _Server:
    """Answers discovery like an apiserver with or without aggregated discovery, counting requests."""

    def __init__(self, aggregated: bool) -> None:
        self.aggregated = aggregated
        self.requests: list[str] = []

    def request(self, verb: str, method: str, path: str, *args: Any, accept: str = "", **kw: Any) -> Any:
        self.requests.append(path)
        if path in ("/api", "/apis"):
            if self.aggregated and "apidiscovery.k8s.io" in accept:
                return CORE if path == "/api" else APIS
            return {"kind": "APIVersions", "versions": ["v1"]} if path == "/api" else {"kind": "APIGroupList"}
        gv = path.removeprefix("/apis/").removeprefix("/api/")
        docs = {"v1": CORE["items"][0], "apps/v1": APIS["items"][0], "example.com/v2": APIS["items"][2]}
        res = docs[gv]["versions"][0]["resources"]
        return {
            "resources": [
                {
                    "name": r["resource"],
                    "kind": r["responseKind"]["kind"],
                    "namespaced": r["scope"] == "Namespaced",
                    "verbs": r["verbs"],
                }
                for r in res
            ]
        }


def test_a_pass_needing_many_group_versions_asks_twice_when_the_server_aggregates() -> None:
    server = _Server(aggregated=True)
    discovery = Discovery(server)  # type: ignore[arg-type]
    discovery.prefetch(["v1", "apps/v1", "example.com/v2"])
    assert sorted(server.requests) == ["/api", "/apis"]
    assert discovery.resource("apps/v1", "Deployment").plural == "deployments"
    assert len(server.requests) == 2


def test_a_server_without_aggregation_is_asked_per_group_version_with_the_same_answers() -> None:
    plain, aggregated = _Server(aggregated=False), _Server(aggregated=True)
    d_plain, d_agg = Discovery(plain), Discovery(aggregated)  # type: ignore[arg-type]
    wanted = ["v1", "apps/v1", "example.com/v2"]
    d_plain.prefetch(wanted)
    d_agg.prefetch(wanted)
    assert sorted(plain.requests) == ["/api", "/api/v1", "/apis", "/apis/apps/v1", "/apis/example.com/v2"]
    for api_version, kind in (("v1", "ConfigMap"), ("apps/v1", "Deployment"), ("example.com/v2", "Widget")):
        assert d_plain.resource(api_version, kind) == d_agg.resource(api_version, kind)
    d_plain.prefetch(["apps/v1", "policy/v1", "batch/v1", "x.io/v1"][:1])
    assert len(plain.requests) == 5  # known: nothing asked again, and the old path is not retried each pass
