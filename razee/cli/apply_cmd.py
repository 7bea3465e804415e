"""`razee apply`: make a spoke's cluster and infrastructure match the fleet repo."""

from __future__ import annotations

import sys
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

import click

from razee.cli.context import CliState
from razee.cli.kube_options import cluster_options, target_and_options, trusted_keys
from razee.cli.options import repo_options
from razee.cli.present import apply_exit_code, show_applied, show_plans
from razee.output import error
from razee.plan.model import Change
from razee.reconcile.flow import ApplyMode, Intent, reconcile
from razee.reconcile.load import fleet_tree
from razee.reconcile.plan import Pass


@click.command("apply")
@repo_options
@cluster_options
@click.option(
    "--wait",
    is_flag=True,
    help="Wait until workloads roll out, CRDs are Established and custom "
    "resources are Ready; exit 1 naming what is not healthy.",
)
@click.option("--timeout", type=click.FloatRange(1), default=300, show_default=True, help="Seconds --wait waits.")
@click.option("-q", "--quiet", is_flag=True, help="Print only the summary, not the diff.")
@click.pass_obj
def apply_cmd(
    state: CliState, /, repo: str | None, rev: str | None, wait: bool, timeout: float, quiet: bool, **kw: Any
) -> None:
    """Apply a spoke's desired state: Kubernetes objects by server-side apply (field manager `razee`) in
    dependency order, then infrastructure changes wave by wave.

    Conflicts with other field managers stop the apply before anything changes, unless the object is annotated
    razee.io/force: "true" or --force-conflicts is given. An object another spoke declares and owns is held
    back and the rest applies. Pruning runs last, only when everything else applied, deletes only objects still
    labelled for this spoke, and is done when they are gone.

    Exit 0 when all applied (and, with --wait, became healthy); 1 when a prune was refused or is still
    terminating, or something is not healthy; 2 for input errors and conflicts (nothing applied) or objects held
    back; 4 when the cluster or provider failed a request.
    """
    keys = trusted_keys(kw)
    target, options = target_and_options(kw, state.render.age_identity)
    intent = Intent(ApplyMode.ALWAYS, health_wait=timeout if wait else None)
    with fleet_tree(repo, rev, keys) as root, _Screen(quiet) as screen:
        result = reconcile(
            root, target, options, intent, state.render_cache(), on_plan=screen.planned, progress=screen.applied
        )
    show_applied(result)
    if result.error is not None:
        raise result.error
    if result.health_error is not None:
        raise result.health_error
    for key, health in sorted(result.unhealthy.items()):
        error(f"{key}: {health.status.value}: {health.reason}")
    code = apply_exit_code(result)
    if code:
        raise click.exceptions.Exit(code)


class _Screen(ExitStack):
    """The plan as it is made, then a progress bar on a terminal while objects apply (none in a pipe)."""

    def __init__(self, quiet: bool) -> None:
        super().__init__()
        self.quiet = quiet
        self.advance: Callable[[], None] | None = None

    def planned(self, run: Pass) -> None:
        if not self.quiet:
            show_plans(run)
        total = sum(1 for c in run.kube.plan.changes if c.changes_cluster) if run.kube else 0
        if sys.stderr.isatty() and total:
            from rich.progress import Progress

            bar = self.enter_context(Progress(transient=True))
            task = bar.add_task("applying", total=total)
            self.advance = lambda: bar.advance(task)

    def applied(self, change: Change, failure: str | None) -> None:
        if self.advance is not None:
            self.advance()
