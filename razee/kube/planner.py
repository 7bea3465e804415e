"""Planning a pass against one cluster: live state by LIST, semantic comparison, dry runs only where needed.

Every object that will be written is checked by the server before anything is applied: objects that exist or go
into existing namespaces get a server-side-apply dry run; objects bound for a namespace this pass creates are
dry-run in a stand-in namespace, so a bad object never leaves a half-applied pass behind it.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from razee.kube.client import FIELD_MANAGER, Kube
from razee.kube.crdchanges import check_crd_changes
from razee.kube.crdschema import check_custom_resource
from razee.kube.desired import content_hash, desired_hash, owner_of, prepare, terminating, uid_of
from razee.kube.discovery import Discovery, UnknownKind
from razee.kube.errors import Unavailable
from razee.kube.fieldowners import (
    SSA_ANNOTATION,
    handover_patch,
    if_not_present,
    ignored_pointers,
    keep_handed,
    pointer_problem,
    without,
)
from razee.kube.inventory import INVENTORY_NAMESPACE, Inventory, read_inventory
from razee.kube.live import LiveState, read_live
from razee.kube.ownership import Claims, prune_verdict
from razee.kube.rebuild import rebuild_inventory
from razee.kube.removedapis import not_served
from razee.kube.serverfields import server_owned
from razee.kube.ssa import ConflictPolicy, preview, validate_in
from razee.kube.watchcache import LiveCache
from razee.objects import Manifest, ObjectKey
from razee.plan.compare import mismatches
from razee.plan.jsoncopy import copy_json
from razee.plan.model import Action, Change, Plan
from razee.plan.order import stage_of
from razee.plan.view import HASH_ANNOTATION, clean, json_patch, mask_secrets

STAND_IN_NAMESPACES = ("default", "kube-system")


@dataclass(frozen=True)
class PlanOptions:
    target: str
    prune: bool = True
    allow_mass_prune: bool = False
    mass_prune_share: float = 0.5
    """Refuse a prune that deletes more than this share of the inventory (and at least 5 objects, or everything)."""
    concurrency: int = 8
    conflicts: ConflictPolicy = "refuse"
    """`takeover`: fields another apply manager owns are taken over and reported; `refuse`: the object conflicts."""
    prune_timeout: float = 60.0
    """Seconds a prune or a re-create waits for a deleted object to be gone."""


@dataclass
class PlanState:
    """What apply needs beyond the plan itself."""

    live: LiveState
    inventory: Inventory
    desired_versions: dict[ObjectKey, str]
    templates: dict[ObjectKey, str] = field(default_factory=dict)
    released: set[ObjectKey] = field(default_factory=set)  # leave our inventory, never deleted


@dataclass
class _Desired:
    manifest: Manifest
    obj: dict[str, Any]
    key: ObjectKey
    error: str = ""
    namespaced: bool | None = None  # None: its kind is not served yet and no CRD of this pass declares it


def _rehash(obj: dict[str, Any]) -> None:
    annotations = obj["metadata"]["annotations"]
    annotations.pop(HASH_ANNOTATION, None)
    annotations[HASH_ANNOTATION] = content_hash(obj)


def _pending_crds(prepared: Sequence[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    """(group, kind) -> CRD, for the CRDs this pass applies."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for obj in prepared:
        spec = obj.get("spec") if obj.get("kind") == "CustomResourceDefinition" else None
        if isinstance(spec, dict) and isinstance(spec.get("names"), dict):
            out[(str(spec.get("group")), str(spec["names"].get("kind")))] = obj
    return out


@dataclass
class PassMemo:
    """What a long-running agent carries from pass to pass, so an unchanged spoke costs little more than its reads.

    Entries of objects no longer seen are dropped at the end of each pass, so the memo never outgrows the spoke.
    """

    compared: dict[tuple[str, str, str], list[str]] = field(default_factory=dict)
    """(uid, resourceVersion, desired hash) -> drifted paths: an object neither side changed is not compared."""
    prepared: dict[int, tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=dict)
    """id(rendered object) -> (that object, its prepared form); the first element keeps the id from being reused."""
    live: LiveCache | None = None
    """Watched copies of live state (the agent's loop sets it): a pass whose copies are current LISTs nothing."""
    discovery: Discovery | None = None
    """The loop's discovery answers, carried between passes for DISCOVERY_TTL seconds (see Discovery.next_pass)."""


