"""`razee diff`: what `razee apply` would change in a spoke, or what a change to the fleet repo changes anywhere."""

from __future__ import annotations

import json
from typing import Any

import click

from razee.cli.context import CliState
from razee.cli.kube_options import cluster_options, target_and_options, trusted_keys
from razee.cli.options import repo_options
from razee.cli.present import diff_exit_code, show_plans
from razee.errors import EXIT_CHANGES, EXIT_OK, UsageError
from razee.output import stdout_console, write
from razee.reconcile.flow import ApplyMode, Intent, reconcile
from razee.reconcile.load import Selection, fleet_tree
from razee.reconcile.plan import Pass


@click.command("diff")
@repo_options
@cluster_options
@click.option(
    "--from",
    "from_rev",
    default=None,
    metavar="REV",
    help="Preview the change from this revision of the fleet repo (no cluster needed).",
)
@click.option(
    "--to",
    "to_rev",
    default=None,
    metavar="REV",
    help="With --from: the revision to compare with. Default: the working tree.",
)
@click.option("--region", default=None, metavar="NAME", help="With --from: only the spokes of this region.")
@click.option(
    "-o",
    "--output",
    type=click.Choice(["text", "json", "markdown"]),
    default="text",
    show_default=True,
    help="markdown (with --from only) prints a summary fit for a pull-request comment.",
)
@click.pass_obj
def diff_cmd(
    state: CliState,
    /,
    repo: str | None,
    rev: str | None,
    from_rev: str | None,
    to_rev: str | None,
    region: str | None,
    output: str,
    **kw: Any,
) -> None:
    """Dry-run diff. Exit 0 no changes, 1 changes, 2 or more an error. Changes nothing.

    With --spoke: what `razee apply` would change in that spoke's cluster and infrastructure. Kubernetes objects
    are compared field by field and only those that differ get a server-side dry run. Secret values are masked.

    With --from REV [--to REV]: what a change to the fleet repo changes, spoke by spoke, across the fleet, from
    the two revisions alone. Spokes whose inputs did not change are not rendered.
    """
    if from_rev or to_rev:
        _preview(state, repo, rev, from_rev, to_rev, region, output, kw)
        return
    if region:
        raise UsageError("--region goes with --from; a cluster diff needs one --spoke")
    if output == "markdown":
        raise UsageError("-o markdown goes with --from")
    keys = trusted_keys(kw)
    target, options = target_and_options(kw, state.render.age_identity)

    def show(run: Pass) -> None:
        if output == "json":
            write(json.dumps(run.to_json(), indent=2) + "\n")
        else:
            show_plans(run)

    with fleet_tree(repo, rev, keys) as root:
        result = reconcile(root, target, options, Intent(ApplyMode.NEVER), state.render_cache(), on_plan=show)
    raise click.exceptions.Exit(diff_exit_code(result.run))


def _preview(
    state: CliState,
    repo: str | None,
    rev: str | None,
    from_rev: str | None,
    to_rev: str | None,
    region: str | None,
    output: str,
    kw: dict[str, Any],
) -> None:
    if not from_rev:
        raise UsageError("--to needs --from")
    if rev:
        raise UsageError("--rev does not go with --from/--to")
    for option in ("kubeconfig", "context", "infra_db", "state_dir"):
        if kw.get(option):
            raise UsageError(f"--{option.replace('_', '-')} has no effect with --from: a preview needs no cluster")
    from razee.preview.format import preview_json, preview_lines, preview_markdown
    from razee.preview.run import preview_revisions

    selection = Selection(spoke=kw.get("spoke"), region=region)
    preview = preview_revisions(repo, from_rev, to_rev, selection, settings=state.render)
    if output == "json":
        write(preview_json(preview))
    elif output == "markdown":
        write(preview_markdown(preview))
    else:
        console = stdout_console()
        for line in preview_lines(preview):
            console.print(line)
    raise click.exceptions.Exit(EXIT_CHANGES if preview.has_changes else EXIT_OK)
