"""Each customer cluster of the spoke as a report carries it: its master's objects and its worker pools.

The hub keeps the latest of these per cluster (razee/hub/clusterrows.py), so a platform team can ask where a cluster
is, which kube version and pools it runs, whether its workers are all there and whether its master is in sync.
The render knows which manifests belong to which cluster (`Provenance.cluster`); the infrastructure plan knows what
the fleet repo wants of each cluster's pools and what the provider observed. Only counts, identities and versions
cross the wire, never object contents.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from razee.wire import (
    MASTER_DRIFTED,
    MASTER_FAILED,
    MASTER_IN_SYNC,
    MAX_CLUSTER_KEYS,
    MAX_CLUSTERS,
    MAX_POOLS,
    MAX_SOURCE_FIELD,
    MAX_SOURCES,
    MAX_ZONES,
)

if TYPE_CHECKING:
    from razee.infra.changes import InfraPlan
    from razee.infra.executor import InfraResult
    from razee.objects import SourceInfo
    from razee.reconcile.plan import Pass


def _master() -> dict[str, Any]:
    return {"synced": 0, "drifted": 0, "failed": 0, "pending": 0, "outOfSync": []}


def _count(master: dict[str, Any], entry: dict[str, Any]) -> None:
    status = entry["status"]
    bucket = (
        "synced"
        if status in MASTER_IN_SYNC
        else "drifted"
        if status in MASTER_DRIFTED
        else "failed"
        if status in MASTER_FAILED
        else "pending"
    )
    master[bucket] += 1
    if bucket != "synced" and len(master["outOfSync"]) < MAX_CLUSTER_KEYS:
        master["outOfSync"].append({k: entry[k] for k in ("group", "kind", "namespace", "name", "status")})


def masters(pairs: Iterable[tuple[str | None, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Per customer cluster, its objects' statuses counted: `pairs` are (the manifest's cluster, its described
    object); objects of the spoke itself (no cluster) are not any cluster's."""
    out: dict[str, dict[str, Any]] = {}
    for cluster, entry in pairs:
        if cluster:
            _count(out.setdefault(cluster, _master()), entry)
    return out


def pools(plan: InfraPlan, result: InfraResult | None) -> dict[str, dict[str, Any]]:
    """Per customer cluster: the kube version wanted and observed, each pool's desired, observed and ready workers,
    and the infrastructure changes still to do (planned, minus what this pass carried out)."""
    actual = {a.name: a for a in plan.actual if a.owner == plan.owner}
    done: dict[str, int] = {}
    for change, _ in result.done if result is not None else ():
        done[change.cluster] = done.get(change.cluster, 0) + 1
    planned: dict[str, int] = {}
    for change in plan.changes:
        planned[change.cluster] = planned.get(change.cluster, 0) + 1
    out: dict[str, dict[str, Any]] = {}
    for d in plan.desired:
        a = actual.get(d.name)
        live = a.live_workers() if a is not None else []
        entries = [
            {
                "name": p.name[:MAX_SOURCE_FIELD],
                "flavor": p.flavor[:64],
                "zones": [z[:64] for z in p.zones[:MAX_ZONES]],
                "desired": p.size_per_zone * len(p.zones),
                "observed": sum(1 for w in live if w.pool == p.name),
                "ready": sum(1 for w in live if w.pool == p.name and w.state == "normal"),
            }
            for p in d.pools
        ]
        wanted = {p.name for p in d.pools}
        for extra in sorted({w.pool for w in live} - wanted):  # a pool the repo dropped, its workers not yet gone
            workers = [w for w in live if w.pool == extra]
            entries.append(
                {
                    "name": extra[:MAX_SOURCE_FIELD],
                    "flavor": workers[0].flavor[:64],
                    "zones": sorted({w.zone[:64] for w in workers})[:MAX_ZONES],
                    "desired": 0,
                    "observed": len(workers),
                    "ready": sum(1 for w in workers if w.state == "normal"),
                }
            )
        out[d.name] = {
            "version": d.version[:32],
            "observedVersion": (a.version if a is not None else "")[:32],
            "pools": entries[:MAX_POOLS],
            "infrastructure": True,
            "pending": max(planned.get(d.name, 0) - done.get(d.name, 0), 0),
        }
    return out


def describe_clusters(
    run: Pass, objects: Sequence[dict[str, Any]], infra: InfraResult | None
) -> list[dict[str, Any]] | None:
    """The spoke's customer clusters, by name; None when the pass planned neither Kubernetes nor infrastructure
    (the hub then keeps what it knew). `objects` is describe_objects' answer, one entry per planned change."""
    if run.kube is None and run.infra is None:
        return None
    clusters: dict[str, dict[str, Any]] = {}
    if run.kube is not None:
        changes = run.kube.plan.changes
        pairs = ((c.source.cluster if c.source else None, o) for c, o in zip(changes, objects, strict=True))
        clusters = {name: {"name": name, "master": master} for name, master in masters(pairs).items()}
    if run.infra is not None:
        for name, infra_view in pools(run.infra.plan, infra).items():
            clusters.setdefault(name, {"name": name, "master": _master()}).update(infra_view)
    return [clusters[name] for name in sorted(clusters)][:MAX_CLUSTERS]


def describe_sources(sources: Sequence[SourceInfo]) -> list[dict[str, Any]]:
    """The expanded sources, each once per cluster (a chart a template declares for every cluster is one per
    cluster), bounded to the wire's limits."""
    out: dict[tuple[str, str, str], dict[str, Any]] = {}
    for s in sources:
        entry = {
            k: (v[:MAX_SOURCE_FIELD] if isinstance(v, str) and k != "digest" else v) for k, v in s.to_json().items()
        }
        if isinstance(entry.get("digest"), str):
            entry["digest"] = entry["digest"][:200]
        out.setdefault((s.cluster or "", s.kind, s.name), entry)
    return list(out.values())[:MAX_SOURCES]
