"""Infrastructure changes: what a provider is asked to do, in waves that run one after another."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from razee.infra.model import ActualCluster, DesiredCluster


class InfraAction(StrEnum):
    CREATE_CLUSTER = "create-cluster"
    DELETE_CLUSTER = "delete-cluster"
    UPGRADE_MASTER = "upgrade-master"
    CREATE_WORKER = "create-worker"
    DELETE_WORKER = "delete-worker"
    UPGRADE_WORKER = "upgrade-worker"


@dataclass(frozen=True)
class InfraChange:
    action: InfraAction
    cluster: str
    reason: str
    wave: int = 0  # changes of a later wave start when the earlier waves' workers are back to normal
    worker: str | None = None
    pool: str | None = None
    zone: str | None = None
    flavor: str | None = None
    encrypted: bool | None = None
    version: str | None = None
    token: str = ""  # idempotency key: a retried request never orders twice

    def describe(self) -> str:
        what = {
            InfraAction.CREATE_CLUSTER: f"create cluster {self.cluster} (version {self.version})",
            InfraAction.DELETE_CLUSTER: f"delete cluster {self.cluster}",
            InfraAction.UPGRADE_MASTER: f"upgrade master of {self.cluster} to {self.version}",
            InfraAction.CREATE_WORKER: f"create worker in {self.cluster}/{self.pool} zone {self.zone} "
            f"({self.flavor}{', encrypted' if self.encrypted else ''})",
            InfraAction.DELETE_WORKER: f"delete worker {self.worker} of {self.cluster}/{self.pool} zone {self.zone}",
            InfraAction.UPGRADE_WORKER: f"upgrade worker {self.worker} of {self.cluster} to {self.version}",
        }[self.action]
        return f"{what}: {self.reason}"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "action": self.action.value,
            "cluster": self.cluster,
            "reason": self.reason,
            "wave": self.wave,
        }
        for key in ("worker", "pool", "zone", "flavor", "encrypted", "version"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out


@dataclass
class InfraPlan:
    owner: str
    provider: str
    changes: list[InfraChange] = field(default_factory=list)
    refused: str | None = None  # a mass deletion that was not allowed
    desired: tuple[DesiredCluster, ...] = ()
    """What the plan was made from: the clusters and pools the fleet repo wants (what reports compare with)."""
    actual: tuple[ActualCluster, ...] = ()
    """... and what the provider observed when the plan was made."""

    @property
    def has_changes(self) -> bool:
        return bool(self.changes)

    def summary(self) -> str:
        counts: dict[str, int] = {}
        for c in self.changes:
            counts[c.action.value] = counts.get(c.action.value, 0) + 1
        body = ", ".join(f"{n} {a}" for a, n in sorted(counts.items())) or "no changes"
        text = f"infrastructure ({self.provider}): {body}"
        return text + (f"\ninfrastructure deletion refused: {self.refused}" if self.refused else "")

    def to_json(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "owner": self.owner,
            "refused": self.refused,
            "changes": [c.to_json() for c in self.changes],
        }
