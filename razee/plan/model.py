"""The plan: what a pass will change in one cluster, and why."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from razee.objects import ObjectKey, Provenance


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    RECREATE = "recreate"  # an immutable field changed and the object opts in to delete-and-create
    UNCHANGED = "unchanged"
    PRUNE = "prune"
    KEEP = "keep"  # left the desired set, but pruning is disabled for it
    TERMINATING = "terminating"  # being deleted (deletionTimestamp set); neither in sync nor gone
    CONFLICT = "conflict"
    ERROR = "error"


@dataclass
class Change:
    key: ObjectKey
    action: Action
    reason: str
    source: Provenance | None = None
    desired: dict[str, Any] | None = None
    before: dict[str, Any] | None = None  # live object, cleaned of server noise, secrets masked
    after: dict[str, Any] | None = None  # dry-run result, cleaned, secrets masked
    patch: list[dict[str, Any]] = field(default_factory=list)  # RFC 6902, before -> after
    drift: list[str] = field(default_factory=list)  # declared fields changed in the cluster (JSON pointers)
    conflicts: list[str] = field(default_factory=list)
    force: bool = False  # take fields back from managers that changed them imperatively (drift, not conflict)
    missing: bool = False  # razee managed it (it is in the inventory) and it is gone from the cluster: drift
    takeovers: list[dict[str, str]] = field(default_factory=list)  # {"path", "manager"} taken from another manager
    other_spoke: str = ""  # a conflict with another spoke that declares and owns the same object
    handover: dict[str, Any] | None = None  # applied first: fields razee leaves to others, at their live values

    @property
    def changes_cluster(self) -> bool:
        return self.action in (Action.CREATE, Action.UPDATE, Action.RECREATE, Action.PRUNE)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "object": {
                "group": self.key.group,
                "kind": self.key.kind,
                "namespace": self.key.namespace or None,
                "name": self.key.name,
            },
            "action": self.action.value,
            "reason": self.reason,
        }
        if self.source:
            out["source"] = {
                "template": self.source.template,
                "line": self.source.line,
                "document": self.source.document,
                "cluster": self.source.cluster,
            }
            if self.source.item is not None:
                out["source"]["item"] = self.source.item
            if self.source.origin is not None:  # expanded from a source: which one, and the file inside it
                o = self.source.origin
                out["source"]["origin"] = {"kind": o.kind, "name": o.name, "file": o.file}
        if self.patch:
            out["patch"] = self.patch
        if self.drift:
            out["drift"] = self.drift
        if self.conflicts:
            out["conflicts"] = self.conflicts
        if self.missing:
            out["missing"] = True
        if self.takeovers:
            out["takeovers"] = self.takeovers
        if self.other_spoke:
            out["otherSpoke"] = self.other_spoke
        return out


@dataclass
class Plan:
    target: str
    server: str
    changes: list[Change]
    inventory_size: int = 0
    prune_refused: str | None = None
    requests: int = 0
    warnings: list[str] = field(default_factory=list)  # things a person should know that change nothing

    def count(self, action: Action) -> int:
        return sum(1 for c in self.changes if c.action == action)

    @property
    def has_changes(self) -> bool:
        return any(c.changes_cluster or c.action == Action.TERMINATING for c in self.changes)

    @property
    def has_errors(self) -> bool:
        return any(c.action in (Action.CONFLICT, Action.ERROR) for c in self.changes) or bool(self.prune_refused)

    def summary(self) -> str:
        parts = [f"{self.count(a)} to {a.value}" for a in (Action.CREATE, Action.UPDATE, Action.PRUNE)]
        if self.count(Action.RECREATE):
            parts.append(f"{self.count(Action.RECREATE)} to recreate")
        parts.append(f"{self.count(Action.UNCHANGED)} unchanged")
        for a in (Action.TERMINATING, Action.KEEP, Action.CONFLICT, Action.ERROR):
            if self.count(a):
                parts.append(f"{self.count(a)} {a.value}")
        text = f"{self.target}: " + ", ".join(parts) + f" ({self.requests} API requests)"
        if self.prune_refused:
            text += f"\nprune refused: {self.prune_refused}"
        return text

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "server": self.server,
            "summary": {a.value: self.count(a) for a in Action},
            "pruneRefused": self.prune_refused,
            "apiRequests": self.requests,
            "warnings": self.warnings,
            "changes": [c.to_json() for c in self.changes if c.action != Action.UNCHANGED],
        }
