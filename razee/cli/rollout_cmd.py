"""`razee rollout`: watch and steer the progressive rollout across waves (through the hub)."""

from __future__ import annotations

import json

import click

from razee.output import note, stdout_console, write


def _hub_options(f: click.decorators.FC) -> click.decorators.FC:
    f = click.option("--token", envvar="RAZEE_HUB_TOKEN", default=None, help="Hub token (or RAZEE_HUB_TOKEN).")(f)
    f = click.option("--hub", envvar="RAZEE_HUB", default="http://127.0.0.1:8080", show_default=True)(f)
    return f


@click.group("rollout")
def rollout_group() -> None:
    """Progressive rollout: each wave takes a revision only after earlier waves applied it, are healthy and baked."""


@rollout_group.command("status")
@_hub_options
@click.option("-o", "--output", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.argument("revision", required=False)
def status(hub: str, token: str | None, output: str, revision: str | None) -> None:
    """Where REVISION (default: the newest reported) stands: applied, failed, pending, and why it is halted."""
    show_rollout(hub, token, output, revision)


def show_rollout(hub: str, token: str | None, output: str, revision: str | None) -> None:
    from razee.hub.client import get

    state = get(hub, token, "/api/v1/rollout", {"revision": revision})
    if output == "json":
        write(json.dumps(state, indent=2) + "\n")
        return
    console = stdout_console()
    console.print(f"revision {state['revision'][:12]}")
    for key in ("applied", "failed", "pending"):
        console.print(f"  {key:8} {len(state[key]):3}  {', '.join(state[key])}")
    if state.get("halted"):
        console.print(f"  HALTED: {state['halted']}")


@rollout_group.command("pause")
@_hub_options
def pause(hub: str, token: str | None) -> None:
    """Stop every wave from taking new revisions (admin token); spokes keep enforcing what they run."""
    from razee.hub.client import post

    post(hub, token, "/api/v1/rollout/pause")
    note("rollout paused")


@rollout_group.command("resume")
@_hub_options
def resume(hub: str, token: str | None) -> None:
    """Let waves advance again (admin token)."""
    from razee.hub.client import post

    post(hub, token, "/api/v1/rollout/resume")
    note("rollout resumed")


@rollout_group.command("approve")
@_hub_options
@click.option("--revision", required=True, help="The revision the wave may take.")
@click.argument("wave")
def approve(hub: str, token: str | None, revision: str, wave: str) -> None:
    """Approve WAVE (one that requires approval) for a revision (admin token)."""
    from razee.hub.client import post

    post(hub, token, "/api/v1/rollout/approve", {"revision": revision, "wave": wave})
    note(f"wave {wave} approved for {revision[:12]}")
