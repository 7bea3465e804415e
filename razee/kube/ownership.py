"""Who owns an object, and what a spoke may therefore delete or take over (docs/engine.md).

Ownership is the `razee.io/inventory=<spoke>` label on the live object; a spoke's inventory is its claim. Several
spokes may reach one cluster, so before a spoke deletes or relabels anything it asks:

- is the live object (the very one, by UID) still labelled for this spoke?
- is it desired by this pass under another API group (one object served as extensions and networking.k8s.io)?
- does another spoke claim it, or hold objects in it (a Namespace)?
- does it hold razee's own state (the razee-system namespace)?

Other spokes' inventories are read at most once per pass, and only when one of these questions comes up.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from razee.kube.client import Kube
from razee.kube.inventory import INVENTORY_NAMESPACE, Inventory, read_other_inventories
from razee.kube.objectmeta import (
    PRUNE_ANNOTATION,
    crd_of,
    finalizers,
    owner_of,
    prune_disabled,
    prune_enabled,
    terminating,
    uid_of,
)
from razee.objects import ObjectKey, aliases
from razee.plan.model import Action


@dataclass
class Claims:
    """Other spokes' inventories in this cluster, read lazily."""

    kube: Kube
    target: str
    _others: dict[str, Inventory] | None = None
    _namespaces: dict[str, set[str]] = field(default_factory=dict)

    def others(self) -> dict[str, Inventory]:
        if self._others is None:
            self._others = read_other_inventories(self.kube, self.target)
            for spoke, inv in self._others.items():
                for key in inv.entries:
                    if key.namespace:
                        self._namespaces.setdefault(key.namespace, set()).add(spoke)
        return self._others

    def claimed_by(self, key: ObjectKey) -> list[str]:
        return sorted(spoke for spoke, inv in self.others().items() if _listed(inv.entries, key))

    def template_of(self, spoke: str, key: ObjectKey) -> str:
        inv = self.others().get(spoke)
        return inv.templates.get(key, "") if inv else ""

    def namespace_users(self, namespace: str) -> list[str]:
        self.others()
        return sorted(self._namespaces.get(namespace, set()))


def _listed(entries: Mapping[ObjectKey, str], key: ObjectKey) -> bool:
    return any(k in entries for k in aliases(key))


@dataclass(frozen=True)
class Verdict:
    """What to do with an object that left this spoke's desired set."""

    action: Action  # PRUNE, KEEP (stays in the cluster, and razee may let go of it) or TERMINATING
    reason: str
    release: bool = False  # drop it from this spoke's inventory without deleting it


def prune_verdict(
    key: ObjectKey,
    live: dict[str, Any],
    target: str,
    desired_keys: set[ObjectKey],
    desired_uids: set[str],
    claims: Claims,
) -> Verdict:
    """Whether razee may delete an object it once managed, checked against the live object itself."""
    owner = owner_of(live)
    if terminating(live):
        stuck = finalizers(live)
        return Verdict(
            Action.TERMINATING, "being deleted" + (f"; waiting for finalizers {', '.join(stuck)}" if stuck else "")
        )
    if uid_of(live) in desired_uids or any(k in desired_keys for k in aliases(key)[1:]):
        return Verdict(
            Action.KEEP, "desired under another API group (the same object); nothing to delete", release=True
        )
    if owner != target:
        who = f"spoke {owner}" if owner else "no spoke (its razee.io/inventory label was removed)"
        return Verdict(
            Action.KEEP, f"not razee's to delete: it is labelled for {who}; razee lets go of it", release=True
        )
    if key.kind == "Namespace" and key.group == "" and key.name == INVENTORY_NAMESPACE:
        return Verdict(Action.KEEP, "left the fleet repo; never pruned: it holds razee's own state (inventories)")
    source = crd_of(live)
    if source and not prune_enabled(live):
        return Verdict(
            Action.KEEP,
            f"left the fleet repo; kept: a CRD from the crds/ folder of {source}, which "
            "razee never prunes, as Helm and Fleet never do (deleting a CRD deletes every "
            f"custom resource of its kind); annotate it {PRUNE_ANNOTATION}: enabled to have "
            "razee delete it",
            release=True,
        )
    if prune_disabled(live):
        return Verdict(Action.KEEP, "left the fleet repo; pruning disabled by annotation", release=True)
    claimers = claims.claimed_by(key)
    if claimers:
        return Verdict(
            Action.KEEP,
            f"left the fleet repo; handed over to spoke {', '.join(claimers)}, which declares it",
            release=True,
        )
    if key.kind == "Namespace" and key.group == "":
        users = claims.namespace_users(key.name)
        if users:
            return Verdict(
                Action.KEEP, f"left the fleet repo; kept: spoke {', '.join(users)} manages objects in it", release=True
            )
    return Verdict(Action.PRUNE, "no longer in the fleet repo")