def _prepared(manifests: Sequence[Manifest], target: str, memo: PassMemo | None) -> list[dict[str, Any]]:
    if memo is None:
        return [prepare(m, target) for m in manifests]
    out, kept = [], {}
    for m in manifests:
        hit = memo.prepared.get(id(m.obj))
        obj = hit[1] if hit is not None and hit[0] is m.obj else prepare(m, target)
        kept[id(m.obj)] = (m.obj, obj)
        out.append(obj)
    memo.prepared = kept
    return out


def _desired_objects(manifests: Sequence[Manifest], target: str, discovery: Discovery, warnings: list[str],
                     memo: PassMemo | None) -> tuple[dict[ObjectKey, _Desired], dict[tuple[str, str], dict[str, Any]]]:
    """Prepared objects by key; a namespace on a cluster-scoped kind is dropped (as kubectl does), with a warning."""
    prepared = list(zip(manifests, _prepared(manifests, target, memo), strict=True))
    pending = _pending_crds([obj for _, obj in prepared])
    discovery.prefetch({"v1", *(str(obj["apiVersion"]) for _, obj in prepared)})
    out: dict[ObjectKey, _Desired] = {}
    for manifest, obj in prepared:
        key = manifest.key
        dropped = server_owned(manifest.obj)
        if dropped:
            them = "them" if len(dropped) > 1 else "it"
            warnings.append(f"{key}: {', '.join(dropped)} dropped: the server owns {them}, so razee neither applies "
                            f"nor compares {them} [{manifest.source}]")
        try:
            namespaced: bool | None = discovery.resource(str(obj["apiVersion"]), key.kind).namespaced
        except UnknownKind:
            crd = pending.get((key.group, key.kind))
            namespaced = None if crd is None else crd["spec"].get("scope") != "Cluster"
        error = ""
        if namespaced is False and key.namespace:
            obj = copy_json(obj)  # the prepared form may be reused by the next pass: change a copy
            del obj["metadata"]["namespace"]
            _rehash(obj)
            warnings.append(f"{key}: metadata.namespace dropped, {key.kind} is cluster-scoped [{manifest.source}]")
            key = key._replace(namespace="")
        elif namespaced and not key.namespace:
            error = (f"{key.kind} is namespaced and metadata.namespace is missing; razee does not guess one "
                     f"[{manifest.source}]")
        problems = [p for p in map(pointer_problem, ignored_pointers(obj)) if p]
        if problems:
            error = f"razee.io/ignore-fields: {'; '.join(problems)} [{manifest.source}]"
        if key in out:
            error = f"declared twice once its namespace is dropped: {out[key].manifest.source} and {manifest.source}"
        out[key] = _Desired(manifest, obj, key, error, namespaced)
    return out, pending


def _namespace_problem(d: _Desired, live: LiveState, created: set[str]) -> tuple[Action, str] | None:
    """Why an object cannot be applied where it is declared: its namespace is missing, or being deleted.

    A namespace nobody creates would pass the stand-in dry run and fail at apply, after the rest was written;
    a terminating one refuses new content until it is gone, which holds back only the objects in it.
    """
    ns = d.key.namespace
    if not d.namespaced or not ns:
        return None
    if ns in live.terminating_namespaces:
        return Action.TERMINATING, (f"waiting for namespace {ns}, which is being deleted; razee applies it once the "
                                    "namespace is gone and created again")
    if ns not in live.namespaces and ns not in created:
        return Action.ERROR, (f"namespace {ns} does not exist and no Namespace {ns} is in this spoke's templates; "
                             f"declare it, or create it before razee applies [{d.manifest.source}]")
    return None


