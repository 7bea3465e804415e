"""The order of a pass's writes, sources and Helm hooks included.

1. Namespaces and CRDs of every unit first (a chart's `crds/` too, as Helm installs them before anything else),
   waiting until the CRDs are Established: hooks and sources may need both.
2. Then wave by wave. The first wave holds the templates' own objects and every source without `dependsOn`; a
   source is in a later wave than every source it depends on (razee.plan.order.source_waves). For each wave:
   its sources' dependencies must be healthy (waited for up to the hook timeout; else the dependent source, and
   what depends on it, is not applied and the pass says which dependency held it; the rest goes ahead); its pre
   hooks run, by weight, each weight waited for;
   the wave's other stages apply in order; each source with post hooks is waited for until healthy, then its
   post hooks run; the record notes the sources whose hooks ran.
A failed write or hook ends the pass's writes: nothing after it is applied.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from razee.errors import RazeeError
from razee.kube.applyresult import ApplyResult
from razee.kube.client import Kube
from razee.kube.discovery import Discovery, Resource
from razee.kube.hookplan import HookRun
from razee.kube.hookrun import delete_hook, wait_hooks
from razee.kube.hooks import FAILED, POST, PRE, SUCCEEDED, source_id, write_record
from razee.kube.planstate import PlanOptions, PlanState
from razee.kube.wait import wait_healthy
from razee.objects import ObjectKey, Provenance
from razee.plan.model import Change
from razee.plan.order import STAGE_NAMES, source_waves, stage_of

CRD_TIMEOUT = 60.0


@dataclass
class Writer:
    """What the writes of one pass need: the connection, the plan's state, how to write one object."""

    kube: Kube
    discovery: Discovery
    state: PlanState
    options: PlanOptions
    result: ApplyResult
    apply_one: Callable[[Change], None]
    resource: Callable[[ObjectKey, str], Resource]
    members: dict[str, list[ObjectKey]] = field(default_factory=dict)
    """Unit ("" for the templates' own objects, else a source id) -> its managed objects (hooks excluded)."""
    names: dict[str, str] = field(default_factory=dict)
    healthy: set[str] = field(default_factory=set)


def _unit(change: Change) -> str:
    return source_id(change.source) or ""


def _units(w: Writer, changes: Iterable[Change]) -> dict[str, set[str]]:
    """Every unit's members and dependencies (names resolved within the same customer cluster, else the spoke)."""
    depends: dict[str, set[str]] = {"": set()}
    origins: dict[str, Provenance] = {}
    by_name: dict[tuple[str, str | None], str] = {}
    for c in changes:
        if c.desired is None or c.source is None:
            continue
        unit = _unit(c)
        depends.setdefault(unit, set())
        origins.setdefault(unit, c.source)
        if c.key in w.state.desired_versions:
            w.members.setdefault(unit, []).append(c.key)
        if c.source.origin is not None:
            by_name[(c.source.origin.name, c.source.cluster)] = unit
            w.names[unit] = f"{c.source.origin.kind} {c.source.origin.name}"
    for unit, src in origins.items():
        for name in src.origin.depends_on if src.origin else ():
            dep = by_name.get((name, src.cluster)) or by_name.get((name, None))
            if dep is not None and dep != unit:
                depends[unit].add(dep)
    return depends


def write_in_order(w: Writer, changes: list[Change], writes: list[Change]) -> None:
    runs = w.state.hooks.runs
    depends = _units(w, changes)
    waves, _ = source_waves(depends)
    normal = [c for c in writes if c.key not in runs]
    held: set[str] = set()
    with ThreadPoolExecutor(max_workers=w.options.concurrency) as pool:
        if not _stages(w, pool, [c for c in normal if stage_of(c.key) == 0]):
            return
        for wave in waves:
            work = [c for c in writes if _unit(c) in set(wave) and (c.key in runs or stage_of(c.key) != 0)]
            held |= _held_back(w, depends, work, held)
            work = [c for c in work if _unit(c) not in held]
            if not work:
                continue
            hooks = [c for c in work if c.key in runs]
            if not _run_hooks(w, pool, [c for c in hooks if runs[c.key].phase == PRE]):
                return
            if not _stages(w, pool, [c for c in work if c.key not in runs]):
                return
            post = [c for c in hooks if runs[c.key].phase == POST]
            if not _healthy_before(w, post) or not _run_hooks(w, pool, post):
                return
            _note_ran(w, {u for u in wave if u not in held and u in w.state.hooks.contents})


