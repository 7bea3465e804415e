"""Infrastructure as razee sees it: desired clusters and pools from the fleet repo, actual clusters and workers."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from razee.fleet.model import Cluster


class WorkerState(StrEnum):
    PROVISIONING = "provisioning"
    DEPLOYING = "deploying"
    NORMAL = "normal"
    CRITICAL = "critical"
    UPGRADING = "upgrading"
    DELETING = "deleting"


@dataclass(frozen=True)
class DesiredPool:
    name: str
    flavor: str
    size_per_zone: int
    zones: tuple[str, ...]


@dataclass(frozen=True)
class DesiredCluster:
    name: str
    version: str
    encrypted: bool
    pools: tuple[DesiredPool, ...]

    @classmethod
    def from_fleet(cls, cluster: Cluster) -> DesiredCluster:
        pools = tuple(DesiredPool(p.name, p.flavor, p.size_per_zone, tuple(p.zones)) for p in cluster.worker_pools)
        return cls(cluster.name, cluster.kube_version or "", bool(cluster.encrypted_disks), pools)


@dataclass(frozen=True)
class Worker:
    id: str
    pool: str
    zone: str
    flavor: str
    encrypted: bool
    version: str
    state: WorkerState


@dataclass(frozen=True)
class ActualCluster:
    name: str
    owner: str  # the spoke that manages it; a spoke only ever changes its own clusters
    version: str
    state: str
    workers: tuple[Worker, ...] = field(default_factory=tuple)

    def live_workers(self) -> list[Worker]:
        return [w for w in self.workers if w.state != WorkerState.DELETING]
