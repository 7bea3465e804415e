"""Carrying out a plan: inventory first, then stages in order with bounded parallelism, pruning last.

Nothing is applied when the plan has conflicts or errors, so a bad pass never half-applies. Pruning happens only
when every apply succeeded, in reverse stage order.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from razee.errors import RazeeError
from razee.kube.client import Kube
from razee.kube.discovery import Discovery
from razee.kube.errors import Conflict, KubeError, NotFound
from razee.kube.inventory import write_inventory
from razee.kube.planner import PlanOptions, PlanState, conflict_fields, server_side_apply
from razee.plan.model import Action, Change, Plan
from razee.plan.order import STAGE_NAMES, stage_of
from razee.render.manifest import ObjectKey

CRD_TIMEOUT = 60.0

Progress = Callable[[Change, str | None], None]


@dataclass
class ApplyResult:
    applied: list[ObjectKey] = field(default_factory=list)
    pruned: list[ObjectKey] = field(default_factory=list)
    failed: list[tuple[ObjectKey, str]] = field(default_factory=list)
    requests: int = 0

    @property
    def ok(self) -> bool:
        return not self.failed


class PlanNotApplicable(RazeeError):
    """The plan has conflicts or errors; nothing was applied."""


def apply_plan(kube: Kube, discovery: Discovery, plan: Plan, state: PlanState, options: PlanOptions,
               progress: Progress | None = None) -> ApplyResult:
    start = kube.counter.total
    blocked = [c for c in plan.changes if c.action in (Action.CONFLICT, Action.ERROR)]
    if blocked:
        lines = [f"  {c.key}: {c.reason}" + "".join(f"\n    {f}" for f in c.conflicts) for c in blocked]
        raise PlanNotApplicable(f"{len(blocked)} object(s) cannot be applied; nothing was changed:\n"
                                + "\n".join(lines))
    result = ApplyResult()
    writes = [c for c in plan.changes if c.action in (Action.CREATE, Action.UPDATE)]
    prunes = [c for c in plan.changes if c.action == Action.PRUNE]
    if not writes and not prunes and set(state.inventory.entries) == set(state.desired_versions):
        return result  # a no-op pass writes nothing, not even the inventory

    # Write-ahead: the inventory covers everything about to be created before it exists.
    write_inventory(kube, options.target, {**state.inventory.entries, **state.desired_versions})

    def apply_one(change: Change) -> None:
        assert change.desired is not None
        try:
            res = state.live.resources.get(change.key) or discovery.resource(
                state.desired_versions[change.key], change.key.kind)
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
            msg = e.message if isinstance(e, RazeeError) else f"{type(e).__name__}: {e}"
            result.failed.append((change.key, msg))
            if progress:
                progress(change, msg)

    with ThreadPoolExecutor(max_workers=options.concurrency) as pool:
        for stage in range(len(STAGE_NAMES)):
            batch = [c for c in writes if stage_of(c.key) == stage]
            if not batch:
                continue
            list(pool.map(apply_one, batch))
            if result.failed:
                break
            crds = [c for c in batch if c.key.kind == "CustomResourceDefinition"]
            if crds:
                _wait_established(kube, discovery, crds, result)
                if result.failed:
                    break

    remaining = dict(state.inventory.entries) | state.desired_versions
    if result.failed:
        result.requests = kube.counter.total - start
        return result  # no pruning after a failure; the inventory keeps the superset
    for change in prunes:  # already in reverse stage order
        api_version = state.inventory.entries[change.key]
        try:
            res = state.live.resources.get(change.key) or discovery.resource(api_version, change.key.kind)
            kube.request("DELETE", "DELETE", res.object_path(change.key.namespace or None, change.key.name),
                         {"propagationPolicy": "Background"})
            result.pruned.append(change.key)
            remaining.pop(change.key, None)
            if progress:
                progress(change, None)
        except NotFound:
            remaining.pop(change.key, None)
        except KubeError as e:
            result.failed.append((change.key, f"prune failed: {e.message}"))
    for change in plan.changes:
        if change.action == Action.KEEP and change.reason.startswith("left the fleet repo; pruning disabled"):
            remaining.pop(change.key, None)  # razee lets go of it
    for key in list(remaining):
        if key not in state.desired_versions and key not in state.live.objects and key not in result.pruned:
            remaining.pop(key, None)  # gone from the cluster already
    write_inventory(kube, options.target, remaining, ensure_namespace=False)
    result.requests = kube.counter.total - start
    return result


def _wait_established(kube: Kube, discovery: Discovery, crds: list[Change], result: ApplyResult) -> None:
    deadline = time.monotonic() + CRD_TIMEOUT
    pending = {c.key.name: c for c in crds}
    while pending and time.monotonic() < deadline:
        for name in list(pending):
            crd = kube.request("GET", "GET", f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}")
            conditions = (crd.get("status") or {}).get("conditions") or []
            if any(c.get("type") == "Established" and c.get("status") == "True" for c in conditions):
                spec = crd["spec"]
                for v in spec.get("versions", []):
                    discovery.forget(f"{spec['group']}/{v['name']}")
                del pending[name]
        if pending:
            time.sleep(0.2)
    for name, change in pending.items():
        result.failed.append((change.key, f"CRD {name} not Established after {CRD_TIMEOUT:.0f}s"))
