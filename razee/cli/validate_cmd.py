"""`razee validate`: check the schema and templates of a fleet repo without touching any cluster."""

from __future__ import annotations

import click

from razee.cli.context import CliState
from razee.cli.options import repo_options, selection_options
from razee.errors import EXIT_USER_ERROR, InputError
from razee.output import error, write
from razee.reconcile.load import Selection, fleet_tree, render


@click.command()
@repo_options
@selection_options
@click.pass_obj
def validate(state: CliState, /, repo: str | None, rev: str | None, spoke: str | None, region: str | None) -> None:
    """Check the fleet files and render every template. Exit 2 and list each problem as file:line: field: message.

    2, the input-error code: `diff`, `render` and `apply` exit 2 for the same fleet repo, so a CI gate means the
    same thing whichever command it runs.
    """
    with fleet_tree(repo, rev) as root:
        try:
            fleet, results = render(root, Selection(spoke=spoke, region=region), settings=state.render)
        except InputError as e:
            for f in e.findings:
                error(str(f))
            raise click.exceptions.Exit(EXIT_USER_ERROR) from e
    objects = sum(len(r.manifests) for r in results)
    clusters = sum(len(r.clusters) for r in fleet.regions)
    write(f"ok: {len(fleet.regions)} regions, {len(results)} spokes, {clusters} clusters, {objects} objects rendered\n")
