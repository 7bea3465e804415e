"""What applying a plan did, object by object (its own module: the applier and the write order both fill it)."""

from __future__ import annotations

from dataclasses import dataclass, field

from razee.objects import ObjectKey


@dataclass
class ApplyResult:
    applied: list[ObjectKey] = field(default_factory=list)
    pruned: list[ObjectKey] = field(default_factory=list)
    failed: list[tuple[ObjectKey, str]] = field(default_factory=list)
    held: list[tuple[ObjectKey, str]] = field(default_factory=list)  # owned by another spoke that declares it
    terminating: list[tuple[ObjectKey, str]] = field(default_factory=list)  # deleted, not gone yet: why
    released: list[ObjectKey] = field(default_factory=list)  # left this spoke's inventory, not deleted
    requests: int = 0
    uncertain: set[ObjectKey] = field(default_factory=set)  # a write that failed unanswered: it may have happened

    @property
    def ok(self) -> bool:
        return not self.failed
