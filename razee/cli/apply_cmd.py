"""`razee apply`: make a spoke's cluster match the fleet repo."""

from __future__ import annotations

import sys

import click
from rich.progress import Progress

from razee.cli.kube_options import cluster_options
from razee.cli.options import repo_options
from razee.errors import EXIT_SERVICE
from razee.output import error, note, stdout_console
from razee.pipeline import fleet_tree
from razee.plan.format import print_plan
from razee.plan.model import Change
from razee.reconcile import Target, plan_spoke


@click.command("apply")
@repo_options
@cluster_options
@click.option("--prune/--no-prune", default=True, show_default=True,
              help="Delete objects razee manages that left the fleet repo.")
@click.option("--allow-mass-prune", is_flag=True, help="Allow a prune that deletes most of what razee manages.")
@click.option("--concurrency", type=click.IntRange(1, 64), default=8, show_default=True,
              help="Parallel requests within an apply stage.")
@click.option("--wait", is_flag=True, help="Wait until workloads roll out, CRDs are Established and custom "
              "resources are Ready; exit 1 naming what is not healthy.")
@click.option("--timeout", type=click.FloatRange(1), default=300, show_default=True, help="Seconds --wait waits.")
@click.option("-q", "--quiet", is_flag=True, help="Print only the summary, not the diff.")
def apply_cmd(repo: str | None, rev: str | None, spoke: str, kubeconfig: str | None, context: str | None,
              prune: bool, allow_mass_prune: bool, concurrency: int, wait: bool, timeout: float,
              quiet: bool) -> None:
    """Apply a spoke's desired state with server-side apply (field manager `razee`), in dependency order.

    Conflicts with other field managers stop the apply before anything changes, unless the object is annotated
    razee.io/force: "true". Pruning runs last, and only when everything else applied.

    Exit 0 when all applied (and, with --wait, became healthy); 1 when a prune was refused or something is not
    healthy; 2 for input errors and conflicts (nothing applied); 4 when the cluster failed a request.
    """
    with fleet_tree(repo, rev) as root:
        run = plan_spoke(root, Target(spoke, kubeconfig, context), prune=prune, allow_mass_prune=allow_mass_prune,
                         concurrency=concurrency)
    try:
        if not quiet:
            print_plan(run.plan, stdout_console())
        total = sum(1 for c in run.plan.changes if c.changes_cluster)
        if sys.stderr.isatty() and total:
            with Progress(transient=True) as bar:
                task = bar.add_task("applying", total=total)

                def tick(change: Change, failure: str | None) -> None:
                    bar.advance(task)

                result = run.apply(tick)
        else:
            result = run.apply()
        unhealthy = run.wait(timeout) if wait and result.ok else {}
    finally:
        run.close()
    for key, health in sorted(unhealthy.items()):
        error(f"{key}: {health.status.value}: {health.reason}")
    for key, message in result.failed:
        error(f"{key}: {message}")
    note(f"applied {len(result.applied)}, pruned {len(result.pruned)}, failed {len(result.failed)} "
         f"({result.requests} API requests)")
    if run.plan.prune_refused:
        error(f"prune refused: {run.plan.prune_refused}")
    if result.failed:
        raise click.exceptions.Exit(EXIT_SERVICE)
    if run.plan.prune_refused or unhealthy:
        raise click.exceptions.Exit(1)
