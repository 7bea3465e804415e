"""The settings of one pass's plan and what its apply needs beyond the plan (shared by planner and applier)."""

from __future__ import annotations

from dataclasses import dataclass, field

from razee.kube.hookplan import HookPlan
from razee.kube.inventory import Inventory
from razee.kube.live import LiveState
from razee.kube.ssa import ConflictPolicy
from razee.objects import ObjectKey


@dataclass(frozen=True)
class PlanOptions:
    target: str
    prune: bool = True
    allow_mass_prune: bool = False
    mass_prune_share: float = 0.5
    """Refuse a prune that deletes more than this share of the inventory (and at least 5 objects, or everything)."""
    concurrency: int = 8
    conflicts: ConflictPolicy = "refuse"
    """`takeover`: fields another apply manager owns are taken over and reported; `refuse`: the object conflicts."""
    prune_timeout: float = 60.0
    """Seconds a prune or a re-create waits for a deleted object to be gone."""
    hook_timeout: float = 300.0
    """Seconds a hook may take to complete, and a source to become healthy before the sources that depend on it
    apply or its post hooks run (Helm's default --timeout is 5 minutes)."""


@dataclass
class PlanState:
    """What apply needs beyond the plan itself."""

    live: LiveState
    inventory: Inventory
    desired_versions: dict[ObjectKey, str]
    templates: dict[ObjectKey, str] = field(default_factory=dict)
    released: set[ObjectKey] = field(default_factory=set)  # leave our inventory, never deleted
    hooks: HookPlan = field(default_factory=HookPlan)
