"""`razee bootstrap`: put the first agent on a spoke and register it with the hub."""

from __future__ import annotations

import os
from pathlib import Path

import click

from razee.bootstrap import BootstrapSettings, bootstrap
from razee.cli.context import CliState
from razee.errors import UsageError
from razee.output import note


def _secret(path: Path | None, env: str, what: str) -> str | None:
    """A secret from a file, else from the environment: never from the command line, where `ps` shows it."""
    if path is not None:
        value = path.read_text(encoding="utf-8").strip()
        if not value:
            raise UsageError(f"{path}: the {what} file is empty")
        return value
    return os.environ.get(env) or None


@click.command("bootstrap")
@click.option("--spoke", required=True, metavar="NAME", help="The spoke to put the agent on.")
@click.option(
    "--hub",
    required=True,
    metavar="URL[,URL...]",
    help="The hub, as this machine reaches it (for the token); several, comma-separated, are tried in order.",
)
@click.option(
    "--repo",
    required=True,
    metavar="URL|PATH",
    help="The fleet repo the agent follows: rendered to find the agent's objects.",
)
@click.option("--branch", default="main", show_default=True)
@click.option(
    "--admin-token-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="File with a hub admin token (or set RAZEE_HUB_ADMIN_TOKEN).",
)
@click.option(
    "--git-token-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="File with the token the agent sends to the git server (or set RAZEE_GIT_TOKEN). "
    "Kept from an earlier run when not given.",
)
@click.option(
    "--rotate-token", is_flag=True, help="Give the agent a new hub token, restart it, then revoke the old token."
)
@click.option("--kubeconfig", default=None, metavar="FILE", help="The spoke's kubeconfig. Default: as kubectl.")
@click.option("--context", default=None, metavar="NAME")
@click.pass_obj
def bootstrap_cmd(
    state: CliState,
    /,
    spoke: str,
    hub: str,
    repo: str,
    branch: str,
    admin_token_file: Path | None,
    git_token_file: Path | None,
    rotate_token: bool,
    kubeconfig: str | None,
    context: str | None,
) -> None:
    """Register SPOKE's agent with the hub and start it: after this the agent manages itself from the repo.

    Creates the spoke's agent token on the hub (reusing a valid one already in the cluster), writes it and the git
    token into the Secret the agent reads in razee-system, and applies the agent's own objects as the fleet repo
    renders them. Running it again changes nothing; --rotate-token replaces the token.
    """
    admin = _secret(admin_token_file, "RAZEE_HUB_ADMIN_TOKEN", "admin token")
    if not admin:
        raise UsageError("an admin token is required: --admin-token-file FILE or RAZEE_HUB_ADMIN_TOKEN")
    git_token = _secret(git_token_file, "RAZEE_GIT_TOKEN", "git token")
    if git_token_file is not None and git_token:
        os.environ["RAZEE_GIT_TOKEN"] = git_token  # the fetch of --repo below authenticates like the agent will
    result = bootstrap(
        BootstrapSettings(
            spoke=spoke,
            hub=hub,
            repo=repo,
            branch=branch,
            admin_token=admin,
            git_token=git_token,
            kubeconfig=kubeconfig,
            context=context,
            rotate_token=rotate_token,
            age_identity=state.render.age_identity,
        )
    )
    for line in result.notes:
        note(f"note: {line}")
    note(f"agent objects: {len(result.applied)} applied" if result.applied else "agent objects: unchanged")
    note(f"hub token {result.token_id}: {result.token}" + (f"; revoked {result.revoked}" if result.revoked else ""))
    note("credentials Secret: " + ("written" if result.secret_changed else "unchanged"))
