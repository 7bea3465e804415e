"""The report an agent sends after every pass: what it applied, what drifted, what failed, and from which commit.

Reports carry object identities, actions and field paths, never object contents, so no Secret value can reach the
outbox or the hub.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from razee.infra.executor import InfraResult
from razee.kube.applier import ApplyResult
from razee.plan.model import Action, Change
from razee.reconcile import Pass

SCHEMA_VERSION = 1


@dataclass
class PassOutcome:
    result: str  # applied | in-sync | drifted | healed | rejected | failed | standby | waiting
    spoke: str
    region: str
    agent: str
    source: dict[str, str] = field(default_factory=dict)
    objects: list[dict[str, Any]] = field(default_factory=list)
    infrastructure: dict[str, Any] = field(default_factory=dict)
    unhealthy: list[dict[str, str]] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)
    error: str | None = None
    durations: dict[str, float] = field(default_factory=dict)
    requests: int = 0
    wave: str = ""
    rollout: dict[str, str] = field(default_factory=dict)  # a newer revision this spoke waits for, and why

    def to_report(self) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for o in self.objects:
            counts[o["status"]] = counts.get(o["status"], 0) + 1
        return {
            "schema": SCHEMA_VERSION, "id": str(uuid.uuid4()), "time": time.time(), "spoke": self.spoke,
            "region": self.region, "agent": self.agent, "result": self.result, "source": self.source,
            # synced objects are only counted: a steady-state report of thousands of objects stays small
            "objects": [o for o in self.objects if o["status"] != "synced"], "counts": counts,
            "infrastructure": self.infrastructure,
            "unhealthy": self.unhealthy, "findings": self.findings[:200], "error": self.error,
            "durations": {k: round(v, 3) for k, v in self.durations.items()}, "apiRequests": self.requests,
            "wave": self.wave, "rollout": self.rollout,
        }


def _object(change: Change, status: str, message: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {"group": change.key.group, "kind": change.key.kind, "namespace": change.key.namespace,
                           "name": change.key.name, "status": status}
    if change.drift:
        out["paths"] = change.drift
    elif change.patch:
        out["paths"] = sorted({op["path"] for op in change.patch})[:50]
    if message:
        out["message"] = message[:500]
    if change.source:
        out["template"] = change.source.template
    return out


def describe_objects(run: Pass, applied: ApplyResult | None, drift_only: bool) -> list[dict[str, Any]]:
    """Per-object status: synced, created, updated, drifted (with paths), pruned or failed (with message)."""
    if run.kube is None:
        return []
    failed = {key: msg for key, msg in applied.failed} if applied else {}
    done = set(applied.applied) | set(applied.pruned) if applied else set()
    out: list[dict[str, Any]] = []
    for c in run.kube.plan.changes:
        if c.key in failed:
            out.append(_object(c, "failed", failed[c.key]))
        elif c.action == Action.UNCHANGED:
            out.append(_object(c, "synced"))
        elif c.action in (Action.CONFLICT, Action.ERROR):
            out.append(_object(c, "failed", c.reason + "".join(f"; {x}" for x in c.conflicts)))
        elif drift_only and c.action == Action.UPDATE and c.drift:
            out.append(_object(c, "drifted"))
        elif c.key in done:
            status = {Action.CREATE: "created", Action.UPDATE: "updated", Action.PRUNE: "pruned"}[c.action]
            entry = _object(c, "drifted-healed" if c.drift else status)
            if c.action != Action.UPDATE:
                entry.pop("paths", None)  # every path of a created or pruned object says nothing
            out.append(entry)
        elif c.action == Action.KEEP:
            out.append(_object(c, "kept", c.reason))
        else:
            out.append(_object(c, "pending", c.reason))
    return out


def describe_infra(run: Pass, result: InfraResult | None) -> dict[str, Any]:
    if run.infra is None:
        return {}
    plan = run.infra.plan
    out: dict[str, Any] = {"provider": plan.provider, "planned": len(plan.changes), "refused": plan.refused}
    if result is not None:
        out.update(done=len(result.done), failed=[f"{c.describe()}: {m}" for c, m in result.failed][:50],
                   stopped=result.stopped, retries=result.retries)
    return out
