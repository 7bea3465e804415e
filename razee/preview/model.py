"""The preview of a change to the fleet repo: per spoke, objects and infrastructure that change, and a summary."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from razee.objects import ObjectKey, Provenance


@dataclass
class ObjectChange:
    key: ObjectKey
    action: str  # added | changed | removed
    source: Provenance | None
    paths: list[str] = field(default_factory=list)  # changed field paths (JSON pointers)
    diff: str = ""  # unified diff of the desired YAML, Secret values masked

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": self.key.kind,
            "group": self.key.group,
            "namespace": self.key.namespace or None,
            "name": self.key.name,
            "action": self.action,
        }
        if self.source:
            out["source"] = {
                "template": self.source.template,
                "document": self.source.document,
                "cluster": self.source.cluster,
            }
            if self.source.origin is not None:
                o = self.source.origin
                out["source"]["origin"] = {"kind": o.kind, "name": o.name, "file": o.file}
        if self.paths:
            out["paths"] = self.paths
        if self.diff:
            out["diff"] = self.diff
        return out


@dataclass
class InfraDelta:
    cluster: str
    action: str  # added | removed | moved-in | moved-out | changed
    details: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"cluster": self.cluster, "action": self.action, "details": self.details}


@dataclass
class SpokePreview:
    spoke: str
    region: str
    rendered: bool  # False when its inputs were unchanged, so it was not rendered at all
    objects: list[ObjectChange] = field(default_factory=list)
    infra: list[InfraDelta] = field(default_factory=list)
    status: str = "unchanged"  # unchanged | changed | added | removed
    notes: list[str] = field(default_factory=list)  # what expanding sources offline wants said (razee.sources)

    @property
    def changed(self) -> bool:
        return bool(self.objects or self.infra) or self.status in ("added", "removed")

    def to_json(self) -> dict[str, Any]:
        out = {
            "spoke": self.spoke,
            "region": self.region,
            "status": self.status,
            "rendered": self.rendered,
            "objects": [o.to_json() for o in self.objects],
            "infrastructure": [i.to_json() for i in self.infra],
        }
        if self.notes:
            out["notes"] = list(self.notes)
        return out


@dataclass
class Preview:
    old: str
    new: str
    spokes: list[SpokePreview]

    def changed_spokes(self) -> list[SpokePreview]:
        return [s for s in self.spokes if s.changed]

    @property
    def has_changes(self) -> bool:
        return any(s.changed for s in self.spokes)

    def summary(self) -> dict[str, Any]:
        changed = self.changed_spokes()
        objects = [o for s in changed for o in s.objects]
        clusters = {d.cluster for s in changed for d in s.infra}
        by_region: Counter[str] = Counter()
        for s in changed:
            by_region[s.region] += len(s.objects)
        by_kind = Counter(o.key.kind for o in objects)
        by_action = Counter(o.action for o in objects)
        return {
            "regions": len({s.region for s in changed}),
            "spokes": len(changed),
            "clusters": len(clusters),
            "objects": len(objects),
            "objectsByAction": dict(sorted(by_action.items())),
            "objectsByRegion": dict(sorted(by_region.items())),
            "objectsByKind": dict(sorted(by_kind.items())),
            "spokesRendered": sum(1 for s in self.spokes if s.rendered),
            "spokesTotal": len(self.spokes),
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "from": self.old,
            "to": self.new,
            "summary": self.summary(),
            "spokes": [s.to_json() for s in self.changed_spokes()],
        }
