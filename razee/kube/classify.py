"""What one desired object needs, and why: its live copy set against its desired form, without a request.

`classify` is a decision table read top to bottom; the first row that applies decides. It returns a new value
(`Planned`), changes nothing it is given, and says whether the object will be written, in which case the planner
lets the server check it in a dry run (razee.kube.dryrun) before anything applies.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from razee.kube.client import FIELD_MANAGER
from razee.kube.crdschema import check_custom_resource
from razee.kube.desiredset import Desired, PendingCrds
from razee.kube.fieldowners import SSA_ANNOTATION, handover_patch, if_not_present, ignored_pointers, without
from razee.kube.live import LiveState
from razee.kube.objectmeta import desired_hash, helm_release, owner_of, terminating
from razee.kube.ownership import Claims
from razee.kube.removedapis import not_served
from razee.objects import ObjectKey, Provenance
from razee.plan.compare import mismatches
from razee.plan.model import Action, Change
from razee.plan.view import clean

MemoKey = tuple[str, str, str]
"""(uid, resourceVersion, desired hash): an object neither side changed since it was last compared."""


@dataclass(frozen=True)
class Facts:
    """What the classification of every object of a pass consults."""

    live: LiveState
    target: str
    claims: Claims
    pending_crds: PendingCrds
    inventory: Collection[ObjectKey]
    created_namespaces: Collection[str]
    """Namespaces that exist once this pass's writes are made (its own Namespaces and razee-system)."""
    compared: Mapping[MemoKey, list[str]]
    """Drift found by an earlier pass, by MemoKey (the agent's memo; empty for a one-off pass)."""


@dataclass(slots=True)
class Planned:
    """The change an object needs; `dry_run` when it will be written and the server checks it first.

    A new value that nobody changes after `classify` returns it. Not frozen: a frozen dataclass's __init__ costs
    ten times as much, and an idle pass classifies every object of the spoke.
    """

    action: Action
    reason: str
    desired: dict[str, Any]
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    drift: tuple[str, ...] = ()
    missing: bool = False
    handover: dict[str, Any] | None = None
    other_spoke: str = ""
    conflicts: tuple[str, ...] = ()
    dry_run: bool = False
    compared: tuple[MemoKey, list[str]] | None = None
    """The comparison made (or taken from the memo), for the next pass's memo."""

    def change(self, key: ObjectKey, source: Provenance) -> Change:
        change = Change(key, self.action, self.reason, source, self.desired, before=self.before, after=self.after)
        if self.action is Action.UNCHANGED:
            return change  # the usual case on an idle spoke: nothing more to carry
        change.drift, change.conflicts = list(self.drift), list(self.conflicts)
        change.missing, change.other_spoke, change.handover = self.missing, self.other_spoke, self.handover
        return change


def classify(d: Desired, current: dict[str, Any] | None, facts: Facts) -> Planned:
    """The first row of the table that applies to `d`, whose live copy is `current` (None: not in the cluster)."""
    if d.error:
        return Planned(Action.ERROR, d.error, d.obj)
    placement = namespace_problem(d, facts.live, facts.created_namespaces)
    if placement is not None:
        return Planned(*placement, d.obj, before=clean(current))
    if d.key in facts.live.unknown:
        return _not_served(d, facts.pending_crds)
    if current is None:
        if d.key in facts.inventory:
            return Planned(
                Action.CREATE,
                "missing: razee's inventory lists it and it is not in the cluster "
                "(deleted since, or not yet created by a pass that stopped)",
                d.obj,
                missing=True,
                dry_run=True,
            )
        return Planned(Action.CREATE, "not in the cluster", d.obj, dry_run=True)
    if terminating(current):
        return Planned(
            Action.TERMINATING, "being deleted; razee creates it again once it is gone", d.obj, before=clean(current)
        )
    return _owned_elsewhere(d, current, facts) or _existing(d, current, facts)


