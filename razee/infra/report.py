"""Showing an infrastructure plan to people."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

from razee.infra.changes import InfraPlan


def print_infra_plan(plan: InfraPlan, console: Console) -> None:
    from rich.text import Text

    for change in plan.changes:
        style = {"create-cluster": "green", "create-worker": "green", "delete-cluster": "red",
                 "delete-worker": "red"}.get(change.action.value, "yellow")
        console.print(Text(f"infra wave {change.wave}: {change.describe()}", style=style))
    console.print(Text(plan.summary(), style="bold"))
