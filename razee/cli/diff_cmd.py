"""`razee diff`: what `razee apply` would change in a spoke's cluster and infrastructure, and why."""

from __future__ import annotations

import json
from typing import Any

import click

from razee.cli.kube_options import cluster_options, target_and_options
from razee.cli.options import repo_options
from razee.errors import EXIT_CHANGES, EXIT_OK, EXIT_USER_ERROR
from razee.infra.report import print_infra_plan
from razee.output import stdout_console, write
from razee.pipeline import fleet_tree
from razee.plan.format import print_plan
from razee.reconcile import plan_spoke


@click.command("diff")
@repo_options
@cluster_options
@click.option("-o", "--output", type=click.Choice(["text", "json"]), default="text", show_default=True)
def diff_cmd(repo: str | None, rev: str | None, output: str, **kw: Any) -> None:
    """Dry-run diff of a spoke: exit 0 no changes, 1 changes, 2 or more an error. Changes nothing.

    Kubernetes objects are compared field by field and only those that differ get a server-side dry run; Secret
    values are masked. Infrastructure changes are planned against the provider's current state.
    """
    target, options = target_and_options(kw)
    with fleet_tree(repo, rev) as root:
        run = plan_spoke(root, target, options)
    try:
        if output == "json":
            write(json.dumps(run.to_json(), indent=2) + "\n")
        else:
            console = stdout_console()
            if run.kube:
                print_plan(run.kube.plan, console)
            if run.infra:
                print_infra_plan(run.infra.plan, console)
    finally:
        run.close()
    if run.has_errors:
        raise click.exceptions.Exit(EXIT_USER_ERROR)
    raise click.exceptions.Exit(EXIT_CHANGES if run.has_changes else EXIT_OK)