def namespace_problem(d: Desired, live: LiveState, created: Collection[str]) -> tuple[Action, str] | None:
    """Why an object cannot be applied where it is declared: its namespace is missing, or being deleted.

    A namespace nobody creates would pass the stand-in dry run and fail at apply, after the rest was written;
    a terminating one refuses new content until it is gone, which holds back only the objects in it.
    """
    ns = d.key.namespace
    if not d.namespaced or not ns:
        return None
    if ns in live.terminating_namespaces:
        return Action.TERMINATING, (
            f"waiting for namespace {ns}, which is being deleted; razee applies it once the "
            "namespace is gone and created again"
        )
    if ns not in live.namespaces and ns not in created:
        return Action.ERROR, (
            f"namespace {ns} does not exist and no Namespace {ns} is in this spoke's templates; "
            f"declare it, or create it before razee applies [{d.manifest.source}]"
        )
    return None


def _not_served(d: Desired, pending: PendingCrds) -> Planned:
    """A kind the server does not serve: an error, unless a CRD of this pass declares it and the object fits."""
    crd = pending.get((d.key.group, d.key.kind))
    if crd is None:
        return Planned(Action.ERROR, f"{not_served(str(d.obj['apiVersion']), d.key.kind)} [{d.manifest.source}]", d.obj)
    problems = check_custom_resource(d.obj, crd)
    if problems:
        return Planned(
            Action.ERROR, f"invalid under the schema of CRD {crd['metadata']['name']}: " + "; ".join(problems), d.obj
        )
    return Planned(Action.CREATE, "new (its CRD is created in this pass)", d.obj, after=clean(d.obj))


def _owned_elsewhere(d: Desired, current: dict[str, Any], facts: Facts) -> Planned | None:
    """A conflict (or a shared namespace) when another spoke still declares and owns the object; else None."""
    other = owner_of(current)
    if not other or other == facts.target or other not in facts.claims.claimed_by(d.key):
        return None
    if d.key.kind == "Namespace" and d.key.group == "":
        return Planned(Action.UNCHANGED, f"shared namespace, applied by spoke {other}", d.obj)
    theirs = facts.claims.template_of(other, d.key) or "a template of theirs"
    return Planned(
        Action.CONFLICT,
        f"also declared by spoke {other}, which owns it; a spoke applies it only once the other lets go",
        d.obj,
        other_spoke=other,
        conflicts=(f"spoke {facts.target}: {d.manifest.source}", f"spoke {other}: {theirs}"),
    )


ADOPTED = "adopted from Helm release"
"""How a plan's reason starts when razee takes over an object a `helm install` made (reports carry that reason)."""


def _unmanaged(current: dict[str, Any]) -> str:
    """Why razee writes an object it did not make: it adopts it in place (what Helm installed, say so)."""
    release = helm_release(current) if not owner_of(current) else ""
    if not release:
        return "not yet managed by razee"
    name = release.rpartition("/")[2]
    return (
        f"{ADOPTED} {release}: razee takes its fields over in place (same object, never "
        f"deleted and re-created); the release's record (Secrets sh.helm.release.v1.{name}.v*) is left alone"
    )


def _existing(d: Desired, current: dict[str, Any], facts: Facts) -> Planned:
    """An object that exists and is razee's to change: updated when the repo changed it, or it drifted."""
    obj = d.obj
    if if_not_present(obj):
        return Planned(
            Action.UNCHANGED, f"exists; {SSA_ANNOTATION}: IfNotPresent: created when missing, never updated", obj
        )
    pointers = ignored_pointers(obj)
    if pointers:  # fields left to other managers: neither sent nor compared once the object exists
        obj = without(obj, pointers)
    live_hash = desired_hash(current)
    other = owner_of(current)
    compared: tuple[MemoKey, list[str]] | None = None
    drift: list[str] = []
    if other and other != facts.target:
        reason = f"taken over from spoke {other}, which no longer declares it"
    elif live_hash != desired_hash(obj):
        reason = "changed in the fleet repo" if live_hash else _unmanaged(current)
    else:
        meta = current.get("metadata") or {}
        memo_key = (str(meta.get("uid")), str(meta.get("resourceVersion")), str(live_hash))
        found = facts.compared.get(memo_key)
        drift = mismatches(obj, current) if found is None else found
        compared = (memo_key, drift)
        if not drift:
            return Planned(Action.UNCHANGED, "in sync", obj, compared=compared)
        reason = "drift: changed in the cluster at " + ", ".join(drift)
    handover = handover_patch(current, FIELD_MANAGER, pointers) if pointers else None
    return Planned(
        Action.UPDATE,
        reason,
        obj,
        before=clean(current),
        drift=tuple(drift),
        handover=handover,
        dry_run=True,
        compared=compared,
    )
