"""Expanded sources for the engine's tests: a chart rendered by the real expander into Manifests with an Origin (as
the pass's expansion step makes them), hand-made source objects, and a one-spoke engine that plans and applies them
against a real apiserver without a fleet repo."""

from __future__ import annotations

import secrets
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from razee.kube.applier import ApplyResult, apply_plan
from razee.kube.client import Kube, load_api_client
from razee.kube.discovery import Discovery
from razee.kube.planner import PlanOptions, PlanState, plan_changes
from razee.kube.ssa import ConflictPolicy
from razee.objects import Manifest, ObjectKey, Origin, Provenance
from razee.plan.model import Change, Plan
from razee.sources.helm import HelmExpander
from tests.helpers.charts import CHARTS, context, declaration, helm

TEMPLATE = "templates/spoke/sources.yaml.j2"


def hooked_chart(root: Path) -> tuple[Path, str]:
    """A copy of tests/data/charts/hooked under `root`/charts whose CRD has a group of its own (CRDs are
    cluster-scoped, and the test cluster outlives a test). Returns the chart and the CRD's name."""
    dest = root / "charts" / "hooked"
    shutil.copytree(CHARTS / "hooked", dest)
    group = f"h{secrets.token_hex(4)}.example.com"
    crd = dest / "crds" / "gizmos.yaml"
    crd.write_text(crd.read_text().replace("hooked.example.com", group))
    return dest, f"gizmos.{group}"


def render_chart(
    root: Path, release: str, namespace: str, values: dict[str, Any] | None = None, depends_on: tuple[str, ...] = ()
) -> list[Manifest]:
    """The chart at `root`/charts/hooked, expanded by razee's HelmExpander, as the pass's Manifests."""
    ctx = context(root / ".cache", repo=root)
    decl = declaration({"path": "charts/hooked", "values": values or {}}, name=release, namespace=namespace)
    expansion = HelmExpander().expand(decl, ctx)
    return [
        Manifest(obj, Provenance(TEMPLATE, 1, 3, origin=Origin("HelmChart", release, file, depends_on)))
        for obj, file in expansion.objects
    ]


def source_object(
    obj: dict[str, Any], source: str | None, depends_on: tuple[str, ...] = (), file: str = "templates/x.yaml"
) -> Manifest:
    """A hand-made object of source `source` (None: the template's own object)."""
    origin = Origin("HelmChart", source, file, depends_on) if source else None
    return Manifest(obj, Provenance(TEMPLATE, 1, 1, origin=origin))


def deployment(namespace: str, name: str, image: str = "registry.example.com/app:1") -> dict[str, Any]:
    labels = {"app.kubernetes.io/instance": name}
    container = {
        "name": "app",
        "image": image,
        "resources": {"limits": {"cpu": "100m", "memory": "64Mi"}, "requests": {"cpu": "100m", "memory": "64Mi"}},
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}},
        },
    }


def configmap(namespace: str, name: str, data: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace},
        "data": data or {"k": "v"},
    }


@dataclass
class Engine:
    """One spoke (a fresh name) planning and applying Manifests against the cluster of `kubeconfig`."""

    kubeconfig: str
    spoke: str = field(default_factory=lambda: f"s-{secrets.token_hex(4)}")
    hook_timeout: float = 120.0
    conflicts: ConflictPolicy = "refuse"

    def options(self) -> PlanOptions:
        return PlanOptions(self.spoke, hook_timeout=self.hook_timeout, prune_timeout=60.0, conflicts=self.conflicts)

    def plan(self, manifests: Sequence[Manifest]) -> tuple[Plan, PlanState, Kube, Discovery]:
        kube = Kube(load_api_client(self.kubeconfig, None))
        discovery = Discovery(kube)
        plan, state = plan_changes(kube, discovery, manifests, self.options())
        return plan, state, kube, discovery

    def diff(self, manifests: Sequence[Manifest]) -> Plan:
        plan, _, kube, _ = self.plan(manifests)
        kube.close()
        return plan

    def apply(self, manifests: Sequence[Manifest]) -> tuple[Plan, ApplyResult, list[ObjectKey], int]:
        """The plan, the result, the objects in the order they were written, and the writes the apply made."""
        plan, state, kube, discovery = self.plan(manifests)
        order: list[ObjectKey] = []

        def progress(change: Change, error: str | None) -> None:
            if error is None:
                order.append(change.key)

        try:
            before = kube.counter.writes
            result = apply_plan(kube, discovery, plan, state, self.options(), progress)
            return plan, result, order, kube.counter.writes - before
        finally:
            kube.close()


def helm_install(
    chart: Path, release: str, namespace: str, kubeconfig: str, home: Path, values: dict[str, str] | None = None
) -> None:
    """A real `helm install --wait` of `chart` (helm's state under `home`, never the user's)."""
    helm_bin = helm()
    env = {
        "PATH": str(Path(helm_bin).parent) + ":/usr/bin:/bin",
        "HOME": str(home),
        "HELM_CACHE_HOME": str(home / "c"),
        "HELM_CONFIG_HOME": str(home / "g"),
        "HELM_DATA_HOME": str(home / "d"),
    }
    sets = [arg for k, v in (values or {}).items() for arg in ("--set-string", f"{k}={v}")]
    proc = subprocess.run(
        [
            helm_bin,
            "install",
            release,
            str(chart),
            "--namespace",
            namespace,
            "--kubeconfig",
            kubeconfig,
            "--wait",
            "--timeout",
            "240s",
            *sets,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr


def change_named(plan: Plan, kind: str, name: str) -> Change:
    return next(c for c in plan.changes if c.key.kind == kind and c.key.name == name)
