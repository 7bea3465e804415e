"""The vocabulary every layer shares: what a cluster object is called, and a rendered object with its origin.

It sits below render, policy, plan and kube alike, so that the engine (razee.kube) can name an object without
depending on the renderer, and the policy gate and the planner speak of the same Manifest.

Some kinds are served under several API groups: one object in etcd, reachable by either name. Declared twice under
two of these groups, one object would be applied twice per pass, once as each, and flap between the two
declarations for ever; moved from one group to the other, it must be updated, never pruned. Both the render's
duplicate check and pruning (razee.kube.ownership) therefore treat these keys as one object (`aliases`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from razee.errors import Location


class ObjectKey(NamedTuple):
    """Identity of an object in a cluster: API group (not version), kind, namespace ('' if none), name."""

    group: str
    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        kind = f"{self.kind}.{self.group}" if self.group else self.kind
        return f"{kind} {self.namespace}/{self.name}" if self.namespace else f"{kind} {self.name}"


@dataclass(frozen=True)
class Origin:
    """The source (HelmChart, Kustomization, RemoteManifests) a manifest was expanded from, and its own file.

    Provenance is a chain: the razee template that declared the source (`Provenance.template`), the source's name,
    and the file inside it (a chart's `templates/deployment.yaml`, a kustomization's path, a URL). Errors, policy
    findings and diffs name all three. `depends_on` is the source's `dependsOn`: the engine applies a source once
    the ones it names are applied and healthy.
    """

    kind: str
    name: str
    file: str | None = None
    depends_on: tuple[str, ...] = ()

    def __str__(self) -> str:
        inside = f", {self.file}" if self.file else ""
        return f"{self.kind} {self.name}{inside}"


@dataclass(frozen=True)
class SourceInfo:
    """One expanded source as a report carries it to the hub: what runs where (never values or credentials)."""

    name: str
    kind: str
    chart: str | None = None
    version: str | None = None
    digest: str | None = None
    cluster: str | None = None  # the customer cluster a cluster-scoped template declared it for

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "chart": self.chart,
            "version": self.version,
            "digest": self.digest,
            "cluster": self.cluster,
        }


@dataclass(frozen=True)
class Provenance:
    """The template, document and line a manifest was rendered from, and for which cluster (if any).

    `line` is the document's first line in the template's rendered output. It equals the template line while the
    template has no loops or multi-line expressions above it; after a loop it no longer does, so people are shown
    the document number too.
    """

    template: str
    document: int
    line: int
    cluster: str | None = None
    item: int | None = None  # the position in a `kind: List` document's items, from 1
    origin: Origin | None = None  # set when the manifest was expanded from a source

    def location(self, field: str | None = None) -> Location:
        return Location(self.template, self.line, field)

    def __str__(self) -> str:
        item = f" item {self.item}" if self.item is not None else ""
        where = f"{self.template} document {self.document}{item} (rendered line {self.line})"
        if self.origin is not None:
            where = f"{where} via {self.origin}"
        return f"{where} for cluster {self.cluster}" if self.cluster else where


@dataclass(frozen=True)
class Manifest:
    obj: dict[str, Any]
    source: Provenance

    @property
    def api_version(self) -> str:
        return str(self.obj["apiVersion"])

    @property
    def kind(self) -> str:
        return str(self.obj["kind"])

    @property
    def name(self) -> str:
        return str(self.obj["metadata"]["name"])

    @property
    def namespace(self) -> str:
        return str(self.obj["metadata"].get("namespace") or "")

    @property
    def key(self) -> ObjectKey:
        group = self.api_version.rpartition("/")[0]
        return ObjectKey(group, self.kind, self.namespace, self.name)


@dataclass(frozen=True)
class SpokeRender:
    """One spoke's rendered manifests (defined here so that printing a cached render needs no renderer)."""

    spoke: str
    region: str
    manifests: tuple[Manifest, ...]
    sources: tuple[SourceInfo, ...] = ()


GROUP_ALIASES: dict[str, frozenset[str]] = {
    "Ingress": frozenset({"extensions", "networking.k8s.io"}),
    "NetworkPolicy": frozenset({"extensions", "networking.k8s.io"}),
    "Deployment": frozenset({"extensions", "apps"}),
    "DaemonSet": frozenset({"extensions", "apps"}),
    "ReplicaSet": frozenset({"extensions", "apps"}),
    "PodSecurityPolicy": frozenset({"extensions", "policy"}),
    "Event": frozenset({"", "events.k8s.io"}),
}
"""Kind -> the groups that serve it as one object (Kubernetes' own moves between groups)."""


def aliases(key: ObjectKey) -> list[ObjectKey]:
    """The key itself and the same object under every other group that serves it."""
    groups = GROUP_ALIASES.get(key.kind)
    if groups is None or key.group not in groups:
        return [key]
    return [key, *(key._replace(group=g) for g in sorted(groups) if g != key.group)]


def canonical(key: ObjectKey) -> ObjectKey:
    """One key for all the names of an object (the alphabetically first group), for finding duplicates."""
    return min(aliases(key))
