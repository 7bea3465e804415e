"""Helm hooks, mapped onto razee's pass: what a hook annotation means, and the record of which hooks ran.

Helm runs `pre-install`/`pre-upgrade` hooks before a release's other objects and `post-install`/`post-upgrade`
after them, at each `helm install` or `helm upgrade`. razee has no install or upgrade command: it reconciles. So
(as Argo CD does with its PreSync/PostSync phases) a source's hooks run when the source is *installed* (razee has
no record of it and none of its objects is in the cluster yet) or *upgraded* (its rendered content differs from
the content its hooks last ran for). The content is a hash of every object the source rendered, hooks included;
drift correction is no upgrade. The record is one ConfigMap per spoke in razee-system, written only after a
source's hooks ran, so a pass with nothing to install or upgrade writes nothing.

Hooks are not managed objects: they are never in the inventory, never compared for drift and never pruned (Helm:
"hook resources are not managed with corresponding releases"). `helm.sh/hook-delete-policy` says when razee
deletes them: before-hook-creation (Helm's default when no policy is given), hook-succeeded, hook-failed.
Delete, rollback and test hooks are not run: razee never uninstalls a release as a whole, never rolls back by
Helm's record, and never runs `helm test` (the expander drops test hooks).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from razee.kube.client import Kube
from razee.kube.errors import NotFound
from razee.kube.inventory import INVENTORY_NAMESPACE
from razee.objects import Provenance

HOOK_ANNOTATION = "helm.sh/hook"
WEIGHT_ANNOTATION = "helm.sh/hook-weight"
DELETE_POLICY_ANNOTATION = "helm.sh/hook-delete-policy"
BEFORE_CREATION, SUCCEEDED, FAILED = "before-hook-creation", "hook-succeeded", "hook-failed"
PRE, POST = "pre", "post"
RUN_EVENTS = {
    "pre-install": (PRE, True),
    "pre-upgrade": (PRE, False),
    "post-install": (POST, True),
    "post-upgrade": (POST, False),
}
"""Hook event -> (phase, runs on install (True) or on upgrade (False))."""
NOT_RUN = frozenset(
    {
        "pre-delete",
        "post-delete",
        "pre-rollback",
        "post-rollback",
        "crd-install",
        "test",
        "test-success",
        "test-failure",
    }
)
RECORD_LABEL = "razee.io/hooks-for"
_MANAGER = "razee-hooks"
_APPLY = "application/apply-patch+yaml"


@dataclass(frozen=True)
class Hook:
    """One hook object's annotations, read."""

    events: frozenset[str]
    weight: int
    policies: frozenset[str]

    def phase(self, install: bool) -> str | None:
        """PRE or POST when this hook runs at an install (`install`) or an upgrade; None when it does not."""
        phases = [
            phase for event, (phase, on_install) in RUN_EVENTS.items() if event in self.events and on_install == install
        ]
        return PRE if PRE in phases else POST if phases else None

    @property
    def deleted_before_creation(self) -> bool:
        """Helm's default, when a hook names no policy at all, is before-hook-creation."""
        return BEFORE_CREATION in self.policies or not self.policies

    def describe(self) -> str:
        return ",".join(sorted(self.events)) + (f" (weight {self.weight})" if self.weight else "")


def hook_of(obj: Mapping[str, Any]) -> Hook | None:
    """The hook an object is (its `helm.sh/hook` annotation), or None for an ordinary object."""
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    events = frozenset(e.strip() for e in str(annotations.get(HOOK_ANNOTATION) or "").split(",") if e.strip())
    if not events:
        return None
    try:
        weight = int(str(annotations.get(WEIGHT_ANNOTATION) or "0").strip())
    except ValueError:
        weight = 0  # helm's own Atoi failure is an error at install; razee's render refused it already
    policies = frozenset(
        p.strip() for p in str(annotations.get(DELETE_POLICY_ANNOTATION) or "").split(",") if p.strip()
    )
    return Hook(events, weight, policies)


def source_id(source: Provenance | None) -> str | None:
    """The source a manifest was expanded from, as the record names it (None for a template's own object)."""
    if source is None or source.origin is None:
        return None
    parts = [source.origin.kind, source.origin.name] + ([source.cluster] if source.cluster else [])
    return ".".join(re.sub(r"[^-._a-zA-Z0-9]", "_", p) for p in parts)


def content_of(hashes: Iterable[tuple[str, str]]) -> str:
    """The content hash of a source: its objects' identities and desired-state hashes, in a stable order."""
    digest = hashlib.sha256()
    for key, value in sorted(hashes):
        digest.update(f"{key}={value}\n".encode())
    return digest.hexdigest()[:32]


def record_name(target: str) -> str:
    return f"razee-hooks-{target}"


def read_record(kube: Kube, target: str) -> dict[str, str]:
    """Source id -> the content its hooks last ran for (empty when nothing ran yet)."""
    try:
        cm = kube.request("GET", "GET", f"/api/v1/namespaces/{INVENTORY_NAMESPACE}/configmaps/{record_name(target)}")
    except NotFound:
        return {}
    return {str(k): str(v) for k, v in ((cm.get("data") or {}).items())}


def write_record(kube: Kube, target: str, record: Mapping[str, str]) -> None:
    """The whole record (server-side apply drops the keys its manager no longer sends); razee-system exists, the
    write-ahead inventory made it."""
    name = record_name(target)
    cm = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": name,
            "namespace": INVENTORY_NAMESPACE,
            "labels": {"app.kubernetes.io/managed-by": "razee", RECORD_LABEL: target},
        },
        "data": dict(record),
    }
    kube.request(
        "APPLY",
        "PATCH",
        f"/api/v1/namespaces/{INVENTORY_NAMESPACE}/configmaps/{name}",
        {"fieldManager": _MANAGER, "force": "true"},
        cm,
        _APPLY,
    )
