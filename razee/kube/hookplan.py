"""Planning a pass's Helm hooks: which run now (the source is installed or upgraded), and which are left alone.

A hook that runs is written like any object (the server checks it in a dry run first), except that when its
delete policy is before-hook-creation (Helm's default) a previous copy is deleted and it is created again; the
applier runs it in its phase (razee.kube.sequence). A hook that does not run is `unchanged`, with the reason: it
ran for this content already, the source is installed and the hook is an upgrade hook (or the other way round),
or it is a delete or rollback hook, which razee never runs. See razee.kube.hooks for the rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from razee.kube.classify import Facts, Planned, classify
from razee.kube.client import Kube
from razee.kube.desiredset import Desired
from razee.kube.hooks import NOT_RUN, PRE, Hook, content_of, hook_of, read_record, source_id
from razee.kube.live import LiveState
from razee.kube.objectmeta import desired_hash
from razee.kube.ssa import validate_in
from razee.objects import ObjectKey
from razee.plan.model import Action, Change
from razee.plan.view import clean


@dataclass(frozen=True)
class HookRun:
    """A hook that runs in this pass: its source (the record's id and how people call it) and phase."""

    key: ObjectKey
    source: str
    origin: str
    phase: str
    hook: Hook

    def describe(self) -> str:
        return f"hook {self.hook.describe()} of {self.origin}"


@dataclass
class HookPlan:
    """The hooks of one pass. Every hook object (`hooks`) is outside the inventory: never compared or pruned."""

    hooks: set[ObjectKey] = field(default_factory=set)
    runs: dict[ObjectKey, HookRun] = field(default_factory=dict)
    idle: dict[ObjectKey, str] = field(default_factory=dict)
    """Hooks that do not run, and why."""
    contents: dict[str, str] = field(default_factory=dict)
    """Source id -> its content, for every source with hooks (what the record notes once they ran)."""
    record: dict[str, str] = field(default_factory=dict)


def plan_hooks(
    kube: Kube, desired: Mapping[ObjectKey, Desired], live: Mapping[ObjectKey, Any], target: str
) -> HookPlan:
    """Which hooks of `desired` run: one read of the record, and only when the desired set has hooks."""
    plan = HookPlan()
    by_source: dict[str, list[Desired]] = {}
    for d in desired.values():
        sid = source_id(d.manifest.source)
        if sid is not None:
            by_source.setdefault(sid, []).append(d)
    hooked = {sid: ds for sid, ds in by_source.items() if any(hook_of(d.obj) for d in ds)}
    if not hooked:
        return plan
    plan.record = read_record(kube, target)
    for sid, ds in hooked.items():
        content = content_of((str(d.key), str(desired_hash(d.obj))) for d in ds)
        plan.contents[sid] = content
        hooks = {d.key: h for d in ds if (h := hook_of(d.obj)) is not None}
        plan.hooks.update(hooks)
        origin = str(
            ds[0].manifest.source.origin.kind + " " + ds[0].manifest.source.origin.name
            if ds[0].manifest.source.origin
            else sid
        )
        install = sid not in plan.record and not any(d.key in live for d in ds if d.key not in hooks)
        for key, hook in hooks.items():
            what = f"hook {hook.describe()} of {origin}"
            phase = hook.phase(install)
            if plan.record.get(sid) == content:
                plan.idle[key] = f"{what}: ran for the source's current content; runs again when that changes"
            elif hook.events <= NOT_RUN:
                plan.idle[key] = f"{what}: not run: razee runs install and upgrade hooks only (docs/sources.md)"
            elif phase is None:
                plan.idle[key] = f"{what}: not run: the source is {'installed' if install else 'upgraded'} in this pass"
            else:
                plan.runs[key] = HookRun(key, sid, origin, phase, hook)
    return plan


def check_recreated(kube: Kube, live: LiveState, changes: list[Change]) -> None:
    """Let the server check each hook that is deleted and created again, before anything is written.

    Its previous copy still exists, so an apply's dry run would merge the two (and trip over a Job's immutable
    template); a dry-run create in its own namespace is checked in full, and "already exists" means it passed.
    """
    for change in changes:
        res = live.resources.get(change.key)
        if change.action == Action.RECREATE and change.desired is not None and res is not None and res.namespaced:
            validate_in(kube, res, change.desired, change.key.namespace, change)


def plan_hook(d: Desired, current: dict[str, Any] | None, facts: Facts, hooks: HookPlan) -> Planned:
    """What a hook object needs in this pass (its key is in `hooks.hooks`)."""
    why = hooks.idle.get(d.key)
    if why is not None:
        return Planned(Action.UNCHANGED, why, d.obj)
    run = hooks.runs[d.key]
    when = "before the source's other objects" if run.phase == PRE else "once the source's other objects are healthy"
    reason = f"{run.describe()}: runs {when}"
    base = classify(d, current, facts)
    if base.action in (Action.ERROR, Action.CONFLICT, Action.TERMINATING):
        return base
    if current is None:
        return Planned(base.action, reason, d.obj, missing=False, dry_run=base.dry_run, after=base.after)
    if run.hook.deleted_before_creation:
        return Planned(
            Action.RECREATE,
            f"{reason}; the previous copy is deleted first (before-hook-creation)",
            d.obj,
            before=clean(current),
            after=clean(d.obj),
        )
    return Planned(Action.UPDATE, reason, d.obj, before=clean(current), dry_run=True)