def _stages(w: Writer, pool: ThreadPoolExecutor, writes: list[Change]) -> bool:
    """Stage by stage, side by side within a stage; False after a failure (or a CRD never Established)."""
    before = len(w.result.failed)  # objects held back by a dependency failed already, and stop nothing here
    for stage in range(len(STAGE_NAMES)):
        batch = [c for c in writes if stage_of(c.key) == stage]
        if not batch:
            continue
        list(pool.map(w.apply_one, batch))
        if len(w.result.failed) > before:
            return False
        crds = [c for c in batch if c.key.kind == "CustomResourceDefinition"]
        if crds:
            _wait_established(w.kube, w.discovery, crds, w.result)
            if len(w.result.failed) > before:
                return False
    return True


def _unhealthy(w: Writer, unit: str) -> str | None:
    """Why a unit's objects are not healthy after waiting up to the hook timeout; None once they are."""
    if unit in w.healthy:
        return None
    keys = w.members.get(unit, [])
    versions = w.state.desired_versions
    bad = wait_healthy(w.kube, w.discovery, [(k, versions[k]) for k in keys], w.options.target, w.options.hook_timeout)
    if not bad:
        w.healthy.add(unit)
        return None
    key, health = sorted(bad.items())[0]
    more = f" and {len(bad) - 1} more" if len(bad) > 1 else ""
    return f"is not healthy after {w.options.hook_timeout:.0f}s: {key}: {health.reason}{more}"


def _held_back(w: Writer, depends: dict[str, set[str]], work: list[Change], held: set[str]) -> set[str]:
    """The units of `work` held back by a dependency that is not healthy (or was held back itself); each of their
    writes fails, naming the dependency. The other units of the wave go ahead."""
    out: set[str] = set()
    for unit in sorted({_unit(c) for c in work}):
        for dep in sorted(depends.get(unit, ())):
            why = "was not applied" if dep in held else _unhealthy(w, dep)
            if why is None:
                continue
            text = f"not applied: {w.names.get(unit, unit)} depends on {w.names.get(dep, dep)}, which {why}"
            w.result.failed.extend((c.key, text) for c in work if _unit(c) == unit)
            out.add(unit)
            break
    return out


def _healthy_before(w: Writer, post: list[Change]) -> bool:
    """Post hooks run once their source's objects are healthy."""
    runs = w.state.hooks.runs
    for source in sorted({runs[c.key].source for c in post}):
        why = _unhealthy(w, source)
        if why is not None:
            w.result.failed.extend(
                (c.key, f"{runs[c.key].describe()}: not run: the source {why}")
                for c in post
                if runs[c.key].source == source
            )
            return False
    return True


def _run_hooks(w: Writer, pool: ThreadPoolExecutor, hooks: list[Change]) -> bool:
    """Weight by weight (lowest first): write the group, wait until each hook ended, delete as its policy says."""
    runs = w.state.hooks.runs
    before = len(w.result.failed)
    for weight in sorted({runs[c.key].hook.weight for c in hooks}):
        group = [c for c in hooks if runs[c.key].hook.weight == weight]
        if not _stages(w, pool, group):
            return False
        targets = [(c.key, w.resource(c.key, str((c.desired or {}).get("apiVersion")))) for c in group]
        outcomes = wait_hooks(w.kube, targets, w.options.hook_timeout)
        for key, res in targets:
            _settle(w, runs[key], res, outcomes[key].ok, outcomes[key].why, outcomes[key].live)
        if len(w.result.failed) > before:
            return False
    return True


def _settle(w: Writer, run: HookRun, res: Resource, ok: bool, why: str, live: dict[str, Any] | None) -> None:
    """Delete a hook that ended, when its policy says so; a failed hook fails the pass."""
    policy = SUCCEEDED if ok else FAILED
    left = None
    if live is not None and policy in run.hook.policies:
        try:
            left = delete_hook(w.kube, run.key, res, live, w.options.prune_timeout)
        except RazeeError as e:
            left = e.message
    if not ok:
        w.result.failed.append((run.key, f"{run.describe()} failed: {why}; the pass stops here"))
    elif left:
        w.result.failed.append((run.key, f"{run.describe()} succeeded, but deleting it ({policy}) did not: {left}"))


def _note_ran(w: Writer, sources: set[str]) -> None:
    """Record the content of `sources` once their hooks due in it ran (also when none was due: an upgrade of a
    source with install hooks only); entries of sources no longer in the pass are dropped."""
    hooks = w.state.hooks
    record = {sid: v for sid, v in hooks.record.items() if sid in hooks.contents}
    record.update({sid: hooks.contents[sid] for sid in sources})
    if record == hooks.record:
        return
    try:
        write_record(w.kube, w.options.target, record)
    except RazeeError as e:
        w.result.failed.extend(
            (k, f"the hooks ran, but recording it failed (they run again next pass): {e.message}")
            for k, r in hooks.runs.items()
            if r.source in sources
        )
        return
    hooks.record = record


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
