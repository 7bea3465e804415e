"""Planning a pass against one cluster: live state by LIST, semantic comparison, dry runs only where needed.

The steps, each in a module of its own: the desired objects, prepared and keyed (razee.kube.desiredset); the
inventory, rebuilt from labels when lost; live state, LISTed or read from a session's watched copies
(razee.kube.session.LiveReader); what each object needs and why (razee.kube.classify, no requests); the server's
dry run of every object that will be written (razee.kube.dryrun); and what becomes of objects that left the
desired set (razee.kube.prunes).
"""

from __future__ import annotations

from collections.abc import Sequence

from razee.kube.classify import Facts, MemoKey, classify
from razee.kube.client import Kube
from razee.kube.crdchanges import check_crd_changes
from razee.kube.desiredset import Desired, desired_objects
from razee.kube.discovery import Discovery
from razee.kube.dryrun import dry_runs, show_changes
from razee.kube.hookplan import HookPlan, check_recreated, plan_hook, plan_hooks
from razee.kube.inventory import INVENTORY_NAMESPACE, Inventory, read_inventory
from razee.kube.live import LiveState, read_live
from razee.kube.ownership import Claims
from razee.kube.planstate import PlanOptions, PlanState
from razee.kube.prunes import plan_prunes
from razee.kube.rebuild import rebuild_inventory
from razee.kube.session import LiveReader, PassMemo
from razee.objects import Manifest, ObjectKey
from razee.plan.model import Change, Plan

__all__ = ["PassMemo", "PlanOptions", "PlanState", "plan_changes"]


def plan_changes(
    kube: Kube,
    discovery: Discovery,
    manifests: Sequence[Manifest],
    options: PlanOptions,
    memo: PassMemo | None = None,
    live_reader: LiveReader | None = None,
) -> tuple[Plan, PlanState]:
    """The plan of one pass. `memo` (kept by a long-running agent) carries comparisons from pass to pass;
    `live_reader` (the agent's watched copies) stands in for LISTs where its copies are current."""
    start = kube.counter.total
    warnings: list[str] = []
    desired, pending_crds = desired_objects(manifests, options.target, discovery, warnings, memo)
    versions = {k: str(d.obj["apiVersion"]) for k, d in desired.items()}
    inventory = _inventory(kube, discovery, options, warnings)
    live = _read_live(kube, discovery, [*{**inventory.entries, **versions}.items()], options.target, live_reader)
    claims = Claims(kube, options.target)
    hooks = plan_hooks(kube, desired, live.objects, options.target)
    managed = {k: v for k, v in versions.items() if k not in hooks.hooks}  # hooks are never in the inventory
    state = PlanState(
        live,
        inventory,
        managed,
        {k: d.manifest.source.template for k, d in desired.items()},
        released={k for k in hooks.hooks if k in inventory.entries},
        hooks=hooks,
    )
    # razee-system too: the write-ahead inventory creates it before anything else is applied
    created = {INVENTORY_NAMESPACE, *(k.name for k in desired if k.kind == "Namespace" and k.group == "")}
    facts = Facts(
        live,
        options.target,
        claims,
        pending_crds,
        inventory.entries,
        created,
        memo.compared if memo is not None else {},
    )
    changes, to_preview, seen = _classify_all(desired, live, facts, hooks)
    dry_runs(kube, live, to_preview, options.conflicts, options.concurrency)
    check_recreated(kube, live, [c for c in changes if c.key in hooks.runs])

    plan = Plan(options.target, kube.server, changes, inventory_size=len(inventory.entries), warnings=warnings)
    plan_prunes(plan, state, desired, claims, options)
    check_crd_changes(plan.changes, live, warnings)
    show_changes(changes)
    if memo is not None:
        memo.compared = seen
    plan.requests = kube.counter.total - start
    return plan, state


def _classify_all(
    desired: dict[ObjectKey, Desired], live: LiveState, facts: Facts, hooks: HookPlan
) -> tuple[list[Change], list[Change], dict[MemoKey, list[str]]]:
    """What each desired object needs (no requests): every change, the ones the server must dry-run, and the
    comparisons made (the agent's memo keeps them, so an unchanged object is not compared again next pass)."""
    changes: list[Change] = []
    to_preview: list[Change] = []
    seen: dict[MemoKey, list[str]] = {}
    for key, d in desired.items():
        planned = (
            plan_hook(d, live.objects.get(key), facts, hooks)
            if key in hooks.hooks
            else classify(d, live.objects.get(key), facts)
        )
        change = planned.change(key, d.manifest.source)
        if planned.compared is not None:
            seen[planned.compared[0]] = planned.compared[1]
        if planned.dry_run:
            to_preview.append(change)
        changes.append(change)
    return changes, to_preview, seen


def _inventory(kube: Kube, discovery: Discovery, options: PlanOptions, warnings: list[str]) -> Inventory:
    """The spoke's inventory; a lost one is rebuilt from the objects labelled for the spoke."""
    inventory = read_inventory(kube, options.target)
    if not inventory.found:
        inventory = rebuild_inventory(kube, discovery, options.target, options.concurrency)
        if inventory.rebuilt:
            warnings.append(
                f"the inventory of spoke {options.target} was missing; rebuilt from the "
                f"{inventory.rebuilt} object(s) labelled razee.io/inventory={options.target}"
            )
    return inventory


def _read_live(
    kube: Kube, discovery: Discovery, wanted: list[tuple[ObjectKey, str]], target: str, reader: LiveReader | None
) -> LiveState:
    if reader is None:
        return read_live(kube, discovery, wanted, target)
    kube.write_observers.append(reader.note_write)  # the next pass waits until the watches saw our writes
    return reader.read(kube, discovery, wanted, target)
