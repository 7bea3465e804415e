"""Carrying out a plan: inventory first, then the writes in order (razee.kube.sequence), pruning last.

Nothing is applied when the plan has conflicts or errors, so a bad pass never half-applies. The one exception is
an object another spoke declares and owns: it is held back (and claimed in this spoke's inventory, so the other
spoke hands it over instead of deleting it once it lets go), and the rest applies. Pruning happens only when every
apply succeeded, in reverse stage order, and a prune is done only once the object is gone.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from razee.errors import RazeeError
from razee.kube.applyresult import ApplyResult
from razee.kube.client import Kube
from razee.kube.deletion import Deleted, Target, delete_owned, wait_gone
from razee.kube.discovery import Discovery, Resource
from razee.kube.errors import Conflict, Unavailable
from razee.kube.inventory import Inventory, encode_shards, write_inventory
from razee.kube.objectmeta import owner_of
from razee.kube.planstate import PlanOptions, PlanState
from razee.kube.sequence import Writer, write_in_order
from razee.kube.ssa import conflict_fields, hand_over, server_side_apply
from razee.objects import ObjectKey
from razee.plan.model import Action, Change, Plan

__all__ = ["ApplyResult", "PlanNotApplicable", "Progress", "apply_plan"]

Progress = Callable[[Change, str | None], None]


class PlanNotApplicable(RazeeError):
    """The plan has conflicts or errors; nothing was applied."""


def _blocked_message(blocked: list[Change]) -> str:
    lines = [
        f"  {c.key}: {c.reason}"
        + "".join(f"\n    {f}" for f in c.conflicts)
        + (f"\n    [{c.source}]" if c.source and f"[{c.source}]" not in c.reason else "")
        for c in blocked
    ]
    return f"{len(blocked)} object(s) cannot be applied; nothing was changed:\n" + "\n".join(lines)


def apply_plan(
    kube: Kube,
    discovery: Discovery,
    plan: Plan,
    state: PlanState,
    options: PlanOptions,
    progress: Progress | None = None,
) -> ApplyResult:
    start = kube.counter.total
    blocked = [c for c in plan.changes if c.action in (Action.CONFLICT, Action.ERROR) and not c.other_spoke]
    if blocked:
        raise PlanNotApplicable(_blocked_message(blocked))
    result = ApplyResult()
    result.held = [
        (c.key, c.reason + "".join(f"; {x}" for x in c.conflicts)) for c in plan.changes if c.action == Action.CONFLICT
    ]
    writes = [c for c in plan.changes if c.action in (Action.CREATE, Action.UPDATE, Action.RECREATE)]
    prunes = [c for c in plan.changes if c.action == Action.PRUNE]
    # Deleted earlier and still held by finalizers: a prune is done only when the object is gone.
    going = [c for c in plan.changes if c.action == Action.TERMINATING and c.key not in state.desired_versions]
    result.terminating = [
        (c.key, c.reason) for c in plan.changes if c.action == Action.TERMINATING and c.key in state.desired_versions
    ]
    inventory = state.inventory
    claimed = {k: v for k, v in {**inventory.entries, **state.desired_versions}.items() if k not in state.released}
    templates = {**inventory.templates, **state.templates}
    unchanged_record = encode_shards(options.target, inventory.lines(claimed, templates)) == inventory.shards
    if not writes and not prunes and not going and unchanged_record:
        return result  # a no-op pass writes nothing, not even the inventory

    # Write-ahead: the inventory covers everything about to be created before it exists.
    inventory = write_inventory(kube, inventory, claimed, templates)
    result.released = sorted(state.released)

    def resource(key: ObjectKey, api_version: str) -> Resource:
        return state.live.resources.get(key) or discovery.resource(api_version, key.kind)

    def apply_one(change: Change) -> None:
        _apply_one(kube, change, resource, state, options, result, progress)

    write_in_order(Writer(kube, discovery, state, options, result, apply_one, resource), plan.changes, writes)
    if result.failed:
        _forget_never_created(kube, inventory, claimed, templates, state, result)
        result.requests = kube.counter.total - start
        return result  # no pruning after a failure
    _prune(kube, state, prunes, going, options, result, resource, progress)
    remaining = dict(claimed)
    for key in result.pruned + result.released:
        remaining.pop(key, None)
    for key in list(remaining):
        if key not in state.desired_versions and key not in state.live.objects:
            remaining.pop(key, None)  # gone from the cluster already
    write_inventory(kube, inventory, remaining, templates, ensure_namespace=False)
    result.requests = kube.counter.total - start
    return result


def _apply_one(
    kube: Kube,
    change: Change,
    resource: Callable[[ObjectKey, str], Resource],
    state: PlanState,
    options: PlanOptions,
    result: ApplyResult,
    progress: Progress | None,
) -> None:
    """Write one object; every failure is recorded for that object, never raised mid-stage."""
    assert change.desired is not None
    try:
        res = resource(change.key, state.desired_versions.get(change.key) or str(change.desired["apiVersion"]))
        if change.action == Action.RECREATE:
            _delete_for_recreate(kube, Target(change.key, res, state.live.objects[change.key]), options)
        if change.handover is not None:
            hand_over(kube, res, change.handover)
        server_side_apply(kube, res, change.desired, dry_run=False, force=change.force)
        result.applied.append(change.key)
        if progress:
            progress(change, None)
    except Conflict as e:
        msg = "conflict: " + "; ".join(conflict_fields(e))
        result.failed.append((change.key, msg))
        if progress:
            progress(change, msg)
    except Exception as e:  # every failure is reported per object, never raised mid-stage
        if isinstance(e, Unavailable):
            result.uncertain.add(change.key)  # the write may have happened: keep it in the inventory
        msg = e.message if isinstance(e, RazeeError) else f"{type(e).__name__}: {e}"
        result.failed.append((change.key, msg))
        if progress:
            progress(change, msg)


def _forget_never_created(
    kube: Kube,
    inventory: Inventory,
    claimed: dict[ObjectKey, str],
    templates: dict[ObjectKey, str],
    state: PlanState,
    result: ApplyResult,
) -> None:
    """After a failed pass, drop from the inventory the objects it added and surely did not create.

    The write-ahead record named them before they existed (so a crash orphans nothing); left there, the next pass
    would report each as "missing", as if someone had deleted it. One more write; if it fails, the superset stays,
    which is safe.
    """
    done = set(result.applied) | result.uncertain
    before = state.inventory.entries  # `inventory` is the write-ahead record, which names them all
    never = [k for k in claimed if k not in before and k not in state.live.objects and k not in done]
    if not never:
        return
    kept = {k: v for k, v in claimed.items() if k not in set(never)}
    with contextlib.suppress(RazeeError):
        write_inventory(kube, inventory, kept, templates, ensure_namespace=False)


def _prune(
    kube: Kube,
    state: PlanState,
    prunes: list[Change],
    going: list[Change],
    options: PlanOptions,
    result: ApplyResult,
    resource: Callable[[ObjectKey, str], Resource],
    progress: Progress | None,
) -> None:
    pending: list[Target] = []
    for change in going:
        try:
            pending.append(
                Target(
                    change.key,
                    resource(change.key, state.inventory.entries[change.key]),
                    state.live.objects[change.key],
                )
            )
        except RazeeError as e:
            result.failed.append((change.key, f"prune failed: {e.message}"))
    for change in prunes:  # already in reverse stage order
        try:
            target = Target(
                change.key, resource(change.key, state.inventory.entries[change.key]), state.live.objects[change.key]
            )
            outcome = delete_owned(kube, target, options.target)
        except RazeeError as e:
            result.failed.append((change.key, f"prune failed: {e.message}"))
            continue
        if outcome == Deleted.GONE:
            result.pruned.append(change.key)
            if progress:
                progress(change, None)
        elif outcome == Deleted.PENDING:
            pending.append(target)
        elif outcome == Deleted.NOT_OURS:
            result.released.append(change.key)
    stuck = wait_gone(kube, pending, options.prune_timeout) if pending else {}
    for target in pending:
        if target.key in stuck:
            result.terminating.append(
                (target.key, f"still terminating after {options.prune_timeout:.0f}s: {stuck[target.key]}")
            )
        else:
            result.pruned.append(target.key)


def _delete_for_recreate(kube: Kube, target: Target, options: PlanOptions) -> None:
    outcome = delete_owned(kube, target, owner_of(target.live))
    if outcome in (Deleted.NOT_OURS, Deleted.REPLACED):
        raise RazeeError("cannot re-create: the object changed in the cluster since the plan; run again")
    if outcome == Deleted.PENDING:
        stuck = wait_gone(kube, [target], options.prune_timeout)
        if stuck:
            raise RazeeError(
                f"cannot re-create: the old object is {stuck[target.key]} after {options.prune_timeout:.0f}s"
            )
