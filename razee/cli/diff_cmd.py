"""`razee diff`: what `razee apply` would change in a spoke's cluster, and why. Changes nothing."""

from __future__ import annotations

import click

from razee.cli.kube_options import cluster_options
from razee.cli.options import repo_options
from razee.errors import EXIT_CHANGES, EXIT_OK, EXIT_USER_ERROR
from razee.output import stdout_console, write
from razee.pipeline import fleet_tree
from razee.plan.format import plan_json, print_plan
from razee.reconcile import Target, plan_spoke


@click.command("diff")
@repo_options
@cluster_options
@click.option("-o", "--output", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--prune/--no-prune", default=True, show_default=True, help="Show objects that would be pruned.")
def diff_cmd(repo: str | None, rev: str | None, spoke: str, kubeconfig: str | None, context: str | None,
             output: str, prune: bool) -> None:
    """Dry-run diff of a spoke against its cluster: exit 0 no changes, 1 changes, 2 or more an error.

    Secret values are masked. Only objects whose declared fields differ get a server-side dry run.
    """
    with fleet_tree(repo, rev) as root:
        run = plan_spoke(root, Target(spoke, kubeconfig, context), prune=prune)
    try:
        if output == "json":
            write(plan_json(run.plan))
        else:
            print_plan(run.plan, stdout_console())
    finally:
        run.close()
    if run.plan.has_errors:
        raise click.exceptions.Exit(EXIT_USER_ERROR)
    raise click.exceptions.Exit(EXIT_CHANGES if run.plan.has_changes else EXIT_OK)