def plan_changes(kube: Kube, discovery: Discovery, manifests: Sequence[Manifest],
                 options: PlanOptions, memo: PassMemo | None = None) -> tuple[Plan, PlanState]:
    """The plan of one pass. `memo` (kept by a long-running agent) carries comparisons from pass to pass."""
    start = kube.counter.total
    seen: dict[tuple[str, str, str], list[str]] = {}
    warnings: list[str] = []
    desired, pending_crds = _desired_objects(manifests, options.target, discovery, warnings, memo)
    versions = {k: str(d.obj["apiVersion"]) for k, d in desired.items()}
    inventory = read_inventory(kube, options.target)
    if not inventory.found:
        inventory = rebuild_inventory(kube, discovery, options.target, options.concurrency)
        if inventory.rebuilt:
            warnings.append(f"the inventory of spoke {options.target} was missing; rebuilt from the "
                            f"{inventory.rebuilt} object(s) labelled razee.io/inventory={options.target}")
    wanted = {**inventory.entries, **versions}
    if memo is not None and memo.live is not None:
        kube.write_observers.append(memo.live.note_write)  # the next pass waits until the watches saw our writes
        live = memo.live.read(kube, discovery, wanted.items(), options.target)
    else:
        live = read_live(kube, discovery, wanted.items(), options.target)
    claims = Claims(kube, options.target)
    state = PlanState(live, inventory, versions, {k: d.manifest.source.template for k, d in desired.items()})

    changes: list[Change] = []
    to_preview: list[Change] = []
    # razee-system too: the write-ahead inventory creates it before anything else is applied
    created_namespaces = {INVENTORY_NAMESPACE, *(k.name for k in desired if k.kind == "Namespace" and k.group == "")}
    for key, d in desired.items():
        change = Change(key, Action.UNCHANGED, "in sync", d.manifest.source, d.obj)
        current = live.objects.get(key)
        placement = None if d.error else _namespace_problem(d, live, created_namespaces)
        if d.error:
            change.action, change.reason = Action.ERROR, d.error
        elif placement is not None:
            change.action, change.reason = placement
            change.before = clean(current)
        elif key in live.unknown:
            crd = pending_crds.get((key.group, key.kind))
            problems = check_custom_resource(d.obj, crd) if crd is not None else []
            if crd is None:
                change.action = Action.ERROR
                change.reason = f"{not_served(str(d.obj['apiVersion']), key.kind)} [{d.manifest.source}]"
            elif problems:
                change.action = Action.ERROR
                change.reason = f"invalid under the schema of CRD {crd['metadata']['name']}: " + "; ".join(problems)
            else:
                change.action, change.reason = Action.CREATE, "new (its CRD is created in this pass)"
                change.after = clean(d.obj)
        elif current is None:
            change.action, change.reason = Action.CREATE, "not in the cluster"
            if key in inventory.entries:
                change.missing = True
                change.reason = ("missing: razee's inventory lists it and it is not in the cluster (deleted since, or "
                                 "not yet created by a pass that stopped)")
            to_preview.append(change)
        elif terminating(current):
            change.before = clean(current)
            change.action = Action.TERMINATING
            change.reason = "being deleted; razee creates it again once it is gone"
        elif not _owned_or_free(change, current, options.target, claims):
            pass  # another spoke declares and owns it: _owned_or_free set the conflict
        elif _plan_existing(change, d.obj, current, options.target, memo, seen):
            to_preview.append(change)
        changes.append(change)

    _dry_runs(kube, live, to_preview, options)

    plan = Plan(options.target, kube.server, changes, inventory_size=len(inventory.entries), warnings=warnings)
    _plan_prunes(plan, state, desired, claims, options)
    check_crd_changes(plan.changes, live, warnings)
    _show_changes(changes)
    if memo is not None:
        memo.compared = seen
    plan.requests = kube.counter.total - start
    return plan, state


def _dry_runs(kube: Kube, live: LiveState, to_preview: list[Change], options: PlanOptions) -> None:
    """Let the server check every object that will be written, side by side; the first failure of the server
    itself (not of an object) stops the rest and the pass."""
    def check(change: Change) -> None:
        assert change.desired is not None
        res = live.resources[change.key]
        if res.namespaced and change.key.namespace not in live.namespaces:
            # The namespace is created by this pass: let the server check the object in one that exists.
            stand_in = next((ns for ns in STAND_IN_NAMESPACES if ns in live.namespaces), "")
            change.after = validate_in(kube, res, change.desired, stand_in, change) if stand_in else clean(
                change.desired)
            return
        result = preview(kube, res, change.desired, change, live.objects.get(change.key), options.conflicts)
        if result is not None:
            change.after = clean(result) if change.action != Action.RECREATE else result
            if change.handover is not None and change.after is not None:
                keep_handed(change.after, change.handover)

    stop = threading.Event()

    def guarded(change: Change) -> None:
        if stop.is_set():
            return  # the server failed an earlier dry run: the pass stops, the queued ones would wait in vain
        try:
            check(change)
        except Unavailable:
            stop.set()
            raise

    with ThreadPoolExecutor(max_workers=options.concurrency) as pool:
        list(pool.map(guarded, to_preview))


