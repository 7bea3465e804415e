"""An infrastructure plan as text for people, each line with its colour; the CLI writes it."""

from __future__ import annotations

from razee.infra.changes import InfraPlan

_STYLE = {"create-cluster": "green", "create-worker": "green", "delete-cluster": "red", "delete-worker": "red"}


def infra_plan_lines(plan: InfraPlan) -> list[tuple[str, str]]:
    """One line per change, by wave, then the plan's summary."""
    out = [(f"infra wave {c.wave}: {c.describe()}", _STYLE.get(c.action.value, "yellow")) for c in plan.changes]
    out.append((plan.summary(), "bold"))
    return out
