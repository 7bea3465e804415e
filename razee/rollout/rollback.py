"""Where a spoke goes back to when its revision halts under `onFailure: rollback`: a pure choice.

The target is the newest revision the spoke itself applied that completed its rollout (every wave passed), never
the halted one. A spoke that never had such a revision has nothing to return to and stays where it is (halt).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence


def rollback_target(had: Sequence[str], completed: Collection[str], halted: str) -> str | None:
    """`had`: the revisions the spoke applied, newest first. `completed`: revisions whose rollout completed."""
    return next((r for r in had if r != halted and r in completed), None)