def _show_changes(changes: list[Change]) -> None:
    """Secrets masked, and each write's patch (drift narrowed to the paths the patch really changes)."""
    for change in changes:
        if change.action in (Action.CREATE, Action.UPDATE, Action.PRUNE, Action.RECREATE):
            mask_secrets(change.before, change.after)
            change.patch = json_patch(change.before, change.after if change.action != Action.PRUNE else None)
            if change.drift and change.patch:
                change.drift = sorted({op["path"] for op in change.patch})


def _plan_existing(change: Change, obj: dict[str, Any], current: dict[str, Any], target: str, memo: PassMemo | None,
                   seen: dict[tuple[str, str, str], list[str]]) -> bool:
    """Plan an object that exists and is razee's to change; True when it will be written (and needs a dry run)."""
    if if_not_present(obj):
        change.reason = f"exists; {SSA_ANNOTATION}: IfNotPresent: created when missing, never updated"
        return False
    pointers = ignored_pointers(obj)
    if pointers:  # fields left to other managers: neither sent nor compared once the object exists
        obj = change.desired = without(obj, pointers)
    live_hash = desired_hash(current)
    other = owner_of(current)
    if other and other != target:
        change.action = Action.UPDATE
        change.reason = f"taken over from spoke {other}, which no longer declares it"
    elif live_hash != desired_hash(obj):
        change.action = Action.UPDATE
        change.reason = "changed in the fleet repo" if live_hash else "not yet managed by razee"
    else:
        meta = current.get("metadata") or {}
        memo_key = (str(meta.get("uid")), str(meta.get("resourceVersion")), str(live_hash))
        drift = memo.compared.get(memo_key) if memo is not None else None
        if drift is None:
            drift = mismatches(obj, current)
        seen[memo_key] = drift
        if drift:
            change.action, change.drift = Action.UPDATE, drift
            change.reason = "drift: changed in the cluster at " + ", ".join(drift)
    if change.action != Action.UPDATE:
        return False
    change.before = clean(current)  # an unchanged object needs no copy of its live state
    if pointers:
        change.handover = handover_patch(current, FIELD_MANAGER, pointers)
    return True


def _owned_or_free(change: Change, current: dict[str, Any], target: str, claims: Claims) -> bool:
    """False (and the change made a conflict or a shared namespace) when another spoke still owns the object."""
    other = owner_of(current)
    if not other or other == target or other not in claims.claimed_by(change.key):
        return True
    if change.key.kind == "Namespace" and change.key.group == "":
        change.action, change.reason = Action.UNCHANGED, f"shared namespace, applied by spoke {other}"
        return False
    theirs = claims.template_of(other, change.key) or "a template of theirs"
    change.action, change.other_spoke = Action.CONFLICT, other
    change.reason = f"also declared by spoke {other}, which owns it; a spoke applies it only once the other lets go"
    change.conflicts = [f"spoke {target}: {change.source}", f"spoke {other}: {theirs}"]
    return False


def _plan_prunes(plan: Plan, state: PlanState, desired: dict[ObjectKey, _Desired], claims: Claims,
                 options: PlanOptions) -> None:
    live, inventory = state.live, state.inventory
    # a vanished object is forgotten after the pass; an unchanged spoke has nothing leaving, and pays nothing here
    leaving = [k for k in inventory.entries if k not in desired and k in live.objects]
    desired_keys = set(desired) if leaving else set()
    desired_uids = {uid_of(live.objects[k]) for k in desired if k in live.objects} - {""} if leaving else set()
    candidates: list[Change] = []
    for key in sorted(leaving, key=lambda k: (-stage_of(k), k)):
        current = live.objects[key]
        verdict = prune_verdict(key, current, options.target, desired_keys, desired_uids, claims)
        change = Change(key, verdict.action, verdict.reason, before=clean(current))
        if verdict.release:
            state.released.add(key)
        if verdict.action == Action.PRUNE:
            if options.prune:
                candidates.append(change)
            else:
                change.action, change.reason = Action.KEEP, "left the fleet repo; pruning is switched off"
        plan.changes.append(change)
    if candidates and not options.allow_mass_prune:
        share = len(candidates) / max(len(inventory.entries), 1)
        everything = not desired
        if everything or (share > options.mass_prune_share and len(candidates) >= 5):
            plan.prune_refused = (f"would delete {len(candidates)} of {len(inventory.entries)} managed objects"
                                  f"{' (the desired set is empty)' if everything else ''}; "
                                  "pass --allow-mass-prune if that is intended")
            for c in candidates:
                c.action, c.reason = Action.KEEP, "prune refused: mass deletion"
