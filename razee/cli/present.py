"""Showing a pass to people: its plans on stdout, what applying did on stderr; the exit code it earns.

`razee diff` and `razee apply` both show a pass through here, so the same plan reads the same in both.
"""

from __future__ import annotations

from razee.errors import EXIT_CHANGES, EXIT_OK, EXIT_SERVICE, EXIT_USER_ERROR
from razee.infra.report import infra_plan_lines
from razee.output import Lines, error, note
from razee.plan.format import plan_lines
from razee.reconcile.flow import PassResult
from razee.reconcile.plan import Pass


def show_plans(run: Pass) -> None:
    """The Kubernetes diff, then the infrastructure plan, coloured on a terminal; what expanding the spoke's
    sources wants said (a test hook dropped, a last good chart used) on stderr."""
    lines = Lines()
    for text, style in (plan_lines(run.kube.plan) if run.kube else []) + (
        infra_plan_lines(run.infra.plan) if run.infra else []
    ):
        lines.line(text, style)
    for said in run.notes:
        note(f"note: {said}")


def diff_exit_code(run: Pass) -> int:
    """`razee diff`: 0 nothing to change, 1 changes, 2 the plan has errors."""
    if run.has_errors:
        return EXIT_USER_ERROR
    return EXIT_CHANGES if run.has_changes else EXIT_OK


def show_applied(result: PassResult) -> None:
    """What the apply did: every failure, hold and refusal on a line of its own, then one summary per side."""
    run, applied, infra = result.run, result.applied, result.infra
    if run.kube and applied is not None:
        for key, message in applied.failed:
            error(f"{key}: {message}")
        for key, message in applied.held:
            error(f"{key}: held back: {message}")
        for key, message in applied.terminating:
            error(f"{key}: not done: {message}")
        note(
            f"kubernetes: applied {len(applied.applied)}, pruned {len(applied.pruned)}, failed {len(applied.failed)}"
            + (f", held {len(applied.held)}" if applied.held else "")
            + (f", terminating {len(applied.terminating)}" if applied.terminating else "")
            + (f", let go of {len(applied.released)}" if applied.released else "")
            + f" ({result.requests} API requests, the plan's included)"
        )
        if run.kube.plan.prune_refused:
            error(f"prune refused: {run.kube.plan.prune_refused}")
    if run.infra and infra is not None:
        for change, message in infra.failed:
            error(f"infrastructure: {change.describe()}: {message}")
        note(
            f"infrastructure: {len(infra.done)} done, {len(infra.failed)} failed, {infra.retries} retried"
            + (f"; {infra.stopped}" if infra.stopped else "")
        )
        if run.infra.plan.refused:
            error(f"infrastructure deletion refused: {run.infra.plan.refused}")


def apply_exit_code(result: PassResult) -> int:
    """`razee apply`: 4 a request failed, 2 objects held back, 1 a refusal, a prune not done or unhealthy, else 0."""
    run, applied, infra = result.run, result.applied, result.infra
    if not result.ok:
        return EXIT_SERVICE
    if applied is not None and applied.held:
        return EXIT_USER_ERROR
    refused = bool(run.kube and applied is not None and (run.kube.plan.prune_refused or applied.terminating))
    refused |= bool(run.infra and infra is not None and (run.infra.plan.refused or infra.stopped))
    return EXIT_CHANGES if refused or result.unhealthy else EXIT_OK
