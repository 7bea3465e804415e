"""Showing an infrastructure plan to people."""

from __future__ import annotations

from razee.infra.changes import InfraPlan
from razee.output import Lines


def print_infra_plan(plan: InfraPlan, out: Lines) -> None:
    for change in plan.changes:
        style = {"create-cluster": "green", "create-worker": "green", "delete-cluster": "red",
                 "delete-worker": "red"}.get(change.action.value, "yellow")
        out.line(f"infra wave {change.wave}: {change.describe()}", style)
    out.line(plan.summary(), "bold")
