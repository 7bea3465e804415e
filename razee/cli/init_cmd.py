"""`razee init`: start a fleet repo of one's own."""

from __future__ import annotations

from pathlib import Path

import click

from razee.output import note
from razee.scaffold import FleetSettings, write_fleet

_DEFAULTS = FleetSettings()


@click.command("init")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--name", "fleet", default=_DEFAULTS.fleet, show_default=True, help="The fleet's name.")
@click.option("--region", default=_DEFAULTS.region, show_default=True)
@click.option("--zone", default=_DEFAULTS.zone, show_default=True)
@click.option("--spoke", default=_DEFAULTS.spoke, show_default=True, help="The first spoke.")
@click.option("--wave", default=_DEFAULTS.wave, show_default=True, help="The one rollout wave.")
@click.option(
    "--fleet-repo",
    default=_DEFAULTS.fleet_repo,
    show_default=True,
    metavar="URL",
    help="Where the repo will be served from: the URL agents follow.",
)
@click.option("--branch", default=_DEFAULTS.branch, show_default=True, help="The branch agents follow.")
@click.option("--hub", default=_DEFAULTS.hub, metavar="URL", help="The hub's URL as agents reach it (empty: none).")
@click.option("--image", default=_DEFAULTS.image, show_default=True, help="The razee image agents run.")
def init_cmd(
    directory: Path,
    fleet: str,
    region: str,
    zone: str,
    spoke: str,
    wave: str,
    fleet_repo: str,
    branch: str,
    hub: str,
    image: str,
) -> None:
    """Write a minimal fleet repo into DIRECTORY (new or empty): one region, one spoke, one wave, the agent.

    The repo is checked (schema, templates, policy gate) before anything is written. Then: `git init`, commit,
    push it where --fleet-repo points, and put the first agent on the spoke with `razee bootstrap`.
    """
    settings = FleetSettings(
        fleet=fleet,
        region=region,
        zone=zone,
        spoke=spoke,
        wave=wave,
        fleet_repo=fleet_repo,
        branch=branch,
        hub=hub,
        image=image,
    )
    written = write_fleet(directory, settings)
    for path in written:
        note(f"  {directory / path}")
    note(f"wrote a fleet repo with {len(written)} files; next: razee validate --repo {directory}")
