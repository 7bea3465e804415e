"""Planning a pass against one cluster: live state by LIST, semantic comparison, dry runs only where needed."""

from __future__ import annotations

import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from razee.kube.client import FIELD_MANAGER, Kube
from razee.kube.desired import desired_hash, prepare, prune_disabled, wants_force
from razee.kube.discovery import Discovery, Resource
from razee.kube.errors import Conflict, KubeError
from razee.kube.inventory import Inventory, read_inventory
from razee.kube.live import LiveState, read_live
from razee.plan.compare import mismatches
from razee.plan.model import Action, Change, Plan
from razee.plan.order import stage_of
from razee.plan.view import clean, json_patch, mask_secrets
from razee.render.manifest import Manifest, ObjectKey

APPLY_PATCH = "application/apply-patch+yaml"


@dataclass(frozen=True)
class PlanOptions:
    target: str
    prune: bool = True
    allow_mass_prune: bool = False
    mass_prune_share: float = 0.5
    """Refuse a prune that deletes more than this share of the inventory (and at least 5 objects, or everything)."""
    concurrency: int = 8


@dataclass
class PlanState:
    """What apply needs beyond the plan itself."""

    live: LiveState
    inventory: Inventory
    desired_versions: dict[ObjectKey, str]


def server_side_apply(kube: Kube, res: Resource, obj: dict[str, Any], *, dry_run: bool, force: bool) -> Any:
    meta = obj["metadata"]
    query = {"fieldManager": FIELD_MANAGER}
    if force:
        query["force"] = "true"
    if dry_run:
        query["dryRun"] = "All"
    ns = meta.get("namespace") if res.namespaced else None
    return kube.request("DRYRUN" if dry_run else "APPLY", "PATCH", res.object_path(ns, meta["name"]), query, obj,
                        APPLY_PATCH)


def conflict_fields(e: Conflict) -> list[str]:
    causes = e.details.get("causes") or []
    found = [f"{c.get('field', '?')}: {c.get('message', '')}".strip() for c in causes]
    return found or [e.message]


_CONFLICT_MANAGER = re.compile(r'conflict with "([^"]+)"')


def only_imperative_managers(e: Conflict, live: dict[str, Any]) -> bool:
    """True when every manager in the conflict wrote with Update (kubectl edit, scale), none with Apply."""
    names = {m for cause in e.details.get("causes") or [] for m in _CONFLICT_MANAGER.findall(cause.get("message", ""))}
    if not names:
        return False
    ops = {(m.get("manager"), m.get("operation")) for m in (live.get("metadata") or {}).get("managedFields") or []}
    return all((name, "Apply") not in ops for name in names)


def plan_changes(kube: Kube, discovery: Discovery, manifests: Sequence[Manifest],
                 options: PlanOptions) -> tuple[Plan, PlanState]:
    start = kube.counter.total
    desired = {m.key: (m, prepare(m, options.target)) for m in manifests}
    versions = {k: str(obj["apiVersion"]) for k, (_, obj) in desired.items()}
    inventory = read_inventory(kube, options.target)
    wanted = {**inventory.entries, **versions}
    live = read_live(kube, discovery, wanted.items(), options.target)
    pending_crds = {
        (obj["spec"]["group"], obj["spec"]["names"]["kind"])
        for _, obj in desired.values()
        if obj.get("kind") == "CustomResourceDefinition" and isinstance(obj.get("spec"), dict)
        and isinstance(obj["spec"].get("names"), dict)
    }

    changes: list[Change] = []
    to_preview: list[Change] = []
    for key, (manifest, obj) in desired.items():
        change = Change(key, Action.UNCHANGED, "in sync", manifest.source, obj)
        current = live.objects.get(key)
        if key in live.unknown:
            if (key.group, key.kind) in pending_crds:
                change.action, change.reason = Action.CREATE, "new (its CRD is created in this pass)"
                change.after = clean(obj)
            else:
                change.action, change.reason = Action.ERROR, live.unknown[key]
        elif current is None:
            change.action, change.reason = Action.CREATE, "not in the cluster"
            if key in inventory.entries:
                change.missing = True
                change.reason = "missing: razee manages it and it is gone from the cluster"
            ns_missing = live.resources[key].namespaced and key.namespace not in live.namespaces
            if ns_missing:
                change.after = clean(obj)
            else:
                to_preview.append(change)
        else:
            change.before = clean(current)
            live_hash = desired_hash(current)
            if live_hash != desired_hash(obj):
                change.action = Action.UPDATE
                change.reason = "changed in the fleet repo" if live_hash else "not yet managed by razee"
                to_preview.append(change)
            else:
                drift = mismatches(obj, current)
                if drift:
                    change.action, change.drift = Action.UPDATE, drift
                    change.reason = "drift: changed in the cluster at " + ", ".join(drift)
                    to_preview.append(change)
        changes.append(change)

    def preview(change: Change) -> None:
        assert change.desired is not None
        change.force = wants_force(change.desired)
        res = live.resources[change.key]
        try:
            try:
                result = server_side_apply(kube, res, change.desired, dry_run=True, force=change.force)
            except Conflict as e:
                current = live.objects.get(change.key)
                if current is None or not only_imperative_managers(e, current):
                    raise
                # kubectl edit/scale and other Update calls are drift on fields razee declares: take them back
                change.force = True
                result = server_side_apply(kube, res, change.desired, dry_run=True, force=True)
            change.after = clean(result)
        except Conflict as e:
            change.action, change.conflicts = Action.CONFLICT, conflict_fields(e)
            change.reason = "conflict with another field manager (annotate razee.io/force: \"true\" to take over)"
        except KubeError as e:
            change.action, change.reason = Action.ERROR, e.message

    with ThreadPoolExecutor(max_workers=options.concurrency) as pool:
        list(pool.map(preview, to_preview))

    prune_candidates: list[Change] = []
    for key in sorted(inventory.entries, key=lambda k: (-stage_of(k), k)):
        if key in desired:
            continue
        current = live.objects.get(key)
        if current is None:
            continue  # already gone; the inventory forgets it after the pass
        change = Change(key, Action.PRUNE, "no longer in the fleet repo", before=clean(current))
        if prune_disabled(current):
            change.action, change.reason = Action.KEEP, "left the fleet repo; pruning disabled by annotation"
        elif not options.prune:
            change.action, change.reason = Action.KEEP, "left the fleet repo; pruning is switched off"
        else:
            prune_candidates.append(change)
        changes.append(change)

    plan = Plan(options.target, kube.server, changes, inventory_size=len(inventory.entries))
    if prune_candidates and not options.allow_mass_prune:
        share = len(prune_candidates) / max(len(inventory.entries), 1)
        everything = not desired
        if everything or (share > options.mass_prune_share and len(prune_candidates) >= 5):
            plan.prune_refused = (f"would delete {len(prune_candidates)} of {len(inventory.entries)} managed objects"
                                  f"{' (the desired set is empty)' if everything else ''}; "
                                  "pass --allow-mass-prune if that is intended")
            for c in prune_candidates:
                c.action, c.reason = Action.KEEP, "prune refused: mass deletion"

    for change in changes:
        if change.action in (Action.CREATE, Action.UPDATE, Action.PRUNE):
            mask_secrets(change.before, change.after)
            change.patch = json_patch(change.before, change.after if change.action != Action.PRUNE else None)
            if change.drift and change.patch:
                change.drift = sorted({op["path"] for op in change.patch})
    plan.requests = kube.counter.total - start
    return plan, PlanState(live, inventory, versions)
