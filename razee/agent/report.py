"""The report an agent sends after every pass: what it applied, what drifted, what failed, and from which commit.

Reports carry object identities, actions and field paths, never object contents, so no Secret value can reach the
outbox or the hub.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from razee import wire
from razee.infra.executor import InfraResult
from razee.kube.applier import ApplyResult
from razee.kube.classify import ADOPTED
from razee.plan.model import Action, Change
from razee.reconcile.plan import Pass
from razee.wire import PassOutcome


@dataclass
class PassReport:
    """One pass as the agent reports it: the outcome and what it is made of (razee.wire has the limits)."""

    result: PassOutcome
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
    checks: list[dict[str, Any]] = field(default_factory=list)  # the wave's metric checks (razee/agent/checks.py)
    clusters: list[dict[str, Any]] | None = None  # per customer cluster (razee/agent/clusters.py); None: not seen
    sources: list[dict[str, Any]] = field(default_factory=list)  # the expanded sources (razee/agent/clusters.py)
    newest: str | None = None  # the newest revision the pass found (not sent: the loop's pace reads it)

    def to_report(self) -> dict[str, Any]:
        """The report body, trimmed to what the hub accepts (razee/hub/model.py): a refused report is a lost one."""
        counts: dict[str, int] = {}
        for o in self.objects:
            counts[o["status"]] = counts.get(o["status"], 0) + 1
        return {
            "schema": wire.SCHEMA_VERSION,
            "id": str(uuid.uuid4()),
            "time": time.time(),
            "spoke": self.spoke,
            "region": self.region[:64],
            "agent": self.agent[:128],
            "result": str(self.result),
            "source": {k[:32]: prose(str(v))[: wire.MAX_TEXT] for k, v in list(self.source.items())[:16]},
            # synced objects are only counted: a steady-state report of thousands of objects stays small
            "objects": [o for o in self.objects if o["status"] != "synced"][: wire.MAX_OBJECTS],
            "counts": counts,
            "infrastructure": self.infrastructure,
            "unhealthy": [
                {k[:32]: prose(str(v))[: wire.MAX_TEXT] for k, v in u.items()}
                for u in self.unhealthy[: wire.MAX_UNHEALTHY]
            ],
            "findings": [prose(f)[: wire.MAX_FINDING] for f in self.findings[: wire.MAX_FINDINGS]],
            "error": prose(self.error)[: wire.MAX_ERROR] if self.error else self.error,
            "durations": {k[:32]: round(max(v, 0.0), 3) for k, v in self.durations.items()},
            "apiRequests": max(self.requests, 0),
            "wave": self.wave[:64],
            "rollout": {k: prose(v)[: wire.MAX_ERROR] for k, v in self.rollout.items()},
            **({"checks": self.checks[: wire.MAX_CHECKS]} if self.checks else {}),
            **({"clusters": self.clusters[: wire.MAX_CLUSTERS]} if self.clusters is not None else {}),
            **({"sources": self.sources[: wire.MAX_SOURCES]} if self.sources else {}),
        }


_CONTROLS = {c: "\ufffd" for c in (*range(0x20), *range(0x7F, 0xA0)) if chr(c) not in "\t\n\r"}


def prose(text: str) -> str:
    """Free text as the hub accepts it: a control character other than a tab or a line break (an ANSI colour in
    a tool's error, a NUL) would make the hub refuse the whole report, so it becomes U+FFFD."""
    return text.translate(_CONTROLS)


STATUS_DONE = {
    Action.CREATE: "created",
    Action.UPDATE: "updated",
    Action.PRUNE: "pruned",
    Action.RECREATE: "recreated",
    Action.TERMINATING: "terminating",
}
"""Report status of a change once applied; an action missing here is reported as `pending`, never a KeyError."""


def _object(change: Change, status: str, message: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {
        "group": change.key.group,
        "kind": change.key.kind,
        "namespace": change.key.namespace,
        "name": change.key.name,
        "status": status,
    }
    if change.drift:
        out["paths"] = [p[: wire.MAX_PATH] for p in change.drift[: wire.MAX_PATHS]]
    elif change.patch:
        out["paths"] = [p[: wire.MAX_PATH] for p in sorted({op["path"] for op in change.patch})[:50]]
    if message:
        out["message"] = prose(message)[:500]
    if change.source:
        out["template"] = change.source.template[:300]
    if change.takeovers:
        out["takeovers"] = [
            {"path": str(t.get("path", ""))[: wire.MAX_PATH], "manager": str(t.get("manager", ""))[:128]}
            for t in change.takeovers[: wire.MAX_TAKEOVERS]
        ]
    return out


def describe_objects(run: Pass, applied: ApplyResult | None, drift_only: bool) -> list[dict[str, Any]]:
    """Per-object status: synced, created, updated, drifted (with paths), missing, pruned or failed (with message).

    With `drift_only` (the revision was applied before), a managed object gone from the cluster is `missing`:
    drift, like a changed field. `pending` is what is not applied yet (the gate holds it, or a standby replica).
    """
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
        elif c.action == Action.TERMINATING:
            out.append(_object(c, "terminating", c.reason))
        elif drift_only and c.action == Action.UPDATE and c.drift:
            out.append(_object(c, "drifted"))
        elif drift_only and c.action == Action.CREATE and c.missing:
            entry = _object(c, "missing", c.reason)
            entry.pop("paths", None)  # the whole object is gone: every path of it says nothing
            out.append(entry)
        elif c.key in done:
            status = STATUS_DONE.get(c.action, "updated")
            adopted = c.reason if c.reason.startswith(ADOPTED) else ""  # a move from Helm, said in the report
            entry = _object(c, "drifted-healed" if c.drift or c.missing else status, adopted)
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
    out: dict[str, Any] = {
        "provider": plan.provider[:64],
        "planned": len(plan.changes),
        "refused": plan.refused[: wire.MAX_TEXT] if plan.refused else None,
    }
    if result is not None:
        failed = [f"{c.describe()}: {m}"[: wire.MAX_TEXT] for c, m in result.failed][:50]
        out.update(done=len(result.done), failed=failed, stopped=result.stopped, retries=result.retries)
    return out
