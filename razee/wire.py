"""What agent, hub, rollout gate and CLI exchange, named once: the pass outcome and the report's limits.

A neutral module (it imports nothing of razee), so both sides of the wire can import it: the agent trims its
reports to these limits and the hub refuses what exceeds them; a new outcome is added here and nowhere else.
The string values are the wire format and never change meaning.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


class PassOutcome(StrEnum):
    """How one pass ended: the `result` of a report, and what `razee diff`/`razee apply` found."""

    APPLIED = "applied"
    """A revision's changes were applied, Kubernetes first, then infrastructure."""
    IN_SYNC = "in-sync"
    """Nothing to change: the cluster and infrastructure match the revision."""
    HEALED = "healed"
    """The revision was applied before; what drifted from it was put back (self-heal)."""
    DRIFTED = "drifted"
    """The revision was applied before and something drifted from it; reported, not corrected."""
    FAILED = "failed"
    """The pass could not finish: a request failed, or the plan could not be applied."""
    REJECTED = "rejected"
    """The newest revision failed its signature, schema, templates or policy gate; it is never applied."""
    STANDBY = "standby"
    """A replica without the leader Lease: it planned and applied nothing."""
    WAITING = "waiting"
    """The rollout gate holds this spoke at the revision it runs until its wave may take the newer one."""
    PLANNED = "planned"
    """A dry run (`razee diff`) found changes and applied nothing. Never reported to the hub."""


REPORTED = frozenset(PassOutcome) - {PassOutcome.PLANNED}
"""Outcomes a report may carry (what the hub accepts as a report's `result`)."""

OK_RESULTS = (PassOutcome.APPLIED, PassOutcome.IN_SYNC, PassOutcome.HEALED, PassOutcome.DRIFTED)
"""Outcomes that mean the spoke runs the revision: it counts as applied in a rollout (drift included: the revision
was applied, something changed since)."""

SCHEMA_VERSION = 1
"""Version of the report body (`schema`)."""

MAX_PATHS = 100
"""Field paths per reported object."""
MAX_PATH = 1000
"""Characters of one field path."""
MAX_TEXT = 1000
"""Characters of a short text field (a source entry, an unhealthy object's reason, an infrastructure failure)."""
MAX_ERROR = 4000
"""Characters of a report's error."""
MAX_FINDING = 2000
"""Characters of one finding (a rejected revision's problem)."""
MAX_FINDINGS = 200
"""Findings per report."""
MAX_TAKEOVERS = 20
"""Field takeovers per reported object."""
MAX_OBJECTS = 50_000
"""Objects per report (synced objects are only counted, not listed)."""
MAX_UNHEALTHY = 100
"""Unhealthy objects per report."""
MAX_CHECKS = 20
"""Rollout check results per report."""
MAX_CLUSTERS = 10_000
"""Customer clusters per report: a spoke's largest capacity in the fleet model (razee/fleet/model.py)."""
MAX_CLUSTER_KEYS = 20
"""Out-of-sync objects named per customer cluster (the rest are counted; the spoke's drift view lists them all)."""
MAX_POOLS = 20
"""Worker pools per customer cluster."""
MAX_ZONES = 10
"""Zones per worker pool."""
MAX_SOURCES = 2000
"""Expanded sources (charts, overlays, remote manifests) per report, spoke-wide and per cluster together."""
MAX_SOURCE_FIELD = 253
"""Characters of a source's name, chart or version (a Kubernetes name's limit); a digest fits SHA-512 in hex."""
MASTER_IN_SYNC = ("synced", "created", "updated", "recreated", "drifted-healed", "pruned", "kept")
"""Object statuses that leave a cluster's master in sync after the pass (what was changed was applied)."""
MASTER_DRIFTED = ("drifted", "missing")
"""Object statuses that count as drift on a cluster's master."""
MASTER_FAILED = ("failed",)
"""Object statuses that count as failed on a cluster's master; anything else (pending, terminating) is pending."""
CLUSTER_STATES = ("in-sync", "progressing", "drifted", "failed", "never-reported")
"""A customer cluster's state on the hub, worst last but one: failed objects, then drift, then infrastructure or
objects not yet where the revision wants them (pending changes, missing or extra workers, an older master), else in
sync; `never-reported` is a cluster the fleet repo declares that no report has mentioned yet."""


# -- the rollout-state answer (GET /api/v1/rollout/state): what an agent's rollout gate decides with --------------
class _Wire(BaseModel):
    """camelCase on the wire, snake_case in Python; fields a newer hub adds are ignored by an older agent."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True)

    def to_wire(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_none=True)


class SpokeState(_Wire):
    """One spoke as the hub knows it, for another spoke's gate (razee.rollout.gate.SpokeRollout)."""

    spoke: str
    wave: str
    revision: str
    result: str
    applied_at: float | None = None
    """When the spoke first applied its current revision, on the hub's clock."""
    unhealthy: int = 0
    degraded: int = 0
    tried: bool = False
    tried_result: str = ""
    check_failed: str = ""
    checks_waiting: str = ""


class Rollback(_Wire):
    """A halted revision (onFailure: rollback) sends this spoke back to `to`, the last one that completed there."""

    from_: str = Field(alias="from")
    to: str
    reason: str = "halted"
    by: str = ""


class RolloutState(_Wire):
    """The hub's answer about one revision: every spoke's state, the hub's clocks, pauses, approvals and safety.

    `now` is the hub's time and `clock` its calendar for maintenance windows (the agent's own clock is never used:
    DESIGN section 8); `since` is when the revision appeared. `complete`, `halted` and `rollback` tell the agent
    which revision to enforce (razee.hub.rollout_safety).
    """

    revision: str
    paused: bool = False
    paused_by: str = ""
    approved: list[str] = Field(default_factory=list)
    now: float
    clock: float | None = None
    since: float | None = None
    spokes: list[SpokeState] = Field(default_factory=list)
    complete: bool = False
    halted: str = ""
    on_failure: str = ""
    rollback: Rollback | None = None
    rollback_impossible: str = ""
