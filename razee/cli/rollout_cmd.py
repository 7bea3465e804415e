"""`razee rollout`: watch and steer the progressive rollout across waves (through the hub)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click

from razee.cli.hub_options import hub_options
from razee.output import note, stdout_console, write

if TYPE_CHECKING:
    from rich.console import Console


_hub_options = hub_options


@click.group("rollout")
def rollout_group() -> None:
    """Progressive rollout: each wave takes a revision only after earlier waves applied it, are healthy and baked."""


@rollout_group.command("status")
@_hub_options
@click.option("-o", "--output", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.argument("revision", required=False)
def status(hub: str, token: str | None, output: str, revision: str | None) -> None:
    """Where REVISION (default: the newest committed) stands, wave by wave: applied, waiting (and for what),
    failed, and why it is halted."""
    show_rollout(hub, token, output, revision)


def show_rollout(hub: str, token: str | None, output: str, revision: str | None) -> None:
    from razee.cli.hub_access import get

    state = get(hub, token, "/api/v1/rollout", {"revision": revision})
    if output == "json":
        write(json.dumps(state, indent=2) + "\n")
        return
    console = stdout_console()
    head = f"revision {state['revision'][:12]}"
    if state.get("message"):
        head += f"  {state['message']}  ({state.get('author', '')})"
    console.print(head, markup=False, highlight=False)
    if state.get("pausedBy"):
        console.print(f"  PAUSED by {state['pausedBy']}", markup=False)
    if state.get("supersededBy"):
        console.print(
            f"  superseded by {state['supersededBy'][:12]} (shown as it stood then)", markup=False, highlight=False
        )
    for wave in state.get("waves", []):
        gate = "may take it" if wave["gate"]["allowed"] else wave["gate"]["reason"]
        console.print(f"  wave {wave['name']} ({len(wave['members'])} spokes): {gate}", markup=False, highlight=False)
        if wave.get("approvedBy"):
            console.print(f"    approved by {wave['approvedBy']}", markup=False)
        for label, spokes in (("applied", wave["applied"]), ("failed", wave["failed"] + wave["timedOut"])):
            if spokes:
                console.print(f"    {label:8} {', '.join(spokes)}", markup=False, highlight=False)
        for spoke, why in wave["waiting"].items():
            console.print(f"    waiting  {spoke}: {why}", markup=False, highlight=False)
        if wave.get("skipped"):
            console.print(f"    skipped  {', '.join(wave['skipped'])}", markup=False, highlight=False)
    for key in ("applied", "failed", "pending", "skipped"):
        if key in state and (state[key] or key != "skipped"):
            console.print(f"  {key:8} {len(state[key]):3}  {', '.join(state[key])}", markup=False, highlight=False)
    if state.get("neverReported"):
        console.print(f"  never reported: {', '.join(state['neverReported'])}", markup=False, highlight=False)
    if state.get("halted"):
        console.print(f"  HALTED: {state['halted']}", markup=False, highlight=False)
    _show_safety(console, state)


def _show_safety(console: Console, state: dict[str, Any]) -> None:
    """Checks that did not pass, and the spokes the hub sent back to their last good revision."""
    for c in state.get("checks", []):
        if c["result"] != "pass":
            value = "no data" if c["value"] is None else f"{c['value']:g}"
            why = f": {c['error']}" if c.get("error") else ""
            console.print(
                f"  check {c['check']} on {c['spoke']}: {c['result']} = {value} ({c['threshold']}){why}",
                markup=False,
                highlight=False,
            )
    for rb in state.get("rollbacks", []):
        console.print(
            f"  ROLLED BACK {rb['spoke']} from {rb['from'][:12]} to {rb['to'][:12]} by {rb['by']}: {rb['reason']}",
            markup=False,
            highlight=False,
        )


@rollout_group.command("pause")
@_hub_options
def pause(hub: str, token: str | None) -> None:
    """Stop every wave from taking new revisions (admin token); spokes keep enforcing what they run."""
    from razee.cli.hub_access import post

    post(hub, token, "/api/v1/rollout/pause")
    note("rollout paused")


@rollout_group.command("resume")
@_hub_options
def resume(hub: str, token: str | None) -> None:
    """Let waves advance again (admin token)."""
    from razee.cli.hub_access import post

    post(hub, token, "/api/v1/rollout/resume")
    note("rollout resumed")


@rollout_group.command("approve")
@_hub_options
@click.option("--revision", required=True, help="The revision the wave may take.")
@click.argument("wave")
def approve(hub: str, token: str | None, revision: str, wave: str) -> None:
    """Approve WAVE (one that requires approval) for a revision (admin token)."""
    from razee.cli.hub_access import post

    post(hub, token, "/api/v1/rollout/approve", {"revision": revision, "wave": wave})
    note(f"wave {wave} approved for {revision[:12]}")
