"""Planning infrastructure: a pure function from desired and actual clusters to ordered changes.

Workers are spread evenly: each pool has `sizePerZone` workers in each of its zones. Workers with a wrong flavor,
wrong disk encryption or a critical state are replaced rolling, at most `max_replace` at a time: a batch of new
workers is created in one wave and the old ones deleted in the next, with the next batch. Master upgrades come
first; existing workers then upgrade one at a time, each in its own wave.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from razee.infra.changes import InfraAction, InfraChange, InfraPlan
from razee.infra.model import ActualCluster, DesiredCluster, DesiredPool, Worker, WorkerState


@dataclass(frozen=True)
class InfraOptions:
    max_replace: int = 2
    """Workers replaced at the same time in one cluster (rolling replacement)."""
    allow_mass_delete: bool = False
    mass_delete_share: float = 0.5
    """Refuse deleting more than this share of a spoke's clusters (at least 2), or all of them."""


def version_key(version: str) -> tuple[int, ...]:
    try:
        return tuple(int(p) for p in version.split("."))
    except ValueError:
        return ()


def _delete_order(w: Worker) -> tuple[int, str]:
    # unhealthy workers go first, then the newest
    return (0 if w.state != WorkerState.NORMAL else 1, "".join(chr(0x10FFFF - ord(c)) for c in w.id))


class _ClusterPlanner:
    def __init__(
        self, desired: DesiredCluster, actual: ActualCluster | None, options: InfraOptions, prefix: str
    ) -> None:
        self.d, self.a, self.opt, self.prefix = desired, actual, options, prefix
        self.out: list[InfraChange] = []
        self.serial = 0

    def token(self) -> str:
        self.serial += 1
        return f"{self.prefix}:{self.d.name}:{self.serial}"

    def create(self, pool: DesiredPool, zone: str, wave: int, reason: str) -> None:
        self.out.append(
            InfraChange(
                InfraAction.CREATE_WORKER,
                self.d.name,
                reason,
                wave,
                pool=pool.name,
                zone=zone,
                flavor=pool.flavor,
                encrypted=self.d.encrypted,
                version=self.d.version,
                token=self.token(),
            )
        )

    def delete(self, w: Worker, wave: int, reason: str) -> None:
        self.out.append(
            InfraChange(
                InfraAction.DELETE_WORKER,
                self.d.name,
                reason,
                wave,
                worker=w.id,
                pool=w.pool,
                zone=w.zone,
                token=self.token(),
            )
        )

    def plan(self) -> list[InfraChange]:
        if self.a is None:
            return self._new_cluster()
        if version_key(self.d.version) > version_key(self.a.version):
            self.out.append(
                InfraChange(
                    InfraAction.UPGRADE_MASTER,
                    self.d.name,
                    f"master runs {self.a.version}",
                    version=self.d.version,
                    token=self.token(),
                )
            )
        live = self.a.live_workers()
        pools = {p.name: p for p in self.d.pools}
        replace: list[tuple[DesiredPool, str, Worker]] = []
        keep: list[Worker] = []
        for w in live:
            owner_pool = pools.get(w.pool)
            if owner_pool is None or w.zone not in owner_pool.zones:
                self.delete(w, 0, "its pool or zone left the fleet repo")
        for pool in self.d.pools:
            for zone in pool.zones:
                self._zone(pool, zone, [w for w in live if w.pool == pool.name and w.zone == zone], keep, replace)
        self._upgrades(keep, self._replacements(replace))
        return self.out

    def _new_cluster(self) -> list[InfraChange]:
        """A cluster the infrastructure lacks: create it, then every worker of every pool, all in the first wave."""
        self.out.append(
            InfraChange(
                InfraAction.CREATE_CLUSTER,
                self.d.name,
                "not in the infrastructure",
                version=self.d.version,
                token=self.token(),
            )
        )
        for pool in self.d.pools:
            for zone in pool.zones:
                for _ in range(pool.size_per_zone):
                    self.create(pool, zone, 0, "new cluster")
        return self.out

    def _zone(
        self,
        pool: DesiredPool,
        zone: str,
        here: list[Worker],
        keep: list[Worker],
        replace: list[tuple[DesiredPool, str, Worker]],
    ) -> None:
        """One pool in one zone: delete surplus good workers, fill empty room, and queue workers of the wrong
        flavor, encryption or health for replacement (`replace`) while there is room, else delete them once the
        pool has enough ready workers. The good workers that stay go to `keep` (for version upgrades)."""
        good = [
            w
            for w in here
            if w.flavor == pool.flavor and w.encrypted == self.d.encrypted and w.state != WorkerState.CRITICAL
        ]
        stale = sorted((w for w in here if w not in good), key=_delete_order)
        good.sort(key=_delete_order)
        surplus = max(0, len(good) - pool.size_per_zone)
        for w in good[:surplus]:
            self.delete(w, 0, f"pool {pool.name} has {len(good)} in {zone}, wants {pool.size_per_zone}")
        keep.extend(good[surplus:])
        room = max(0, pool.size_per_zone - len(good))
        ready = sum(1 for w in good[surplus:] if w.state == WorkerState.NORMAL)
        for w in stale:
            if room > 0:
                replace.append((pool, zone, w))
                room -= 1
            elif ready >= pool.size_per_zone:
                self.delete(w, 0, f"replaced: pool {pool.name} has {ready} ready workers in {zone}")
            # else: its replacement is still provisioning; delete it once that one is ready
        for _ in range(room):
            self.create(pool, zone, 0, f"pool {pool.name} wants {pool.size_per_zone} in {zone}")

    def _replacements(self, replace: list[tuple[DesiredPool, str, Worker]]) -> int:
        """Replace workers at most `max_replace` at a time: each wave creates, the next deletes what it replaced.
        Returns the first wave free for upgrades."""
        step = max(1, self.opt.max_replace)
        for i in range(0, len(replace), step):
            wave = i // step
            for pool, zone, w in replace[i : i + step]:
                why = self._why_replace(w, pool)
                self.create(pool, zone, wave, f"replaces {w.id} ({why})")
                self.delete(w, wave + 1, f"replaced ({why})")
        return (len(replace) + step - 1) // step + 1 if replace else 1

    def _upgrades(self, keep: list[Worker], next_wave: int) -> None:
        """Upgrade the kept workers behind the master, one per wave, after the replacements."""
        for w in sorted(keep, key=lambda w: w.id):
            if version_key(w.version) < version_key(self.d.version):
                self.out.append(
                    InfraChange(
                        InfraAction.UPGRADE_WORKER,
                        self.d.name,
                        f"runs {w.version}",
                        next_wave,
                        worker=w.id,
                        pool=w.pool,
                        zone=w.zone,
                        version=self.d.version,
                        token=self.token(),
                    )
                )
                next_wave += 1

    def _why_replace(self, w: Worker, pool: DesiredPool) -> str:
        if w.state == WorkerState.CRITICAL:
            return "worker is critical"
        if w.flavor != pool.flavor:
            return f"flavor {w.flavor} -> {pool.flavor}"
        return f"disk encryption {'on' if self.d.encrypted else 'off'}"


