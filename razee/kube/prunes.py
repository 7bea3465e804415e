"""What becomes of the objects that left a spoke's desired set: pruned, kept, released, or waited for.

Each is judged against its live copy (razee.kube.ownership.prune_verdict); then a prune that would delete most of
the inventory (or all of it) is refused as a whole unless the caller allows mass deletion.
"""

from __future__ import annotations

from collections.abc import Mapping

from razee.kube.objectmeta import uid_of
from razee.kube.ownership import Claims, prune_verdict
from razee.kube.planstate import PlanOptions, PlanState
from razee.objects import ObjectKey
from razee.plan.model import Action, Change, Plan
from razee.plan.order import stage_of
from razee.plan.view import clean


def plan_prunes(
    plan: Plan, state: PlanState, desired: Mapping[ObjectKey, object], claims: Claims, options: PlanOptions
) -> None:
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
            plan.prune_refused = (
                f"would delete {len(candidates)} of {len(inventory.entries)} managed objects"
                f"{' (the desired set is empty)' if everything else ''}; "
                "pass --allow-mass-prune if that is intended"
            )
            for c in candidates:
                c.action, c.reason = Action.KEEP, "prune refused: mass deletion"
