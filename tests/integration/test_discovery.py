"""Aggregated discovery against the real apiserver: two requests for every group-version, and the same answers as
the per-group-version documents the old path reads."""

from __future__ import annotations

from razee.kube.client import Kube
from razee.kube.connection import connect
from razee.kube.discovery import Discovery

WANTED = [
    "v1",
    "apps/v1",
    "rbac.authorization.k8s.io/v1",
    "networking.k8s.io/v1",
    "apiextensions.k8s.io/v1",
    "events.k8s.io/v1",
    "policy/v1",
    "batch/v1",
]


def test_aggregated_discovery_answers_every_group_version_in_two_requests(kubeconfig: str) -> None:
    kube, plain_kube = Kube(connect(kubeconfig, None)), Kube(connect(kubeconfig, None))
    try:
        aggregated, plain = Discovery(kube), Discovery(plain_kube)
        plain._aggregated = False  # the path for servers without aggregated discovery
        aggregated.prefetch(WANTED)
        assert kube.counter.total == 2
        plain.prefetch(WANTED)
        assert plain_kube.counter.total == len(WANTED)
        for api_version in WANTED:
            assert {r.kind: r for r in aggregated.resources(api_version)} == {
                r.kind: r for r in plain.resources(api_version)
            }, api_version
        assert aggregated.resource("events.k8s.io/v1", "Event").plural == "events"
        assert aggregated.preferred_versions()[0] == "v1"
    finally:
        kube.close()
        plain_kube.close()
