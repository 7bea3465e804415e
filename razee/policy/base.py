"""What a policy rule is, and what it reports."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from razee.errors import Finding
from razee.fleet.fleet import Fleet, SpokeView
from razee.fleet.model import RuleSettings
from razee.objects import Manifest


@dataclass(frozen=True)
class Violation:
    rule: str
    manifest: Manifest
    field: str | None
    message: str

    def finding(self) -> Finding:
        loc = self.manifest.source.location(self.field)
        cluster = f" (cluster {self.manifest.source.cluster})" if self.manifest.source.cluster else ""
        origin = self.manifest.source.origin  # expanded from a source: the chain, template -> source -> its file
        via = f" from {origin}" if origin is not None else ""
        return Finding(loc, f"[{self.rule}] {self.manifest.key}{via}{cluster}: {self.message}")


@dataclass(frozen=True)
class RuleContext:
    fleet: Fleet
    view: SpokeView
    manifests: tuple[Manifest, ...]
    settings: RuleSettings
    shared: dict[str, Any] = field(default_factory=dict)
    """Work the rules of one render share (e.g. the pods and their Pod Security level), computed once."""

    @property
    def options(self) -> Mapping[str, Any]:
        return self.settings.options


class OptionsError(ValueError):
    """A rule's `options` in fleet.yaml are malformed; reported at policies.rules.<name>.options."""


class Rule(Protocol):
    name: str
    description: str

    def check(self, ctx: RuleContext) -> Iterable[Violation]: ...


def exempt(manifest: Manifest, patterns: Iterable[str]) -> bool:
    key = manifest.key
    ref = f"{key.kind}/{key.namespace}/{key.name}" if key.namespace else f"{key.kind}/{key.name}"
    return any(fnmatch.fnmatchcase(ref, p) for p in patterns)


POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}


def pod_metadata(manifest: Manifest) -> dict[str, Any]:
    """The metadata of the pods a workload makes (the Pod's own for a Pod); empty when absent."""
    path = POD_SPEC_PATHS.get(manifest.kind)
    if path is None:
        return {}
    node: Any = manifest.obj
    for part in (*path[:-1], "metadata"):
        node = node.get(part) if isinstance(node, dict) else None
    return node if isinstance(node, dict) else {}


def pod_spec(manifest: Manifest) -> tuple[str, dict[str, Any]] | None:
    """The pod spec inside a workload, and its field path, or None for other kinds."""
    path = POD_SPEC_PATHS.get(manifest.kind)
    if path is None:
        return None
    node: Any = manifest.obj
    for part in path:
        node = node.get(part) if isinstance(node, dict) else None
    return (".".join(path), node) if isinstance(node, dict) else None


def containers(manifest: Manifest) -> Iterator[tuple[str, dict[str, Any]]]:
    found = pod_spec(manifest)
    if found is None:
        return
    base, spec = found
    for group in ("initContainers", "containers", "ephemeralContainers"):
        for i, c in enumerate(spec.get(group) or []):
            if isinstance(c, dict):
                yield f"{base}.{group}[{i}]", c


@dataclass(frozen=True)
class PodTemplate:
    """A pod-bearing object's pod spec with its path, and its containers (init and ephemeral ones included)."""

    manifest: Manifest
    base: str
    spec: dict[str, Any]
    containers: tuple[tuple[str, dict[str, Any]], ...]


def pod_templates(ctx: RuleContext) -> list[PodTemplate]:
    """Every pod template of the render, found once and shared by the rules (most objects have none)."""
    cached = ctx.shared.get("pod-templates")
    if cached is None:
        cached = []
        for m in ctx.manifests:
            found = pod_spec(m) if m.obj.get("kind") in POD_SPEC_PATHS else None
            if found is not None:
                cached.append(PodTemplate(m, found[0], found[1], tuple(containers(m))))
        ctx.shared["pod-templates"] = cached
    return cached
