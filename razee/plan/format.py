"""Rendering a plan for people (coloured unified diffs) and machines (JSON)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

from razee.plan.model import Action, Plan
from razee.plan.view import unified_diff

_STYLE = {"+": "green", "-": "red", "@": "cyan"}


def print_plan(plan: Plan, console: Console) -> None:
    from rich.text import Text

    for change in plan.changes:
        if change.action == Action.UNCHANGED:
            continue
        header = f"{change.action.value} {change.key}: {change.reason}"
        if change.source:
            header += f"  [{change.source}]"
        console.print(Text(header, style="bold"))
        for conflict in change.conflicts:
            console.print(Text(f"  conflict: {conflict}", style="yellow"))
        for taken in change.takeovers:
            console.print(Text(f"  takes over {taken['path']} from {taken['manager']}", style="yellow"))
        if change.action in (Action.CREATE, Action.UPDATE, Action.PRUNE, Action.RECREATE):
            after = None if change.action == Action.PRUNE else change.after
            diff = unified_diff(change.before, after, str(change.key).replace(" ", "/"))
            for line in diff.splitlines():
                style = _STYLE.get(line[:1]) if not line.startswith(("+++", "---")) else "bold"
                console.print(Text(line, style=style or ""))
    for warning in plan.warnings:
        console.print(Text(f"warning: {warning}", style="yellow"))
    console.print(Text(plan.summary(), style="bold"))


def plan_json(plan: Plan) -> str:
    return json.dumps(plan.to_json(), indent=2, sort_keys=False) + "\n"

