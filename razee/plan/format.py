"""A plan as text for people (unified diffs, each line with its colour) and for machines (JSON).

Nothing here prints: the CLI writes the lines (razee.output.Lines colours them on a terminal).
"""

from __future__ import annotations

import json

from razee.plan.model import Action, Plan
from razee.plan.view import unified_diff

_STYLE = {"+": "green", "-": "red", "@": "cyan"}

StyledLine = tuple[str, str]
"""A line of text and its rich style ("" for none)."""


def plan_lines(plan: Plan) -> list[StyledLine]:
    """The plan as a coloured unified diff per changed object, its warnings and its summary line."""
    out: list[StyledLine] = []
    for change in plan.changes:
        if change.action == Action.UNCHANGED:
            continue
        header = f"{change.action.value} {change.key}: {change.reason}"
        if change.source and f"[{change.source}]" not in change.reason:  # some reasons name it already
            header += f"  [{change.source}]"
        out.append((header, "bold"))
        for conflict in change.conflicts:
            out.append((f"  conflict: {conflict}", "yellow"))
        for taken in change.takeovers:
            out.append((f"  takes over {taken['path']} from {taken['manager']}", "yellow"))
        if change.action in (Action.CREATE, Action.UPDATE, Action.PRUNE, Action.RECREATE):
            after = None if change.action == Action.PRUNE else change.after
            diff = unified_diff(change.before, after, str(change.key).replace(" ", "/"))
            for line in diff.splitlines():
                style = _STYLE.get(line[:1]) if not line.startswith(("+++", "---")) else "bold"
                out.append((line, style or ""))
    for warning in plan.warnings:
        out.append((f"warning: {warning}", "yellow"))
    out.append((plan.summary(), "bold"))
    return out


def plan_json(plan: Plan) -> str:
    return json.dumps(plan.to_json(), indent=2, sort_keys=False) + "\n"