def plan_infra(
    owner: str,
    provider: str,
    desired: Sequence[DesiredCluster],
    actual: Sequence[ActualCluster],
    options: InfraOptions | None = None,
    token_prefix: str | None = None,
) -> InfraPlan:
    options = options or InfraOptions()
    prefix = token_prefix or secrets.token_hex(6)
    plan = InfraPlan(owner, provider, desired=tuple(desired), actual=tuple(actual))
    by_name = {a.name: a for a in actual}
    for d in sorted(desired, key=lambda c: c.name):
        a = by_name.get(d.name)
        if a is not None and a.owner != owner:
            continue  # another spoke manages it (the cluster is moving); that spoke lets go first
        plan.changes.extend(_ClusterPlanner(d, a, options, prefix).plan())
    wanted = {d.name for d in desired}
    owned = [a for a in actual if a.owner == owner]
    gone = sorted((a for a in owned if a.name not in wanted), key=lambda a: a.name)
    if gone and not options.allow_mass_delete:
        everything = len(gone) == len(owned)
        if (everything and len(owned) > 0 and not wanted) or (
            len(gone) >= 2 and len(gone) / len(owned) > options.mass_delete_share
        ):
            plan.refused = (
                f"would delete {len(gone)} of {len(owned)} clusters of {owner}; "
                "pass --allow-mass-prune if that is intended"
            )
            return plan
    for a in gone:
        plan.changes.append(
            InfraChange(
                InfraAction.DELETE_CLUSTER, a.name, "no longer in the fleet repo", token=f"{prefix}:{a.name}:delete"
            )
        )
    return plan
