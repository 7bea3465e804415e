"""Rendering a plan for people (coloured unified diffs) and machines (JSON)."""

from __future__ import annotations

import json

from razee.output import Lines
from razee.plan.model import Action, Plan
from razee.plan.view import unified_diff

_STYLE = {"+": "green", "-": "red", "@": "cyan"}


def print_plan(plan: Plan, out: Lines) -> None:
    for change in plan.changes:
        if change.action == Action.UNCHANGED:
            continue
        header = f"{change.action.value} {change.key}: {change.reason}"
        if change.source and f"[{change.source}]" not in change.reason:  # some reasons name it already
            header += f"  [{change.source}]"
        out.line(header, "bold")
        for conflict in change.conflicts:
            out.line(f"  conflict: {conflict}", "yellow")
        for taken in change.takeovers:
            out.line(f"  takes over {taken['path']} from {taken['manager']}", "yellow")
        if change.action in (Action.CREATE, Action.UPDATE, Action.PRUNE, Action.RECREATE):
            after = None if change.action == Action.PRUNE else change.after
            diff = unified_diff(change.before, after, str(change.key).replace(" ", "/"))
            for line in diff.splitlines():
                style = _STYLE.get(line[:1]) if not line.startswith(("+++", "---")) else "bold"
                out.line(line, style or "")
    for warning in plan.warnings:
        out.line(f"warning: {warning}", "yellow")
    out.line(plan.summary(), "bold")


def plan_json(plan: Plan) -> str:
    return json.dumps(plan.to_json(), indent=2, sort_keys=False) + "\n"

