"""Rendered Kubernetes objects that remember where they came from."""

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

    def location(self, field: str | None = None) -> Location:
        return Location(self.template, self.line, field)

    def __str__(self) -> str:
        item = f" item {self.item}" if self.item is not None else ""
        where = f"{self.template} document {self.document}{item} (rendered line {self.line})"
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
