"""One pass, the one flow every entry point runs: render, gate, plan, apply, health.

`razee diff`, `razee apply` and each agent pass call `reconcile()` and present the `PassResult` it returns; none of
them spells the steps out. The steps, in order: the revision's tree is rendered and passes the policy gate
(razee.reconcile.load, from the render cache when its inputs are unchanged); Kubernetes and infrastructure are
planned (razee.reconcile.plan); what `Intent` allows is applied, Kubernetes first and infrastructure only if
Kubernetes succeeded; then health is read. What the revision is, and whether the rollout lets this spoke take it,
the caller decides before (the CLI's `fleet_tree`, the agent's source and rollout question).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from razee.errors import RazeeError
from razee.kube.applier import ApplyResult, Progress
from razee.kube.health import Health
from razee.kube.session import PassSession
from razee.objects import ObjectKey
from razee.reconcile.plan import Pass, PassOptions, Target, plan_spoke
from razee.render.cache import RenderCache
from razee.wire import PassOutcome

if TYPE_CHECKING:
    from razee.infra.executor import InfraResult


class ApplyMode(StrEnum):
    """What a pass does with its plan."""

    NEVER = "never"
    """Plan only (`razee diff`)."""
    STANDBY = "standby"
    """Plan only, as an agent replica that does not hold the Lease: the outcome is `standby`."""
    CHANGES = "changes"
    """Apply when the plan changes something (the agent: an idle pass writes nothing)."""
    ALWAYS = "always"
    """Carry the plan out even when it changes nothing (`razee apply`: held objects are reported, the inventory
    is brought up to date)."""


@dataclass(frozen=True)
class Intent:
    """What the caller allows a pass to do."""

    apply: ApplyMode = ApplyMode.ALWAYS
    applied_before: bool = False
    """The revision was applied already: what the plan would change is drift."""
    heal: bool = True
    """With drift: correct it (the agent's --self-heal); else it is only reported."""
    health_wait: float | None = None
    """Seconds to wait for health after applying; 0 reads it once; None does not read it. A pass that changed
    nothing reads it from the live state it planned with; a failed apply is not waited on (only read with 0)."""


@dataclass
class PassResult:
    """How one pass ended, and everything it found, for the caller to present or report."""

    outcome: PassOutcome
    run: Pass
    """The plans (Kubernetes, infrastructure), with the spoke's region and wave."""
    drift: bool = False
    """The revision was applied before and the plan found changes."""
    applied: ApplyResult | None = None
    infra: InfraResult | None = None
    unhealthy: dict[ObjectKey, Health] = field(default_factory=dict)
    health_error: RazeeError | None = None
    """Health could not be read (the caller decides whether that fails the command)."""
    error: RazeeError | None = None
    """The apply stopped before it started (a plan with conflicts or errors) or was interrupted by an error."""
    durations: dict[str, float] = field(default_factory=dict)

    @property
    def requests(self) -> int:
        """API requests of the pass: the plan's reads, then the apply's."""
        planned = self.run.kube.plan.requests if self.run.kube else 0
        return planned + (self.applied.requests if self.applied else 0)

    @property
    def kube_ok(self) -> bool:
        return self.applied is None or self.applied.ok

    @property
    def ok(self) -> bool:
        return self.error is None and self.kube_ok and (self.infra is None or not self.infra.failed)


OnPlan = Callable[[Pass], None]


def reconcile(
    root: Path,
    target: Target,
    options: PassOptions,
    intent: Intent,
    cache: RenderCache | None = None,
    session: PassSession | None = None,
    on_plan: OnPlan | None = None,
    progress: Progress | None = None,
) -> PassResult:
    """Render, plan and (as `intent` allows) apply one spoke's revision in `root`; then read its health.

    Render and plan errors raise (nothing was applied); errors after planning are kept in the result with the
    plans, so a report says what the pass found. `on_plan` sees the plans before anything is applied (the CLI
    shows the diff there); `progress` is called once per object applied.
    """
    t0 = time.monotonic()
    run = plan_spoke(root, target, options, cache, session)
    try:
        result = PassResult(PassOutcome.FAILED, run, drift=intent.applied_before and run.has_changes)
        result.durations["plan"] = time.monotonic() - t0
        if on_plan is not None:
            on_plan(run)
        _carry_out(result, intent, progress)
        return result
    finally:
        run.close()


def _carry_out(result: PassResult, intent: Intent, progress: Progress | None) -> None:
    run = result.run
    if intent.apply in (ApplyMode.NEVER, ApplyMode.STANDBY):
        result.outcome = (
            PassOutcome.STANDBY
            if intent.apply == ApplyMode.STANDBY
            else PassOutcome.PLANNED
            if run.has_changes
            else PassOutcome.IN_SYNC
        )
        return
    if not run.has_changes and intent.apply == ApplyMode.CHANGES:
        result.outcome = PassOutcome.IN_SYNC
        _read_health(result, intent)
        return
    if result.drift and not intent.heal:
        result.outcome = PassOutcome.DRIFTED
        return
    changes = run.has_changes
    t1 = time.monotonic()
    try:
        if run.kube:
            result.applied = run.kube.apply(progress)
        if run.infra and result.kube_ok:
            result.infra = run.infra.apply()
    except RazeeError as e:
        result.error = e
        return
    finally:
        result.durations["apply"] = time.monotonic() - t1
    if not result.ok:
        result.outcome = PassOutcome.FAILED
    else:
        result.outcome = PassOutcome.HEALED if result.drift else PassOutcome.APPLIED if changes else PassOutcome.IN_SYNC
    _read_health(result, intent)


def _read_health(result: PassResult, intent: Intent) -> None:
    """Objects not healthy after the pass (see Intent.health_wait); a failure to read is kept, not raised."""
    kube = result.run.kube
    wait = intent.health_wait
    if kube is None or wait is None or (wait > 0 and not result.ok):
        return
    try:
        if wait == 0 and not result.run.has_changes:
            result.unhealthy = kube.health_as_planned()
        else:
            result.unhealthy = kube.wait(wait)
    except RazeeError as e:
        result.health_error = e
