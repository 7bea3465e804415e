"""The customer clusters the fleet repo declares, joined into the clusters table (DESIGN section 8, fleet truth).

A cluster the repo declares and no report has mentioned is shown as `never-reported`, never absent; one that
reports and is no longer declared keeps its reported state, marked undeclared. The hub's repo follower
(razee/hub/follow.py) calls `declare` with the newest revision's clusters; only rows whose declaration changed are
written, so a commit that touches one region rewrites that region's rows, not 15,000.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, bindparam, delete, select, update
from sqlalchemy.orm import Session

from razee.fleet.fleet import Fleet
from razee.hub.schema import ClusterState

_CLUSTERS: Table = ClusterState.__table__  # type: ignore[assignment]


def declared_clusters(fleet: Fleet) -> list[dict[str, Any]]:
    """Each declared cluster: its spoke, region, kube version and pools (what its page compares with)."""
    out = []
    for view in fleet.spokes():
        for c in view.clusters:
            pools = [
                {"name": p.name, "flavor": p.flavor, "zones": list(p.zones), "desired": p.size_per_zone * len(p.zones)}
                for p in c.worker_pools
            ]
            out.append(
                {
                    "name": c.name,
                    "spoke": view.spoke.name,
                    "region": view.region.name,
                    "desired": {"version": c.kube_version or "", "pools": pools},
                }
            )
    return out


def _new_row(d: dict[str, Any], desired: str) -> dict[str, Any]:
    return {
        "name": d["name"],
        "spoke": d["spoke"],
        "region": d["region"],
        "declared": True,
        "declared_spoke": d["spoke"],
        "desired": desired,
        "state": "never-reported",
        "version": d["desired"]["version"],
        "workers_desired": sum(p["desired"] for p in d["desired"]["pools"]),
    }


def declare(s: Session, clusters: Sequence[dict[str, Any]]) -> int:
    """Make the declared side of the clusters table match `clusters`; returns how many rows were written."""
    have = {
        r.name: r
        for r in s.execute(
            select(
                _CLUSTERS.c.name,
                _CLUSTERS.c.declared,
                _CLUSTERS.c.declared_spoke,
                _CLUSTERS.c.desired,
                _CLUSTERS.c.digest,
            )
        )
    }
    new, changed = [], []
    for d in clusters:
        desired = json.dumps(d["desired"], sort_keys=True)
        row = have.get(d["name"])
        if row is None:
            new.append(_new_row(d, desired))
        elif not row.declared or row.declared_spoke != d["spoke"] or row.desired != desired:
            changed.append(
                {
                    "k": d["name"],
                    "v_spoke": d["spoke"],
                    "v_desired": desired,
                    "v_unreported": not row.digest,
                    **_new_row(d, desired),
                }
            )
    if new:
        s.execute(_CLUSTERS.insert(), new)
    for entry in changed:  # a never-reported cluster also takes its declared place and version
        values: dict[str, Any] = {"declared": True, "declared_spoke": entry["v_spoke"], "desired": entry["v_desired"]}
        if entry["v_unreported"]:
            values.update(
                spoke=entry["spoke"],
                region=entry["region"],
                version=entry["version"],
                workers_desired=entry["workers_desired"],
            )
        s.execute(update(_CLUSTERS).where(_CLUSTERS.c.name == entry["k"]).values(**values))
    names = {d["name"] for d in clusters}
    dropped = [r for n, r in have.items() if n not in names and r.declared]
    unreported = [r.name for r in dropped if not r.digest]
    for chunk in range(0, len(unreported), 500):
        s.execute(delete(_CLUSTERS).where(_CLUSTERS.c.name.in_(unreported[chunk : chunk + 500])))
    still = [{"k": r.name} for r in dropped if r.digest]
    if still:
        s.execute(
            update(_CLUSTERS).where(_CLUSTERS.c.name == bindparam("k")).values(declared=False, declared_spoke=""), still
        )
    return len(new) + len(changed) + len(dropped)
