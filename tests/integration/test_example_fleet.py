"""The built-in example fleet against real kube-apiservers."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from razee.kube.client import Kube, load_api_client
from razee.kube.discovery import Discovery, Resource, UnknownKind
from razee.kube.ssa import server_side_apply
from razee.reconcile.load import Selection, render
from razee.source.local import BUILTIN_FLEET
from tests.conftest import run_razee


def test_every_rendered_object_of_every_spoke_is_accepted(cluster_factory: Callable[[str], str]) -> None:
    kube = Kube(load_api_client(cluster_factory("example-dryrun"), None))
    try:
        discovery = Discovery(kube)
        _, renders = render(BUILTIN_FLEET, Selection())  # sources expanded (the chart), through the policy gate
        manifests = [m for r in renders for m in r.manifests]
        assert len(manifests) > 500
        from_chart = [m for m in manifests if m.source.origin is not None]
        assert {m.kind for m in from_chart} >= {"Deployment", "Service", "ServiceAccount"}
        assert all({s.name for s in r.sources} == {"armada-metrics", "armada-dashboards"} for r in renders)
        assert any(m.source.origin and m.source.origin.kind == "Kustomization" for m in from_chart)
        first = [m for m in manifests if m.kind in ("Namespace", "CustomResourceDefinition")]
        for m in first:  # namespaces and CRDs for real, so namespaced objects and custom resources can be checked
            res = discovery.resource(m.api_version, m.kind)
            server_side_apply(kube, res, m.obj, dry_run=False, force=False)
        rejected = []
        for m in manifests:
            if m in first:
                continue
            res = _served(discovery, m.api_version, m.kind)
            try:
                server_side_apply(kube, res, m.obj, dry_run=True, force=False)
            except Exception as e:  # collect every rejection, not just the first
                rejected.append(f"{m.key} from {m.source}: {e}")
        assert rejected == []
    finally:
        kube.close()


def _served(discovery: Discovery, api_version: str, kind: str) -> Resource:
    """The resource once the apiserver serves it (a new CRD takes a moment)."""
    deadline = time.monotonic() + 30
    while True:
        try:
            return discovery.resource(api_version, kind)
        except UnknownKind:
            if time.monotonic() > deadline:
                raise
            discovery.forget(api_version)
            time.sleep(0.2)


def test_example_spoke_applies_cleanly_becomes_healthy_and_then_has_no_diff(
    cluster_factory: Callable[[str], str], tmp_path: Path
) -> None:
    cloud = ["--infra-db", str(tmp_path / "cloud.sqlite")]
    kubeconfig = cluster_factory("example-apply")
    # pods become Ready through the cluster's kwok
    first = run_razee(
        "apply",
        "--spoke",
        "us-south-spoke-1",
        "--kubeconfig",
        kubeconfig,
        "-q",
        "--wait",
        "--timeout",
        "120",
        *cloud,
        cwd=Path("/"),
        env={"RAZEE_LOCAL_CLOUD_DELAY": "0"},
    )
    assert first.returncode == 0, first.stderr
    assert "failed 0" in first.stderr
    again = run_razee(
        "diff",
        "--spoke",
        "us-south-spoke-1",
        "--kubeconfig",
        kubeconfig,
        *cloud,
        cwd=Path("/"),
        env={"RAZEE_LOCAL_CLOUD_DELAY": "0"},
    )
    assert again.returncode == 0, again.stdout[-3000:]
    assert "0 to create, 0 to update, 0 to prune" in again.stdout
    assert "infrastructure (local): no changes" in again.stdout
